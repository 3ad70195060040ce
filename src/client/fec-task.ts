/**
 * The task a FEC pool worker runs (src/client/fec-pool.ts): one segment encoded or rebuilt
 * with the codec of src/client/fec.ts. Blocks travel packed in one transferred buffer each
 * way, not copied. A codec error (bad sizes, too few blocks) comes back as a value, so the
 * pool can tell it from a worker that died.
 */
import { move } from 'piscina'
import { fecEncodePacked, fecReconstruct } from './fec.js'

export interface EncodeTask {
  op: 'encode'
  /** k data blocks of `size` bytes, packed. */
  data: ArrayBuffer
  k: number
  m: number
  size: number
}

export interface RebuildTask {
  op: 'rebuild'
  /** k + m slots of `size` bytes, packed; a missing block's slot is ignored. */
  data: ArrayBuffer
  present: boolean[]
  k: number
  m: number
  size: number
}

export type FecTask = EncodeTask | RebuildTask

/** The m check blocks (encode) or the k data blocks (rebuild), packed; or the codec's error. */
export type FecReply = ArrayBuffer | { error: string }

export default function run (task: FecTask): FecReply {
  try {
    const bytes = new Uint8Array(task.data)
    if (task.op === 'encode') {
      // The check blocks go back in the buffer the data came in (when they fit): a job
      // allocates nothing here but what the codec keeps (src/client/fec.ts).
      const out = task.m <= task.k ? bytes : new Uint8Array(task.m * task.size)
      fecEncodePacked(bytes, task.k, task.m, task.size, out)
      return move(out.buffer) as ArrayBuffer
    }
    const block = (i: number): Uint8Array => bytes.subarray(i * task.size, (i + 1) * task.size)
    const blocks = fecReconstruct(task.present.map((p, i) => p ? block(i) : undefined), task.k, task.m)
    // The codec's output views one (k + m)-block buffer: hand back only the wanted half.
    const out = new Uint8Array(blocks.length * task.size)
    blocks.forEach((b, i) => { out.set(b, i * task.size) })
    // Moved, not copied: the pool hands the worker's buffer to the caller as it is.
    return move(out.buffer) as ArrayBuffer
  } catch (err) {
    return { error: (err as Error).message }
  }
}

/**
 * FEC encoding on a worker thread, so computing a segment's check blocks (the CPU cost of an
 * insert, ~300 ms per 128 + 128 segment) overlaps the network work of the main thread.
 * One shared worker, started on first use and unref'd (it never keeps a process alive);
 * if it cannot start or dies, encoding falls back to the calling thread.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { fecEncode } from './fec.js'

interface Job { id: number, data: ArrayBuffer, k: number, m: number, size: number }
type Reply = { id: number, parity: ArrayBuffer } | { id: number, error: string }

const MARKER = 'warren-fec-worker'

if (!isMainThread && parentPort !== null && (workerData as { role?: string } | null)?.role === MARKER) {
  const port = parentPort
  port.on('message', (job: Job) => {
    try {
      const bytes = new Uint8Array(job.data)
      const blocks = Array.from({ length: job.k }, (_, i) => bytes.subarray(i * job.size, (i + 1) * job.size))
      const checks = fecEncode(blocks, job.m)
      const parity = new Uint8Array(job.m * job.size)
      checks.forEach((c, j) => parity.set(c, j * job.size))
      port.postMessage({ id: job.id, parity: parity.buffer } satisfies Reply, [parity.buffer])
    } catch (err) {
      port.postMessage({ id: job.id, error: (err as Error).message } satisfies Reply)
    }
  })
}

let worker: Worker | undefined
let broken = false
let nextId = 0
const waiting = new Map<number, { resolve: (p: Uint8Array[]) => void, reject: (e: Error) => void, m: number, size: number }>()

function getWorker (): Worker | undefined {
  if (broken) return undefined
  if (worker !== undefined) return worker
  try {
    const w = new Worker(new URL(import.meta.url), { workerData: { role: MARKER } })
    w.unref()
    w.on('message', (r: Reply) => {
      const job = waiting.get(r.id)
      if (job === undefined) return
      waiting.delete(r.id)
      if ('error' in r) job.reject(new Error(r.error))
      else {
        const bytes = new Uint8Array(r.parity)
        job.resolve(Array.from({ length: job.m }, (_, j) => bytes.subarray(j * job.size, (j + 1) * job.size)))
      }
      if (waiting.size === 0) w.unref()
    })
    const fail = (err: Error): void => {
      broken = true
      worker = undefined
      for (const job of waiting.values()) job.reject(err)
      waiting.clear()
    }
    w.on('error', fail)
    w.on('exit', (code) => { if (waiting.size > 0) fail(new Error(`FEC worker exited with code ${code}`)) })
    worker = w
    return w
  } catch {
    broken = true
    return undefined
  }
}

/** The m check blocks of k equal-sized data blocks, computed off the calling thread. */
export async function fecEncodeAsync (data: Uint8Array[], m: number): Promise<Uint8Array[]> {
  const size = data[0]?.length ?? 0
  const w = getWorker()
  if (w === undefined || data.some((d) => d.length !== size)) return fecEncode(data, m)
  const packed = new Uint8Array(data.length * size)
  data.forEach((d, i) => packed.set(d, i * size))
  const id = nextId++
  try {
    return await new Promise<Uint8Array[]>((resolve, reject) => {
      waiting.set(id, { resolve, reject, m, size })
      w.ref()
      w.postMessage({ id, data: packed.buffer, k: data.length, m, size } satisfies Job, [packed.buffer])
    })
  } catch (err) {
    if (broken) return fecEncode(data, m)
    throw err
  }
}

/**
 * FEC on all cores: segments are encoded and rebuilt on a pool of worker threads (piscina),
 * one per core the machine offers (`availableParallelism`), so a put encodes several segments
 * at once and a fetch decodes off the main thread. Each job is one whole segment (128 + 128
 * blocks of 32 KiB: ~300 ms of work at 10-14 MB/s per thread, docs/fec.md), packed into one
 * buffer that is moved to the worker and back, not copied.
 *
 * Idle workers exit after `idleTimeoutMs` (their heap and the codec's WebAssembly memory go
 * with them) and never keep the process alive. A job whose worker dies (crash, out of memory,
 * terminated) runs again on the calling thread, so a put or get never fails for it; the
 * pool replaces the worker. A worker that dies before it has taken a job (while starting)
 * makes piscina stop starting workers until the next job is submitted, which could leave the
 * queued jobs waiting for ever: when a worker leaves none behind and jobs are queued, those
 * jobs run on the calling thread. Aborting a job's signal drops it from the queue, or stops
 * the worker running it, and rejects with the signal's reason.
 */
import { availableParallelism } from 'node:os'
import { Piscina } from 'piscina'
import { FEC_POOL_IDLE_MS } from '../constants.js'
import { fecEncode, fecReconstruct } from './fec.js'
import type { FecReply, FecTask } from './fec-task.js'

export interface FecPoolOptions {
  /** Worker threads (default: availableParallelism()). */
  threads?: number
  /** An idle worker exits after this long (default FEC_POOL_IDLE_MS). */
  idleTimeoutMs?: number
}

export interface FecJobOptions {
  signal?: AbortSignal
}

export interface FecPoolStats {
  threads: number
  /** Jobs done by a worker. */
  done: number
  /** Jobs redone on the calling thread because their worker failed. */
  fallbacks: number
}

/**
 * Worker V8 limits: the blocks live in ArrayBuffers and WebAssembly memory, not on the heap, so
 * a worker's heap stays small and a low cap makes V8 collect it early. Old space 64 -> 16 MiB:
 * peak RSS of a 64 MiB transfer (bench/transfer-memory.ts, one run each, load 5-12) put node
 * 223 -> 214 MiB, get node 206 -> 170 MiB. A job that still ran out would be redone on the
 * calling thread (see above).
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 16 }

export class FecPool {
  readonly threads: number
  private readonly pool: Piscina<FecTask, FecReply>
  private done = 0
  private fallbacks = 0
  /** Each job's own abort, to take queued jobs back when no worker is left to run them. */
  private readonly jobs = new Set<AbortController>()

  constructor (options: FecPoolOptions = {}) {
    this.threads = Math.max(1, options.threads ?? availableParallelism())
    this.pool = new Piscina<FecTask, FecReply>({
      filename: new URL('./fec-task.js', import.meta.url).href,
      minThreads: 0,
      maxThreads: this.threads,
      idleTimeout: options.idleTimeoutMs ?? FEC_POOL_IDLE_MS,
      // Queue as many segments as callers send: callers bound what they have in flight.
      maxQueue: Infinity,
      resourceLimits: WORKER_LIMITS
    })
    // A worker's failure reaches each job it had (they run again here); with no job, piscina
    // emits it as an event, which must not go unheard.
    this.pool.on('error', () => {})
    this.pool.on('workerDestroy', () => {
      queueMicrotask(() => {
        if (this.pool.threads.length > 0 || this.pool.queueSize === 0) return
        for (const job of this.jobs) job.abort(new Error('no FEC worker left to run the job'))
      })
    })
  }

  /**
   * The m check blocks of k equal-sized data blocks, each in a buffer of its own. The codec and
   * the worker answer with all of them in one buffer (the data's, 4 MiB for 128 + 128 blocks of
   * 32 KiB); callers hold check blocks one by one, and an insert that waits (a peer's
   * OVERLOADED backoff, up to 16 s) would keep the whole reply alive for one block (a 1 GiB put
   * node peaked at 223 MiB with 41 MiB of ArrayBuffers live, against 8-15 in other runs:
   * docs/benchmarks.md, sixth stop).
   */
  async encode (data: Uint8Array[], m: number, options: FecJobOptions = {}): Promise<Array<Uint8Array<ArrayBuffer>>> {
    const apart = (checks: Uint8Array[]): Array<Uint8Array<ArrayBuffer>> => checks.map((c) => c.slice())
    const size = data[0]?.length ?? 0
    // Sizes are checked here: a packed buffer cannot carry unequal blocks.
    if (data.length === 0 || data.some((d) => d.length !== size)) return apart(fecEncode(data, m))
    const packed = new Uint8Array(data.length * size)
    data.forEach((d, i) => { packed.set(d, i * size) })
    return apart(await this.run({ op: 'encode', data: packed.buffer, k: data.length, m, size }, options, () => fecEncode(data, m)))
  }

  /**
   * The k data blocks of a segment, rebuilt from any k of its k + m blocks (`undefined` where
   * missing; data blocks first). Returns the data blocks as given when none is missing.
   */
  async reconstruct (blocks: Array<Uint8Array | undefined>, k: number, m: number, options: FecJobOptions = {}): Promise<Uint8Array[]> {
    const present = Array.from(blocks, (b) => b !== undefined)
    const size = blocks.find((b) => b !== undefined)?.length ?? 0
    const inline = (): Uint8Array[] => fecReconstruct(blocks, k, m)
    if (blocks.length !== k + m || size === 0 || present.slice(0, k).every(Boolean) || blocks.some((b) => b !== undefined && b.length !== size)) return inline()
    const packed = new Uint8Array((k + m) * size)
    blocks.forEach((b, i) => { if (b !== undefined) packed.set(b, i * size) })
    return await this.run({ op: 'rebuild', data: packed.buffer, present, k, m, size }, options, inline)
  }

  stats (): FecPoolStats {
    return { threads: this.threads, done: this.done, fallbacks: this.fallbacks }
  }

  /** Worker threads running now (0 once idle ones have exited). */
  get running (): number {
    return this.pool.threads.length
  }

  /** Stop every worker; jobs in flight reject. */
  async close (): Promise<void> {
    await this.pool.close({ force: true })
  }

  private async run (task: FecTask, options: FecJobOptions, inline: () => Uint8Array[]): Promise<Uint8Array[]> {
    const { signal } = options
    signal?.throwIfAborted()
    const count = task.op === 'encode' ? task.m : task.k
    const own = new AbortController()
    this.jobs.add(own)
    let reply: FecReply
    try {
      reply = await this.pool.run(task, { transferList: [task.data], signal: signal === undefined ? own.signal : AbortSignal.any([signal, own.signal]) })
    } catch {
      if (signal?.aborted === true) throw signal.reason
      // The worker died under the job, or none is left to take it: do it here instead.
      this.fallbacks++
      return inline()
    } finally {
      this.jobs.delete(own)
    }
    if (!(reply instanceof ArrayBuffer)) throw new Error(reply.error)
    this.done++
    const out = new Uint8Array(reply)
    return Array.from({ length: count }, (_, i) => out.subarray(i * task.size, (i + 1) * task.size))
  }
}

let shared: FecPool | undefined

/** The process's FEC pool, started on first use. */
export function fecPool (): FecPool {
  shared ??= new FecPool()
  return shared
}

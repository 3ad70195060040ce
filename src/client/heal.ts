/**
 * Healing, as in Freenet: a block that a fetch could not get but rebuilt from the rest of its
 * FEC segment is inserted again, so the next reader finds it and the file does not die block
 * by block as stores forget it. Inserts run in the background with bounded concurrency and a
 * bounded queue (a reader never waits for them); a key queued or in flight is not queued twice.
 */
import { HEAL_CONCURRENCY, HEAL_QUEUE_BLOCKS } from '../constants.js'
import type { RoutingKey } from '../keys/routing-key.js'

export type HealInsert = (key: RoutingKey, block: Uint8Array<ArrayBuffer>) => Promise<unknown>

export interface HealerStats {
  /** Blocks waiting or being inserted now. */
  pending: number
  /** Blocks inserted again (a collision counts: the network has the block again). */
  healed: number
  /** Healing inserts that failed. */
  failed: number
  /** Blocks not queued because the queue was full. */
  dropped: number
}

export interface HealerOptions {
  concurrency?: number
  maxQueued?: number
  /** Told of every failed healing insert (key undefined: a segment's blocks could not be recomputed). */
  onError?: (key: RoutingKey | undefined, err: Error) => void
}

export class Healer {
  private readonly queue: Array<[RoutingKey, Uint8Array<ArrayBuffer>]> = []
  private readonly keys = new Set<string>()
  private running = 0
  private readonly counts = { healed: 0, failed: 0, dropped: 0 }
  private readonly concurrency: number
  private readonly maxQueued: number
  private idle: Array<() => void> = []

  constructor (private readonly insert: HealInsert, private readonly options: HealerOptions = {}) {
    this.concurrency = options.concurrency ?? HEAL_CONCURRENCY
    this.maxQueued = options.maxQueued ?? HEAL_QUEUE_BLOCKS
  }

  /** Queue `block` (already checked against `key`) for insertion. */
  readonly add = (key: RoutingKey, block: Uint8Array<ArrayBuffer>): void => {
    if (this.keys.has(key.hex)) return
    if (this.queue.length >= this.maxQueued) {
      this.counts.dropped++
      return
    }
    this.keys.add(key.hex)
    this.queue.push([key, block])
    this.pump()
  }

  /** A block could not even be recomputed for healing (counted with the failed inserts). */
  readonly recomputeFailed = (err: Error): void => {
    this.counts.failed++
    this.options.onError?.(undefined, err)
  }

  get stats (): HealerStats {
    return { pending: this.keys.size, ...this.counts }
  }

  /** Resolves once nothing is queued or in flight. */
  async drained (): Promise<void> {
    if (this.keys.size === 0) return
    await new Promise<void>((resolve) => { this.idle.push(resolve) })
  }

  private pump (): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const [key, block] = this.queue.shift()!
      this.running++
      this.insert(key, block).then(() => { this.counts.healed++ }, (err: Error) => {
        this.counts.failed++
        this.options.onError?.(key, err)
      }).finally(() => {
        this.running--
        this.keys.delete(key.hex)
        this.pump()
        if (this.keys.size === 0) for (const done of this.idle.splice(0)) done()
      })
    }
  }
}

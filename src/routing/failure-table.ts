/**
 * Failure table: keys whose requests recently ran out of hops-to-live, with the HTL they
 * failed at and an expiry. A new request for such a key with no more HTL than the failed
 * one is rejected at once with DataNotFound instead of being routed again (Freenet 0.5's
 * failure table). Bounded: the oldest entries go first.
 */
import { LazyMap } from './lazy-map.js'

interface FailureEntry {
  htl: number
  expires: number
}

export class FailureTable {
  private readonly entries = new LazyMap<string, FailureEntry>()

  constructor (readonly capacity: number, readonly ttlMs: number) {}

  record (keyHex: string, htl: number, now: number): void {
    const prev = this.entries.get(keyHex)
    if (prev !== undefined) this.entries.delete(keyHex)
    const keep = prev !== undefined && prev.expires > now ? Math.max(prev.htl, htl) : htl
    this.entries.set(keyHex, { htl: keep, expires: now + this.ttlMs })
    while (this.entries.size > this.capacity) {
      this.entries.delete(this.entries.oldestKey() as string)
    }
  }

  /** True if a request for `keyHex` at `htl` should be rejected now. */
  rejects (keyHex: string, htl: number, now: number): boolean {
    const e = this.entries.get(keyHex)
    if (e === undefined) return false
    if (e.expires <= now) {
      this.entries.delete(keyHex)
      return false
    }
    return htl <= e.htl
  }

  /** Forget a key (data for it arrived). */
  clear (keyHex: string): void {
    this.entries.delete(keyHex)
  }

  get size (): number {
    return this.entries.size
  }
}

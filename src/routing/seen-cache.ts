/**
 * Bounded, expiring set of transaction IDs a node has seen. A request or insert whose ID is
 * in the cache is answered with RejectedLoop. Oldest IDs fall out first when it is full.
 */
import { LazyMap } from './lazy-map.js'

export class SeenCache<T = bigint> {
  private readonly entries = new LazyMap<T, number>()

  constructor (readonly capacity: number, readonly ttlMs: number) {}

  /** Record `id` at time `now`; returns false if it was already present and unexpired. */
  add (id: T, now: number): boolean {
    const exp = this.entries.get(id)
    if (exp !== undefined && exp > now) return false
    if (exp !== undefined) this.entries.delete(id)
    this.entries.set(id, now + this.ttlMs)
    while (this.entries.size > this.capacity) {
      this.entries.delete(this.entries.oldestKey() as T)
    }
    return true
  }

  /** Forget `id` (the operation backtracked out of this node: per-path loop detection). */
  delete (id: T): void {
    this.entries.delete(id)
  }

  has (id: T, now: number): boolean {
    const exp = this.entries.get(id)
    return exp !== undefined && exp > now
  }

  get size (): number {
    return this.entries.size
  }
}

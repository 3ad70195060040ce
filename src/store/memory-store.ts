/**
 * The in-memory block store: blocks in a Map, evicted by the same `StorePolicy` as the
 * persistent `BlockStore`. No I/O: pure core, like ./store-policy.ts.
 */
import { StorePolicy } from './store-policy.js'
import type { PutResult, StorePolicyOptions, StoreStats } from './store-policy.js'
import type { RoutingKey } from '../keys/routing-key.js'
import type { StoreView } from '../routing/node-core.js'

/**
 * A Map-backed block store with the same policy as `BlockStore`, fully synchronous: for tests
 * of code that needs a store but not a disk (the simulator drives `StorePolicy` directly).
 */
export class MemoryBlockStore implements StoreView {
  readonly policy: StorePolicy
  private readonly blocks = new Map<string, Uint8Array>()

  constructor (options: StorePolicyOptions) {
    this.policy = new StorePolicy(options)
  }

  has (key: RoutingKey): boolean {
    return this.policy.has(key.hex)
  }

  /** The stored bytes; counts as an access. */
  get (key: RoutingKey): Uint8Array | undefined {
    const bytes = this.blocks.get(key.hex)
    if (bytes !== undefined) this.policy.touch(key.hex)
    return bytes
  }

  put (key: RoutingKey, bytes: Uint8Array): PutResult {
    const hex = key.hex
    if (this.policy.has(hex) || !this.policy.fits(bytes.length)) return { stored: false, evicted: 0 }
    const victims = this.policy.planInsert(hex, bytes.length)
    for (const v of victims) {
      this.blocks.delete(v)
      this.policy.remove(v)
    }
    this.blocks.set(hex, bytes)
    this.policy.commitInsert(hex, bytes.length)
    return { stored: true, evicted: victims.length }
  }

  delete (key: RoutingKey): boolean {
    this.blocks.delete(key.hex)
    return this.policy.remove(key.hex)
  }

  stats (): StoreStats {
    return { count: this.policy.count, kept: this.policy.keptCount, usedBytes: this.policy.usedBytes, capacityBytes: this.policy.capacityBytes }
  }
}

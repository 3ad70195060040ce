/**
 * An in-memory BlockNetwork for client and API tests: blocks by routing key, every call
 * recorded with the signal it was given, and a switch that makes calls hang until their
 * signal aborts (a network operation still in flight), so tests can watch cancellation.
 */
import { CustomProgressEvent } from 'progress-events'
import { NotFoundError } from '../../src/protocol/errors.js'
import type { Block } from '../../proto/warren.js'
import type { RoutingKey } from '../../src/keys/routing-key.js'
import type { BlockNetwork, InsertResult, NetworkOptions, RequestResult } from '../../src/protocol/types.js'

export interface Call {
  /** Position among all calls made (0 first). */
  index: number
  kind: 'request' | 'insert'
  key: RoutingKey
  htl: number
  signal?: AbortSignal
  /** Settled: answered, failed or aborted. */
  settled: boolean
}

export class MemoryBlockNetwork implements BlockNetwork {
  readonly blocks = new Map<string, Block>()
  readonly calls: Call[] = []
  /** Calls for which this returns true never answer; they reject with the signal's reason when it aborts. */
  hang: (call: Call) => boolean = () => false
  /** Inserts fail with this error when set. */
  insertError?: Error
  /** Inserts that report waiting (`warren:insert:wait`, as for an overloaded peer) before they store. */
  insertWaitMs?: number
  /** Hops reported by a request (found or not). */
  hops = 3
  private readonly waiters: Array<{ n: number, done: () => void }> = []

  async request (key: RoutingKey, options: NetworkOptions): Promise<RequestResult> {
    return await this.call('request', key, options, () => {
      const block = this.blocks.get(key.hex)
      if (block === undefined) throw new NotFoundError(`${key.hex.slice(0, 8)} not found`, this.hops)
      return { block, hops: this.hops, source: 'memory' }
    })
  }

  async insert (key: RoutingKey, block: Block, options: NetworkOptions): Promise<InsertResult> {
    return await this.call('insert', key, options, () => {
      if (this.insertError !== undefined) throw this.insertError
      if (this.insertWaitMs !== undefined) options.onProgress?.(new CustomProgressEvent('warren:insert:wait', { key, ms: this.insertWaitMs, attempt: 1 }))
      const existing = this.blocks.get(key.hex)
      if (existing !== undefined) return { collision: true, block: existing, stored: 0, depth: 0, remainingHtl: options.htl, hops: 0 }
      this.blocks.set(key.hex, block)
      return { collision: false, stored: 1, depth: 1, remainingHtl: 0, hops: 1 }
    })
  }

  /** Calls hanging now (in flight, not settled). */
  get hanging (): Call[] {
    return this.calls.filter((c) => !c.settled && this.hang(c))
  }

  /** Resolves once `n` calls are hanging at the same time. */
  async untilHanging (n: number): Promise<void> {
    if (this.hanging.length >= n) return
    await new Promise<void>((resolve) => { this.waiters.push({ n, done: resolve }) })
  }

  private async call<T> (kind: Call['kind'], key: RoutingKey, options: NetworkOptions, answer: () => T): Promise<T> {
    const c: Call = { index: this.calls.length, kind, key, htl: options.htl, signal: options.signal, settled: false }
    this.calls.push(c)
    try {
      options.signal?.throwIfAborted()
      if (!this.hang(c)) return answer()
      const hanging = this.hanging.length
      for (const w of this.waiters.filter((w) => hanging >= w.n)) {
        this.waiters.splice(this.waiters.indexOf(w), 1)
        w.done()
      }
      return await new Promise<T>((_resolve, reject) => {
        if (options.signal === undefined) return
        options.signal.addEventListener('abort', () => { reject(options.signal!.reason) }, { once: true })
      })
    } finally {
      c.settled = true
    }
  }
}

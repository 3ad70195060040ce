/**
 * Issue 11, finding 1: one peer next to a key answering DataNotFound must not end the requests
 * for it, and failure-table answers must not create or renew failure entries where they arrive
 * (the entries fed each other and kept a key failing after the attacker left). A bare core
 * driven by hand.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { NodeCore } from '../../src/routing/node-core.js'
import { networkProfile } from '../../src/routing/profiles.js'
import { seededRng } from '../../src/routing/random.js'
import { PLAIN, keyAt } from './harness.js'
import type { Action, NodeCoreOptions } from '../../src/routing/node-core.js'

/** Routes at 0.5 (peer 1, the closest: the attacker), 0.6 (peer 2) and 0.7 (peer 3). */
const KEY = keyAt(0.45)

function core (options: Partial<NodeCoreOptions> = {}): NodeCore<number> {
  const c = new NodeCore<number>({ self: 0, store: { has: () => false }, rng: seededRng(3), now: () => 0, options: { ...PLAIN, failureTableTtlMs: 60_000, ...options } })
  c.addRoute(0.5, 1)
  c.addRoute(0.6, 2)
  c.addRoute(0.7, 3)
  return c
}

function only (actions: Array<Action<number>>): Action<number> {
  assert.equal(actions.length, 1)
  return actions[0]
}

describe('DataNotFound from one child (issue 11)', () => {
  it('the network profile retries one DataNotFound; the paper profile does not', () => {
    assert.equal(networkProfile.core.notFoundRetries, 1)
    const c = core({ notFoundRetries: 0 })
    assert.deepEqual(only(c.receive(9, { kind: 'request', id: 1n, key: KEY, htl: 10 })), { type: 'forward', id: 1n, to: 1, kind: 'request', key: KEY, htl: 9, source: undefined, timeoutMs: Infinity })
    assert.deepEqual(only(c.response(1n, 1, { type: 'not-found', hops: 0 })), { type: 'reply', id: 1n, to: 9, reply: { type: 'not-found', hops: 1 } })
  })

  it('tries the next route with a small HTL, and finds the data there', () => {
    const c = core({ notFoundRetries: 1, notFoundRetryHtl: 2 })
    c.receive(9, { kind: 'request', id: 1n, key: KEY, htl: 10 })
    const a = only(c.response(1n, 1, { type: 'not-found', hops: 5 }))
    assert.ok(a.type === 'forward')
    assert.equal(a.to, 2)
    assert.equal(a.htl, 1, 'retry budget 2: the child gets 1')
    const done = c.response(1n, 2, { type: 'found', source: 2, hops: 0 })
    const reply = done.find((x) => x.type === 'reply')
    assert.deepEqual(reply?.type === 'reply' ? reply.reply : undefined, { type: 'found', source: 2, hops: 7, fromStore: false })
    assert.equal(c.failures.size, 0)
  })

  it('never gives the retry more HTL than this node had', () => {
    const c = core({ notFoundRetries: 1, notFoundRetryHtl: 5 })
    c.receive(9, { kind: 'request', id: 1n, key: KEY, htl: 1 })
    const a = only(c.response(1n, 1, { type: 'not-found', hops: 0 }))
    assert.ok(a.type === 'forward')
    assert.equal(a.to, 2)
    assert.equal(a.htl, 0)
  })

  it('the retries are bounded: the next DataNotFound ends the request and is recorded', () => {
    const c = core({ notFoundRetries: 1 })
    c.receive(9, { kind: 'request', id: 1n, key: KEY, htl: 10 })
    c.response(1n, 1, { type: 'not-found', hops: 0 })
    assert.deepEqual(only(c.response(1n, 2, { type: 'not-found', hops: 1 })), { type: 'reply', id: 1n, to: 9, reply: { type: 'not-found', hops: 3 } })
    assert.equal(c.failures.rejects(KEY.hex, 10, 1), true)
  })

  it('a DataNotFound it retried and could not beat (no route left) is recorded here and answered RouteNotFound, so the node above may backtrack', () => {
    const c = new NodeCore<number>({ self: 0, store: { has: () => false }, rng: seededRng(3), now: () => 0, options: { ...PLAIN, notFoundRetries: 1, failureTableTtlMs: 60_000 } })
    c.addRoute(0.5, 1)
    c.receive(9, { kind: 'request', id: 1n, key: KEY, htl: 10 })
    assert.deepEqual(only(c.response(1n, 1, { type: 'not-found', hops: 4 })), { type: 'reply', id: 1n, to: 9, reply: { type: 'route-not-found', remaining: 2, hops: 5 } })
    assert.equal(c.failures.rejects(KEY.hex, 10, 1), true)
    // Not from failure-table answers alone.
    c.receive(9, { kind: 'request', id: 2n, key: keyAt(0.55), htl: 10 })
    c.response(2n, 1, { type: 'not-found', hops: 0, recentlyFailed: true })
    assert.equal(c.failures.size, 1)
  })

  it('a failure-table answer is passed on as one and recorded nowhere', () => {
    const c = core({ notFoundRetries: 1 })
    c.receive(9, { kind: 'request', id: 1n, key: KEY, htl: 10 })
    c.response(1n, 1, { type: 'not-found', hops: 0, recentlyFailed: true })
    assert.deepEqual(only(c.response(1n, 2, { type: 'not-found', hops: 0, recentlyFailed: true })),
      { type: 'reply', id: 1n, to: 9, reply: { type: 'not-found', hops: 2, recentlyFailed: true } })
    assert.equal(c.failures.size, 0, 'no entry created from failure-table answers')
    // One genuine DataNotFound among them is a failure of this node's own search: recorded.
    c.receive(9, { kind: 'request', id: 2n, key: KEY, htl: 10 })
    c.response(2n, 1, { type: 'not-found', hops: 0, recentlyFailed: true })
    assert.deepEqual(only(c.response(2n, 2, { type: 'not-found', hops: 1 })), { type: 'reply', id: 2n, to: 9, reply: { type: 'not-found', hops: 3 } })
    assert.equal(c.failures.size, 1)
  })

  it('a failure-table answer never renews an entry here either', () => {
    const c = core({ notFoundRetries: 0, failureTableTtlMs: 100 })
    let now = 0
    const d = new NodeCore<number>({ self: 0, store: { has: () => false }, rng: seededRng(3), now: () => now, options: { ...c.options } })
    d.addRoute(0.5, 1)
    d.failures.record(KEY.hex, 10, 0)
    now = 50
    // The entry is there: answered at once, flagged.
    assert.deepEqual(only(d.receive(9, { kind: 'request', id: 1n, key: KEY, htl: 5 })), { type: 'reply', id: 1n, to: 9, reply: { type: 'not-found', hops: 0, recentlyFailed: true } })
    now = 100
    // Expired; the request is routed and peer 1 answers from its own failure table: no renewal.
    d.receive(9, { kind: 'request', id: 2n, key: KEY, htl: 5 })
    d.response(2n, 1, { type: 'not-found', hops: 0, recentlyFailed: true })
    assert.equal(d.failures.rejects(KEY.hex, 5, 101), false)
  })
})

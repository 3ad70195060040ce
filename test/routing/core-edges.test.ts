/**
 * The routing core's less travelled paths, one exact expectation each (issue 18: found by
 * mutation testing): statistics, the guards that make stale or out-of-phase answers
 * harmless, answers a child should not give (not-found to an insert, all-clear to a
 * request), running out of time, the HTL clamp under short time, the bounded per-peer HTL
 * decisions, probability boundaries, source and route choices of inserts, and per-path loop
 * detection. A bare core is driven by hand: `receive`, `response`, `insertData`,
 * `dataStored`, with a hand-set clock and, where it matters, a scripted random generator.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DEFAULT_CORE_OPTIONS, NodeCore } from '../../src/routing/node-core.js'
import { seededRng } from '../../src/routing/random.js'
import { PLAIN, keyAt } from './harness.js'
import type { Action, IncomingMessage, NodeCoreOptions } from '../../src/routing/node-core.js'
import type { Rng } from '../../src/routing/random.js'
import type { RoutingKey } from '../../src/keys/routing-key.js'

const HOP = 1000
/** The key the operations look for: routes at 0.5, 0.6 and 0.7 are tried in that order. */
const KEY = keyAt(0.45)

function bare (options: Partial<NodeCoreOptions> = {}, rng: Rng = seededRng(7)): { core: NodeCore<number>, clock: { t: number }, stored: Set<string> } {
  const clock = { t: 0 }
  const stored = new Set<string>()
  const core = new NodeCore<number>({ self: 0, store: { has: (k) => stored.has(k.hex) }, rng, now: () => clock.t, options: { ...PLAIN, ...options } })
  return { core, clock, stored }
}

/** A core with routes to peers 1, 2 and 3 (in order of closeness to KEY). */
function routed (options: Partial<NodeCoreOptions> = {}, rng?: Rng): ReturnType<typeof bare> {
  const b = bare(options, rng)
  b.core.addRoute(0.5, 1)
  b.core.addRoute(0.6, 2)
  b.core.addRoute(0.7, 3)
  return b
}

const request = (id: bigint, htl: number, key: RoutingKey = KEY): IncomingMessage<number> => ({ kind: 'request', id, key, htl })
const insert = (id: bigint, htl: number, source?: number, key: RoutingKey = KEY): IncomingMessage<number> => ({ kind: 'insert', id, key, htl, source })

/** The single forward among `actions`, as [to, htl, timeoutMs, source]. */
function forward (actions: Array<Action<number>>): [number, number, number, number | undefined] {
  assert.equal(actions.length, 1, JSON.stringify(actions, (_k, v) => typeof v === 'bigint' ? String(v) : v))
  const a = actions[0]
  assert.equal(a.type, 'forward')
  return a.type === 'forward' ? [a.to, a.htl, a.timeoutMs, a.source] : [NaN, NaN, NaN, undefined]
}

/** The replies among `actions`, without their operation IDs. */
function replies (actions: Array<Action<number>>): unknown[] {
  return actions.map((a) => a.type === 'reply' ? { to: a.to, ...a.reply } : { type: a.type })
}

/** A scripted generator: `first` values, then `rest` forever. */
function scripted (first: number[], rest: number): Rng {
  const queue = [...first]
  return () => queue.shift() ?? rest
}

describe('routing core edges', () => {
  it('has the documented defaults', () => {
    assert.deepEqual(DEFAULT_CORE_OPTIONS, {
      maxHtl: 20,
      probabilisticHtl: true,
      decrementAtMaxProb: 0.5,
      decrementAtMinProb: 0.25,
      sourceResetProb: 0.1,
      insertOriginSource: 'self',
      clientCache: false,
      cacheProb: 1,
      routingTableSize: 250,
      seenCacheSize: 10_000,
      seenCacheTtlMs: 600_000,
      failureTableSize: 1000,
      failureTableTtlMs: 300_000,
      hopTimeoutMs: 3000,
      loopCostsHop: true,
      dropUnreachable: true,
      refreshOnForward: false,
      insertRouteTo: 'source',
      insertBacktrack: false,
      insertBacktrackBelowHtl: Infinity,
      insertHomeHandOff: false,
      perPathLoops: false,
      tableSpreadBuckets: 0,
      notFoundRetries: 0,
      notFoundRetryHtl: 2,
      verifiedRoutesOnly: false,
      pendingRoutes: 256,
      pendingRoutesPerSender: 64
    })
    const core = new NodeCore<number>({ self: 0, store: { has: () => false }, rng: seededRng(1), now: () => 0 })
    assert.deepEqual(core.options, DEFAULT_CORE_OPTIONS)
    assert.equal(core.table.capacity, 250)
    assert.equal(core.failures.capacity, 1000)
    assert.equal(core.failures.ttlMs, 300_000)
    assert.equal(core.seen.capacity, 10_000)
    assert.equal(core.seen.ttlMs, 600_000)
  })

  it('counts what it receives, and counts local outcomes for its own operations only', () => {
    const { core, stored } = routed()
    const held = keyAt(0.2)
    stored.add(held.hex)
    assert.deepEqual(replies(core.receive(null, request(1n, 5, held))), [{ to: null, type: 'found', source: 0, hops: 0, fromStore: true }])
    assert.deepEqual(replies(core.receive(null, insert(2n, 5, undefined, held))), [{ to: null, type: 'collision', source: 0, hops: 0, fromStore: true }])
    assert.deepEqual(replies(core.receive(7, request(3n, 5, held))), [{ to: 7, type: 'found', source: 0, hops: 0, fromStore: true }])
    assert.deepEqual(replies(core.receive(6, request(30n, 5, held))), [{ to: 6, type: 'found', source: 0, hops: 0, fromStore: true }])
    assert.deepEqual(replies(core.receive(7, insert(4n, 5, 7, held))), [{ to: 7, type: 'collision', source: 0, hops: 0, fromStore: true }])
    core.failures.record(KEY.hex, 5, 0)
    assert.deepEqual(replies(core.receive(null, request(5n, 3))), [{ to: null, type: 'not-found', hops: 0, recentlyFailed: true }])
    assert.deepEqual(replies(core.receive(7, request(6n, 3))), [{ to: 7, type: 'not-found', hops: 0, recentlyFailed: true }])
    assert.deepEqual(replies(core.receive(6, request(60n, 3))), [{ to: 6, type: 'not-found', hops: 0, recentlyFailed: true }])
    assert.deepEqual({ ...core.stats, local: undefined }, {
      requestsReceived: 6, insertsReceived: 2, forwarded: 0, loopsRejected: 0, failureTableRejects: 3, servedFromStore: 5, local: undefined
    })
    assert.deepEqual(core.stats.local, {
      requests: { success: 1, failure: 1, hops: 0 },
      inserts: { success: 0, collision: 1, failure: 0, hops: 0 }
    })
  })

  it('counts the hops of its own requests and inserts answered from downstream, and nothing for relayed ones', () => {
    const { core } = routed()
    forward(core.receive(null, request(1n, 5)))
    assert.deepEqual(replies(core.response(1n, 1, { type: 'found', source: 1, hops: 2 })), [{ type: 'store' }, { to: null, type: 'found', source: 1, hops: 3, fromStore: false }])
    forward(core.receive(null, insert(2n, 5)))
    assert.deepEqual(replies(core.response(2n, 1, { type: 'collision', source: 1, hops: 3 })), [{ type: 'store' }, { to: null, type: 'collision', source: 1, hops: 4, fromStore: false }])
    forward(core.receive(null, insert(3n, 5, undefined, keyAt(0.46))))
    assert.deepEqual(replies(core.response(3n, 1, { type: 'all-clear', depth: 1, remaining: 0, hops: 2 })), [{ to: null, type: 'all-clear', depth: 2, remaining: 0, hops: 3 }])
    core.insertData(3n)
    assert.deepEqual(replies(core.dataStored(3n, 1, 1)), [{ to: null, type: 'stored', stored: 2 }])
    for (const [i, res] of [{ type: 'found', source: 1, hops: 2 }, { type: 'not-found', hops: 2 }].entries()) {
      forward(core.receive(9, request(10n + BigInt(i), 5, keyAt(0.44))))
      core.response(10n + BigInt(i), 1, res as never)
    }
    assert.deepEqual(core.stats.local, {
      requests: { success: 1, failure: 0, hops: 3 },
      inserts: { success: 1, collision: 1, failure: 0, hops: 4 }
    })
  })

  it('the failure table holds back requests only: an insert of a failed key is routed', () => {
    const { core } = routed()
    core.failures.record(KEY.hex, 10, 0)
    assert.deepEqual(replies(core.receive(9, request(1n, 3))), [{ to: 9, type: 'not-found', hops: 0, recentlyFailed: true }])
    assert.deepEqual(forward(core.receive(9, insert(2n, 3))), [1, 2, Infinity, 9])
  })

  it('an insert passes on the source it was given, else the peer it came from, else itself', () => {
    const { core } = routed()
    assert.equal(forward(core.receive(3, insert(1n, 3, 9)))[3], 9)
    assert.equal(forward(core.receive(3, insert(2n, 3, undefined, keyAt(0.44))))[3], 3)
    assert.equal(forward(core.receive(null, insert(3n, 3, 9, keyAt(0.43))))[3], 0)
  })

  it('probability 0 never happens and probability 1 always does, whatever the generator returns in [0, 1)', () => {
    const zero = routed({ probabilisticHtl: true, maxHtl: 10, decrementAtMaxProb: 0, decrementAtMinProb: 0, sourceResetProb: 0, cacheProb: 0 }, () => 0)
    assert.equal(forward(zero.core.receive(9, request(1n, 10)))[1], 10, 'no decrement at the maximum')
    assert.equal(forward(zero.core.receive(8, request(2n, 1, keyAt(0.44))))[1], 1, 'no decrement at 1')
    assert.equal(forward(zero.core.receive(7, insert(3n, 3, 5, keyAt(0.43))))[3], 5, 'no source reset on an insert')
    assert.deepEqual(replies(zero.core.response(1n, 1, { type: 'found', source: 1, hops: 0 })), [{ to: 9, type: 'found', source: 1, hops: 1, fromStore: false }],
      'not cached, and no source reset on a reply')
    const one = routed({ probabilisticHtl: true, maxHtl: 10, decrementAtMaxProb: 1, decrementAtMinProb: 1, sourceResetProb: 1, cacheProb: 1 }, () => 0.999999)
    assert.equal(forward(one.core.receive(9, request(1n, 10)))[1], 9)
    assert.equal(forward(one.core.receive(8, request(2n, 1, keyAt(0.44))))[1], 0)
    assert.equal(forward(one.core.receive(7, insert(3n, 3, 5, keyAt(0.43))))[3], 0)
    assert.deepEqual(replies(one.core.response(1n, 1, { type: 'found', source: 1, hops: 0 })), [{ type: 'store' }, { to: 9, type: 'found', source: 0, hops: 1, fromStore: false }])
  })

  it('ignores answers for unknown operations, from peers it is not waiting for, and out of phase', () => {
    const { core } = routed()
    assert.deepEqual(forward(core.receive(9, request(1n, 5))), [1, 4, Infinity, undefined])
    assert.deepEqual(core.response(99n, 1, { type: 'found', source: 1, hops: 0 }), [])
    assert.deepEqual(core.response(1n, 2, { type: 'found', source: 2, hops: 0 }), [], 'peer 2 was not asked')
    assert.deepEqual(core.insertData(1n), [], 'a request has no data phase')
    assert.deepEqual(core.dataStored(1n, 1, 1), [])
    assert.deepEqual(replies(core.response(1n, 1, { type: 'not-found', hops: 0 })), [{ to: 9, type: 'not-found', hops: 1 }], 'the stale answers changed nothing')
    assert.deepEqual(core.response(1n, 1, { type: 'not-found', hops: 0 }), [], 'the operation is over')
    assert.deepEqual(core.insertData(99n), [])
    assert.deepEqual(core.dataStored(99n, 1, 1), [])
  })

  it('an insert in its data phase takes only the data-phase answers of its downstream peer', () => {
    const { core } = routed()
    assert.deepEqual(forward(core.receive(9, insert(1n, 5, 9))), [1, 4, Infinity, 9])
    assert.deepEqual(core.insertData(1n), [], 'no data before the all-clear')
    assert.deepEqual(core.dataStored(1n, 1, 1), [], 'no stored before the data')
    assert.deepEqual(replies(core.response(1n, 1, { type: 'all-clear', depth: 1, remaining: 0, hops: 0 })), [{ to: 9, type: 'all-clear', depth: 2, remaining: 0, hops: 1 }])
    assert.deepEqual(core.response(1n, 1, { type: 'found', source: 1, hops: 0 }), [], 'awaiting data: routing answers are over')
    assert.deepEqual(core.dataStored(1n, 1, 1), [], 'the data has not been sent yet')
    assert.deepEqual(core.insertData(1n).map((a) => a.type), ['store', 'send-data'])
    assert.deepEqual(core.insertData(1n), [], 'the data comes once')
    assert.deepEqual(core.response(1n, 2, { type: 'failed', reason: 'timeout' }), [], 'not from the downstream peer')
    assert.deepEqual(core.response(1n, 1, { type: 'not-found', hops: 0 }), [], 'not a failure')
    assert.deepEqual(core.dataStored(1n, 2, 5), [], 'not from the downstream peer')
    assert.deepEqual(replies(core.dataStored(1n, 1, 3)), [{ to: 9, type: 'stored', stored: 4 }])
  })

  it('a not-found answer to an insert moves on to the next candidate with the HTL that child was given', () => {
    const { core } = routed()
    assert.deepEqual(forward(core.receive(9, insert(1n, 5, 9))), [1, 4, Infinity, 9])
    assert.deepEqual(forward(core.response(1n, 1, { type: 'not-found', hops: 2 })), [2, 3, Infinity, 9])
    assert.deepEqual(replies(core.response(1n, 2, { type: 'all-clear', depth: 1, remaining: 0, hops: 0 })), [{ to: 9, type: 'all-clear', depth: 2, remaining: 0, hops: 4 }])
  })

  it('an all-clear answer to a request costs one hop and moves on to the next candidate', () => {
    const { core } = routed()
    assert.deepEqual(forward(core.receive(9, request(1n, 5))), [1, 4, Infinity, undefined])
    assert.deepEqual(forward(core.response(1n, 1, { type: 'all-clear', depth: 3, remaining: 2, hops: 5 })), [2, 3, Infinity, undefined])
    assert.deepEqual(replies(core.response(1n, 2, { type: 'not-found', hops: 0 })), [{ to: 9, type: 'not-found', hops: 2 }])
  })

  it('a failed child costs one hop plus the hops it reports', () => {
    const { core } = routed()
    forward(core.receive(9, request(1n, 5)))
    assert.deepEqual(forward(core.response(1n, 1, { type: 'failed', reason: 'timeout', hops: 3 })), [2, 3, Infinity, undefined])
    assert.deepEqual(forward(core.response(1n, 2, { type: 'failed', reason: 'error' })), [3, 2, Infinity, undefined])
    assert.deepEqual(replies(core.response(1n, 3, { type: 'not-found', hops: 0 })), [{ to: 9, type: 'not-found', hops: 6 }])
  })

  it('backtracking never tries a peer twice', () => {
    const { core } = routed()
    forward(core.receive(9, request(1n, 5)))
    assert.deepEqual(forward(core.response(1n, 1, { type: 'route-not-found', remaining: 4, hops: 0 })), [2, 3, Infinity, undefined])
    assert.deepEqual(forward(core.response(1n, 2, { type: 'route-not-found', remaining: 3, hops: 0 })), [3, 2, Infinity, undefined])
    assert.deepEqual(replies(core.response(1n, 3, { type: 'route-not-found', remaining: 2, hops: 0 })), [{ to: 9, type: 'route-not-found', remaining: 2, hops: 3 }])
  })

  for (const routeTo of ['source', 'downstream'] as const) {
    it(`the route an insert leaves points at the ${routeTo === 'source' ? 'data source' : 'next node on the path, or the source at its end'}`, () => {
      const routeAt = (core: NodeCore<number>, key: RoutingKey): number | undefined => [...core.table.entries()].find((e) => e.loc === key.loc)?.peer
      const { core } = routed({ insertRouteTo: routeTo })
      forward(core.receive(9, insert(1n, 5, 8)))
      core.response(1n, 1, { type: 'all-clear', depth: 1, remaining: 0, hops: 0 })
      core.insertData(1n)
      assert.equal(routeAt(core, KEY), routeTo === 'source' ? 8 : 1)
      const end = bare({ insertRouteTo: routeTo })
      assert.deepEqual(replies(end.core.receive(9, insert(2n, 5, 8))), [{ to: 9, type: 'all-clear', depth: 1, remaining: 5, hops: 0 }])
      assert.deepEqual(replies(end.core.insertData(2n)), [{ type: 'store' }, { to: 9, type: 'stored', stored: 1 }])
      assert.equal(routeAt(end.core, KEY), 8)
    })
  }

  it('with insertBacktrack a relay whose every candidate failed answers RouteNotFound; a lone dead end and the originator end the path', () => {
    const back = routed({ insertBacktrack: true, loopCostsHop: false })
    assert.deepEqual(forward(back.core.receive(9, insert(1n, 3, 9))), [1, 2, Infinity, 9])
    assert.deepEqual(forward(back.core.response(1n, 1, { type: 'loop' })), [2, 2, Infinity, 9])
    assert.deepEqual(forward(back.core.response(1n, 2, { type: 'loop' })), [3, 2, Infinity, 9])
    assert.deepEqual(replies(back.core.response(1n, 3, { type: 'loop' })), [{ to: 9, type: 'route-not-found', remaining: 3, hops: 3 }])
    // Nothing to try at all (its only peer is the sender): it stores rather than send the insert back.
    const lone = bare({ insertBacktrack: true })
    assert.deepEqual(replies(lone.core.receive(9, insert(1n, 3, 9))), [{ to: 9, type: 'all-clear', depth: 1, remaining: 3, hops: 0 }])
    assert.deepEqual(replies(lone.core.receive(null, insert(2n, 3))), [{ to: null, type: 'all-clear', depth: 1, remaining: 3, hops: 0 }])
    // At or above insertBacktrackBelowHtl the node ends the path too.
    const high = routed({ insertBacktrack: true, insertBacktrackBelowHtl: 3, loopCostsHop: false })
    forward(high.core.receive(9, insert(1n, 3, 9)))
    forward(high.core.response(1n, 1, { type: 'loop' }))
    forward(high.core.response(1n, 2, { type: 'loop' }))
    assert.deepEqual(replies(high.core.response(1n, 3, { type: 'loop' })), [{ to: 9, type: 'all-clear', depth: 1, remaining: 3, hops: 3 }])
    const plain = bare({ insertBacktrack: false })
    assert.deepEqual(replies(plain.core.receive(9, insert(1n, 3, 9))), [{ to: 9, type: 'all-clear', depth: 1, remaining: 3, hops: 0 }])
  })

  describe('deadlines', () => {
    it('a child gets no more HTL than the time left can wait for', () => {
      const { core, clock } = routed({ hopTimeoutMs: HOP })
      assert.deepEqual(forward(core.receive(9, request(1n, 5))), [1, 4, 5 * HOP, undefined])
      clock.t = 3 * HOP
      // 3 hops left, half a hop kept in reserve: 2.5 hops for the child, enough for HTL 1.
      assert.deepEqual(forward(core.response(1n, 1, { type: 'route-not-found', remaining: 4, hops: 0 })), [2, 1, 2.5 * HOP, undefined])
    })

    it('with time for the full HTL, the child gets it, even undecremented at the maximum', () => {
      const { core } = routed({ hopTimeoutMs: HOP, probabilisticHtl: true, maxHtl: 10 }, () => 0.99)
      assert.deepEqual(forward(core.receive(9, request(1n, 10))), [1, 10, 10 * HOP, undefined])
    })

    for (const kind of ['request', 'insert'] as const) {
      it(`with less than half a hop left, ${kind === 'request' ? 'a request answers RouteNotFound' : 'an insert ends its path'} with its unspent HTL`, () => {
        const { core, clock } = routed({ hopTimeoutMs: HOP })
        forward(core.receive(9, kind === 'request' ? request(1n, 5) : insert(1n, 5, 9)))
        clock.t = 5.6 * HOP // 0.4 hops left of 6
        const actions = core.response(1n, 1, { type: 'route-not-found', remaining: 3, hops: 0 })
        assert.deepEqual(replies(actions), kind === 'request'
          ? [{ to: 9, type: 'route-not-found', remaining: 3, hops: 1 }]
          : [{ to: 9, type: 'all-clear', depth: 1, remaining: 3, hops: 1 }])
        assert.equal(core.failures.size, 0)
        if (kind === 'insert') assert.deepEqual(replies(core.insertData(1n)), [{ type: 'store' }, { to: 9, type: 'stored', stored: 1 }], 'the data is taken')
      })
    }
  })

  describe('probabilistic HTL decisions', () => {
    it('are remembered for the last 4096 upstream peers; the oldest is forgotten first', () => {
      // The first peer's first draw decrements at the maximum; every later draw does not.
      const { core } = bare({ probabilisticHtl: true, maxHtl: 10 }, scripted([0], 0.99))
      assert.equal(core.nextHtl(10, 100_000), 9)
      for (let p = 1; p < 4096; p++) assert.equal(core.nextHtl(10, p), 10)
      assert.equal(core.nextHtl(10, 100_000), 9, 'still remembered with 4096 peers')
      core.nextHtl(10, 4096)
      assert.equal(core.nextHtl(10, 100_000), 10, 'forgotten after the 4097th, and decided afresh')
    })

    it('are forgotten with the peer', () => {
      const { core } = bare({ probabilisticHtl: true, maxHtl: 10 }, scripted([0, 0], 0.99))
      assert.equal(core.nextHtl(10, 5), 9)
      assert.equal(core.nextHtl(1, 5), 0)
      core.removePeer(5)
      assert.equal(core.nextHtl(10, 5), 10)
      assert.equal(core.nextHtl(1, 5), 1)
    })
  })

  it('refreshOnForward moves the chosen peer\'s entries to the front of the LRU order', () => {
    for (const refresh of [false, true]) {
      const { core } = bare({ refreshOnForward: refresh })
      core.addRoute(0.5, 1)
      core.addRoute(0.6, 2)
      core.addRoute(0.9, 1)
      forward(core.receive(9, request(1n, 3)))
      const stamps = [...core.table.entries()].map((e) => [e.peer, e.lastUsed])
      assert.deepEqual(stamps, refresh ? [[1, 4], [2, 2], [1, 4]] : [[1, 1], [2, 2], [1, 3]], `refreshOnForward ${String(refresh)}`)
    }
  })

  it('a pinned neighbour survives LRU replacement until it is unpinned', () => {
    const { core } = bare({ routingTableSize: 2 })
    core.addRoute(0.1, 1, true)
    core.addRoute(0.2, 2)
    core.addRoute(0.3, 3)
    assert.deepEqual([...core.table.entries()].map((e) => e.peer), [1, 3])
    core.unpinPeer(1)
    core.addRoute(0.4, 4)
    assert.deepEqual([...core.table.entries()].map((e) => e.peer).sort((a, b) => a - b), [3, 4])
    core.addRoute(0.5, 0)
    assert.equal(core.table.has(0), false, 'never a route to itself')
  })

  describe('per-path loop detection', () => {
    it('a node that backtracked forgets the operation, so another branch may pass through it', () => {
      const { core } = bare({ perPathLoops: true })
      assert.deepEqual(replies(core.receive(9, request(1n, 3))), [{ to: 9, type: 'route-not-found', remaining: 3, hops: 0 }])
      assert.deepEqual(replies(core.receive(8, request(1n, 3))), [{ to: 8, type: 'route-not-found', remaining: 3, hops: 0 }])
      const off = bare({ perPathLoops: false })
      off.core.receive(9, request(1n, 3))
      assert.deepEqual(replies(off.core.receive(8, request(1n, 3))), [{ to: 8, type: 'loop' }])
    })

    it('an operation that ended any other way is still a loop there', () => {
      const { core } = routed({ perPathLoops: true })
      forward(core.receive(9, request(1n, 3)))
      core.response(1n, 1, { type: 'found', source: 1, hops: 0 })
      assert.deepEqual(replies(core.receive(8, request(1n, 3))), [{ to: 8, type: 'loop' }])
      core.receive(9, request(2n, 0, keyAt(0.44)))
      assert.deepEqual(replies(core.receive(8, request(2n, 0, keyAt(0.44)))), [{ to: 8, type: 'loop' }])
      assert.equal(core.stats.loopsRejected, 2)
    })
  })
})

/**
 * Issue 11, finding 2: routes only to verified peers. References to peers the driver has not
 * connected to wait apart from the routing table, bounded per sender and in total, and enter
 * it once the driver reports the peer verified; a join moves its newcomer's join route instead
 * of adding more (one join location per identity).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { AnnounceCore } from '../../src/routing/announce.js'
import { NodeCore } from '../../src/routing/node-core.js'
import { PendingRoutes } from '../../src/routing/pending-routes.js'
import { networkProfile } from '../../src/routing/profiles.js'
import { seededRng } from '../../src/routing/random.js'
import { PLAIN, keyAt } from './harness.js'
import type { NodeCoreOptions } from '../../src/routing/node-core.js'

function core (options: Partial<NodeCoreOptions> = {}): NodeCore<number> {
  return new NodeCore<number>({ self: 0, store: { has: () => false }, rng: seededRng(5), now: () => 0, options: { ...PLAIN, verifiedRoutesOnly: true, ...options } })
}

describe('pending routes', () => {
  it('are bounded per sender (its oldest go) and in total (the oldest go)', () => {
    const p = new PendingRoutes<number>(5, 2)
    p.add(0.1, 10, 1)
    p.add(0.2, 11, 1)
    p.add(0.3, 12, 1)
    assert.equal(p.has(10), false, 'sender 1 over its bound: its oldest went')
    p.add(0.4, 20, 2)
    p.add(0.5, 21, 2)
    p.add(0.6, 30, 3)
    assert.equal(p.size, 5)
    p.add(0.7, 31, 3)
    assert.equal(p.size, 5)
    assert.equal(p.has(11), false, 'over the total: the oldest went')
    assert.deepEqual([12, 20, 21, 30, 31].map((x) => p.has(x)), [true, true, true, true, true])
  })

  it('hand each peer out once for verification, oldest first, and give its routes up when verified', () => {
    const p = new PendingRoutes<number>(10, 10)
    p.add(0.1, 10, 1)
    p.add(0.2, 11, 1)
    p.add(0.3, 10, 2)
    assert.deepEqual(p.next(1), [10])
    assert.deepEqual(p.next(5), [11])
    assert.deepEqual(p.next(5), [])
    assert.deepEqual(p.take(10), [{ loc: 0.1, peer: 10 }, { loc: 0.3, peer: 10 }])
    p.forget(11)
    assert.equal(p.size, 0)
  })
})

describe('routes to verified peers only', () => {
  it('the network profile routes only to verified peers; the simulator\'s references need none', () => {
    assert.equal(networkProfile.core.verifiedRoutesOnly, true)
  })

  it('a route to a peer not verified waits; verification moves it into the table, failure drops it', () => {
    const c = core()
    c.addRoute(0.5, 7, false, 3)
    c.addRoute(0.6, 8, false, 3)
    assert.equal(c.table.size, 0)
    assert.equal(c.pending.size, 2)
    assert.deepEqual(c.peersToVerify(4), [7, 8])
    c.peerVerified(7)
    c.verifyFailed(8)
    assert.deepEqual([...c.table.entries()].map((e) => [e.loc, e.peer]), [[0.5, 7]])
    assert.equal(c.pending.size, 0)
    // Verified now: its next route goes straight in.
    c.addRoute(0.7, 7, false, 3)
    assert.equal(c.table.size, 2)
  })

  it('a pinned neighbour is verified, and its waiting routes come with it', () => {
    const c = core()
    c.addRoute(0.2, 4, false, 9)
    c.addRoute(0.9, 4, true)
    assert.equal(c.table.size, 2)
    assert.equal(c.pending.size, 0)
  })

  it('a flood of references from one sender cannot displace routing entries or other senders\' references', () => {
    const c = core({ pendingRoutes: 16, pendingRoutesPerSender: 4 })
    c.addRoute(0.5, 1, true)
    c.addRoute(0.3, 50, false, 2) // an honest reference from neighbour 2
    for (let i = 0; i < 300; i++) c.addRoute(i / 300, 1000 + i, false, 1)
    assert.deepEqual([...c.table.peerSet()], [1])
    assert.equal(c.pending.size, 5)
    assert.equal(c.pending.has(50), true)
    // Requests route to the neighbour, never to a made-up peer.
    const a = c.receive(null, { kind: 'request', id: 1n, key: keyAt(0.01), htl: 5 })
    assert.equal(a[0].type === 'forward' ? a[0].to : undefined, 1)
  })

  it('a data source a child names waits too, counted against that child', () => {
    const c = core({ pendingRoutesPerSender: 1 })
    c.addRoute(0.5, 1, true)
    c.receive(null, { kind: 'request', id: 1n, key: keyAt(0.45), htl: 5 })
    c.response(1n, 1, { type: 'found', source: 99, hops: 3 })
    assert.equal(c.table.has(99), false)
    assert.equal(c.pending.has(99), true)
  })
})

describe('one join location per newcomer', () => {
  it('a later join of the same newcomer moves its join route', () => {
    const c = new NodeCore<number>({ self: 0, store: { has: () => false }, rng: seededRng(5), now: () => 0, options: PLAIN })
    const a = new AnnounceCore<number>({ self: 0, table: c.table, addRoute: (loc, peer, via) => { c.addRoute(loc, peer, false, via) }, rng: seededRng(6), now: () => 0 })
    c.addRoute(0.9, 5, true) // the newcomer's own (pinned) neighbour entry stays
    assert.equal(a.join(5, { id: 1n, htl: 0, node: 5, loc: 0.25 })[0].type, 'joined')
    assert.equal(a.join(5, { id: 2n, htl: 0, node: 5, loc: 0.75 })[0].type, 'joined')
    assert.equal(a.join(5, { id: 3n, htl: 0, node: 5, loc: 0.9 })[0].type, 'joined')
    assert.deepEqual([...c.table.entries()].map((e) => e.loc).sort((x, y) => x - y), [0.9])
    assert.equal(a.join(6, { id: 4n, htl: 0, node: 6, loc: 0.1 })[0].type, 'joined')
    assert.deepEqual([...c.table.entries()].map((e) => e.loc).sort((x, y) => x - y), [0.1, 0.9])
  })
})

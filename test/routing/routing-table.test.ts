import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { RoutingTable } from '../../src/routing/routing-table.js'
import { NodeCore } from '../../src/routing/node-core.js'
import { seededRng } from '../../src/routing/random.js'
import { distance } from '../../src/keys/routing-key.js'
import { keyAt } from './harness.js'

/** Locations of the table's entries, in slot order. */
function locs<P> (t: RoutingTable<P>): number[] {
  return [...t.entries()].map((e) => e.loc)
}

describe('routing table', () => {
  it('keyAt builds keys at an exact location', () => {
    for (const loc of [0, 0.25, 0.5, 0.999, 1 / 3]) {
      const k = keyAt(loc)
      assert.ok(Math.abs(k.loc - loc) < 2 ** -52, `${k.loc} vs ${loc}`)
    }
    assert.equal(keyAt(0.3, 1).loc, keyAt(0.3, 2).loc)
    assert.notEqual(keyAt(0.3, 1).hex, keyAt(0.3, 2).hex)
  })

  it('spread buckets: a full table evicts the least recently used entry that is not alone in its slice', () => {
    const plain = new RoutingTable<string>(4)
    const spread = new RoutingTable<string>(4, 4)
    for (const t of [plain, spread]) {
      // Oldest first: the only entry in slice [0.75, 1), then three in [0, 0.25).
      t.add(0.8, 'far')
      t.add(0.1, 'a')
      t.add(0.15, 'b')
      t.add(0.2, 'c')
      t.add(0.12, 'new')
    }
    assert.deepEqual(locs(plain).sort((a, b) => a - b), [0.1, 0.12, 0.15, 0.2])
    assert.deepEqual(locs(spread).sort((a, b) => a - b), [0.12, 0.15, 0.2, 0.8])
    assert.equal(spread.closest(0.9), 'far')
    // Counts follow removals: once 'far' is gone, a lone entry at 0.9 is kept and the oldest
    // of the three sharing [0, 0.25) goes.
    spread.removePeer('far')
    spread.add(0.9, 'x')
    spread.add(0.3, 'y')
    assert.deepEqual(locs(spread).sort((a, b) => a - b), [0.12, 0.2, 0.3, 0.9])
    spread.add(0.6, 'z')
    // Every other entry is alone in its slice; the older of the two sharing [0, 0.25) goes.
    assert.deepEqual(locs(spread).sort((a, b) => a - b), [0.12, 0.3, 0.6, 0.9])
    // All entries alone: plain LRU among them.
    spread.add(0.05, 'w')
    assert.deepEqual(locs(spread).sort((a, b) => a - b), [0.05, 0.3, 0.6, 0.9])
  })

  it('chooses the entry closest on the circle, across the 0/1 seam', () => {
    const t = new RoutingTable<string>(10)
    t.add(0.05, 'low')
    t.add(0.85, 'high')
    t.add(0.5, 'mid')
    // Just below 1: 'low' is 0.07 away around the seam, 'high' 0.13 the straight way.
    assert.ok(distance(0.98, 0.05) < distance(0.98, 0.85))
    assert.equal(t.closest(0.98), 'low')
    // Just above 0 the other way round.
    t.add(0.97, 'top')
    assert.equal(t.closest(0.005), 'top')
    assert.equal(t.closest(0.04), 'low')
    assert.equal(t.closest(0.6), 'mid')
    assert.equal(t.closest(0.7), 'high')
    assert.equal(t.closest(0.5), 'mid')
  })

  it('skips excluded peers, including every entry of a peer with several', () => {
    const t = new RoutingTable<string>(10)
    t.add(0.40, 'a')
    t.add(0.41, 'a')
    t.add(0.45, 'b')
    t.add(0.60, 'c')
    assert.equal(t.closest(0.405), 'a')
    assert.equal(t.closest(0.405, (p) => p === 'a'), 'b')
    assert.equal(t.closest(0.405, (p) => p !== 'c'), 'c')
    assert.equal(t.closest(0.405, () => true), undefined)
    assert.equal(new RoutingTable<string>(3).closest(0.5), undefined)
  })

  it('evicts the least recently used entry when full', () => {
    const t = new RoutingTable<number>(3)
    t.add(0.1, 1)
    t.add(0.2, 2)
    t.add(0.3, 3)
    t.add(0.4, 4)
    assert.equal(t.size, 3)
    assert.deepEqual(locs(t).sort((a, b) => a - b), [0.2, 0.3, 0.4])
    // Re-adding 0.2 refreshes it, so 0.3 is now the oldest.
    t.add(0.2, 2)
    t.add(0.5, 5)
    assert.deepEqual(locs(t).sort((a, b) => a - b), [0.2, 0.4, 0.5])
    // touchPeer refreshes every entry of a peer.
    t.touchPeer(4)
    t.add(0.6, 6)
    assert.deepEqual(locs(t).sort((a, b) => a - b), [0.4, 0.5, 0.6])
    assert.equal(t.has(2), false)
    assert.equal(t.size, t.capacity)
  })

  it('repoints an existing location instead of adding a second entry', () => {
    const t = new RoutingTable<string>(4)
    t.add(0.3, 'old')
    t.add(0.7, 'other')
    t.add(0.3, 'new')
    assert.equal(t.size, 2)
    assert.equal(t.closest(0.3), 'new')
    assert.equal(t.has('old'), false)
    assert.deepEqual([...t.peerSet()].sort(), ['new', 'other'])
  })

  it('removePeer drops every entry of that peer and keeps the rest usable', () => {
    const t = new RoutingTable<string>(5)
    t.add(0.1, 'x')
    t.add(0.2, 'y')
    t.add(0.3, 'x')
    t.add(0.4, 'z')
    assert.equal(t.removePeer('x'), 2)
    assert.equal(t.removePeer('x'), 0)
    assert.equal(t.size, 2)
    assert.equal(t.has('x'), false)
    assert.deepEqual(locs(t), [0.2, 0.4])
    assert.equal(t.closest(0.1), 'y')
    assert.equal(t.closest(0.31), 'z')
    for (const [i, loc] of [0.5, 0.6, 0.7].entries()) t.add(loc, `n${i}`)
    assert.equal(t.size, 5)
    assert.equal(t.closest(0.61), 'n1')
  })

  it('spread is a histogram of entry locations', () => {
    const t = new RoutingTable<number>(10)
    const at = [0, 0.0624, 0.0625, 0.5, 0.999]
    at.forEach((loc, i) => { t.add(loc, i) })
    const h = t.spread(16)
    assert.equal(h.length, 16)
    assert.equal(h[0], 2)
    assert.equal(h[1], 1)
    assert.equal(h[8], 1)
    assert.equal(h[15], 1)
    assert.equal(h.reduce((a, b) => a + b, 0), t.size)
    assert.deepEqual(t.spread(2), [3, 2])
  })

  it('pinned entries survive LRU replacement until unpinned', () => {
    const t = new RoutingTable<string>(3)
    t.add(0.1, 'n1', true)
    t.add(0.2, 'n2', true)
    t.add(0.3, 'x')
    t.add(0.4, 'y') // evicts x, the only unpinned entry, though the pinned ones are older
    assert.deepEqual(locs(t).sort((a, b) => a - b), [0.1, 0.2, 0.4])
    t.add(0.5, 'z')
    assert.deepEqual(locs(t).sort((a, b) => a - b), [0.1, 0.2, 0.5])
    t.add(0.5, 'z', true)
    t.add(0.6, 'w') // every entry pinned: the new one is not added
    assert.deepEqual(locs(t).sort((a, b) => a - b), [0.1, 0.2, 0.5])
    t.unpinPeer('n1')
    t.add(0.7, 'v')
    assert.deepEqual(locs(t).sort((a, b) => a - b), [0.2, 0.5, 0.7])
    // removePeer keeps pinned entries only when asked to.
    assert.equal(t.removePeer('n2', true), 0)
    assert.equal(t.removePeer('n2'), 1)
  })

  it('a pin belongs to its peer: repointing the location unpins it', () => {
    const t = new RoutingTable<string>(2)
    t.add(0.1, 'neighbour', true)
    t.add(0.1, 'stranger') // same location, another peer: the pin must not follow
    t.add(0.2, 'a')
    t.add(0.3, 'b') // evicts the oldest unpinned entry: the repointed one
    assert.equal(t.has('stranger'), false)
    assert.deepEqual(locs(t).sort((a, b) => a - b), [0.2, 0.3])
  })

  it('rejects a capacity that is not a positive integer, and spread buckets that are not a non-negative integer', () => {
    assert.throws(() => new RoutingTable(0), /routing table capacity must be a positive integer/)
    assert.throws(() => new RoutingTable(2.5), /routing table capacity must be a positive integer/)
    assert.throws(() => new RoutingTable(2, -1), /spread buckets must be a non-negative integer/)
    assert.throws(() => new RoutingTable(2, 1.5), /spread buckets must be a non-negative integer/)
    assert.equal(new RoutingTable(2, 0).capacity, 2)
    assert.equal(new RoutingTable(1).capacity, 1)
  })

  it('ties go to the earlier slot, in lookups and in LRU replacement', () => {
    const t = new RoutingTable<string>(3)
    t.add(0.4, 'below')
    t.add(0.6, 'above')
    assert.equal(t.closest(0.5), 'below')
    const u = new RoutingTable<string>(3)
    u.add(0.6, 'above')
    u.add(0.4, 'below')
    assert.equal(u.closest(0.5), 'above')
    // touchPeer gives all of a peer's entries one stamp: the earlier slot goes first.
    u.add(0.9, 'above')
    u.touchPeer('below')
    u.touchPeer('above')
    u.touchPeer('below')
    u.add(0.1, 'new')
    assert.deepEqual([...u.entries()].map((e) => [e.loc, e.peer]), [[0.1, 'new'], [0.4, 'below'], [0.9, 'above']], 'the entry at 0.6 (slot 0) went')
  })

  it('spread counts follow every eviction', () => {
    // Two slices. Slice [0, 0.5) holds two entries, slice [0.5, 1) one.
    const t = new RoutingTable<string>(3, 2)
    t.add(0.6, 'lone')
    t.add(0.1, 'a')
    t.add(0.2, 'b')
    t.add(0.3, 'c') // evicts a (oldest that shares its slice); slice 0 still holds two
    assert.deepEqual(locs(t).sort((a, b) => a - b), [0.2, 0.3, 0.6])
    t.add(0.35, 'd') // evicts b: the count of slice 0 must have stayed at two
    assert.deepEqual(locs(t).sort((a, b) => a - b), [0.3, 0.35, 0.6])
    t.add(0.7, 'e') // c, the oldest of the two sharing slice 0, goes; the new entry is not counted yet
    assert.deepEqual(locs(t).sort((a, b) => a - b), [0.35, 0.6, 0.7])
    t.add(0.6, 'lone') // refreshed: now d (alone in slice 0 after two evictions) is the oldest
    t.add(0.8, 'f') // d is alone and stays; of the two in slice 1, e is the older
    assert.deepEqual(locs(t).sort((a, b) => a - b), [0.35, 0.6, 0.8])
  })

  it('with every entry alone in its slice, the least recently used goes', () => {
    const t = new RoutingTable<string>(2, 4)
    t.add(0.1, 'old')
    t.add(0.6, 'young')
    t.add(0.9, 'new')
    assert.deepEqual(locs(t).sort((a, b) => a - b), [0.6, 0.9])
  })

  it('an add refused because every entry is pinned leaves the spread counts alone', () => {
    const t = new RoutingTable<string>(2, 2)
    t.add(0.6, 'b', true)
    t.add(0.1, 'a', true)
    t.add(0.2, 'refused') // not added: would have counted a second entry in slice [0, 0.5)
    assert.equal(t.has('refused'), false)
    t.unpinPeer('a')
    t.unpinPeer('b')
    // Both entries alone in their slices: the least recently used (b) goes.
    t.add(0.7, 'c')
    assert.deepEqual(locs(t).sort((a, b) => a - b), [0.1, 0.7])
  })

  it('a node never routes to itself', () => {
    const core = new NodeCore<number>({ self: 7, store: { has: () => false }, rng: seededRng(1), now: () => 0 })
    core.addRoute(0.5, 7)
    assert.equal(core.table.size, 0)
    core.addRoute(0.5, 8)
    assert.equal(core.table.closest(0.5), 8)
  })
})

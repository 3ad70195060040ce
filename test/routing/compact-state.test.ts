/**
 * The compact per-node state that lets the simulator hold 10^5-10^6 cores
 * (docs/simulation.md, "A million nodes"): it must behave exactly as the plain structures did.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { LazyMap } from '../../src/routing/lazy-map.js'
import { NodeCore } from '../../src/routing/node-core.js'
import { RoutingTable } from '../../src/routing/routing-table.js'
import { seededRng } from '../../src/routing/random.js'

function snapshot (t: RoutingTable<number>): Array<[number, number, number]> {
  return [...t.entries()].map((e) => [e.loc, e.peer, e.lastUsed])
}

describe('compact routing state', () => {
  it('a table of integer peers (Int32Array) behaves exactly as a table of plain peers through random operations', () => {
    const rng = seededRng(7)
    const plain = new RoutingTable<number>(40)
    const packed = new RoutingTable<number>(40, 0, true)
    // A few peers, locations on a coarse grid: repointing, duplicates and evictions all happen.
    const peer = (): number => Math.floor(rng() * 12)
    const loc = (): number => Math.floor(rng() * 60) / 60
    for (let step = 0; step < 5000; step++) {
      const r = rng()
      if (r < 0.55) {
        const [l, p, pin] = [loc(), peer(), rng() < 0.1]
        plain.add(l, p, pin)
        packed.add(l, p, pin)
      } else if (r < 0.65) {
        const p = peer()
        const keep = rng() < 0.5
        assert.equal(packed.removePeer(p, keep), plain.removePeer(p, keep))
      } else if (r < 0.75) {
        const [l, p] = [loc(), peer()]
        assert.equal(packed.remove(l, p), plain.remove(l, p))
      } else if (r < 0.85) {
        const p = peer()
        plain.touchPeer(p)
        packed.touchPeer(p)
      } else if (r < 0.9) {
        const p = peer()
        plain.unpinPeer(p)
        packed.unpinPeer(p)
      } else {
        const target = rng()
        const odd = (p: number): boolean => p % 2 === 1
        assert.equal(packed.closest(target), plain.closest(target))
        assert.equal(packed.closest(target, odd), plain.closest(target, odd))
      }
      assert.deepEqual(snapshot(packed), snapshot(plain), `step ${step}`)
    }
    assert.ok(plain.size > 20, 'the walk filled the table')
  })

  it('grows its arrays up to the capacity without losing an entry, then evicts the least recently used', () => {
    for (const packed of [false, true]) {
      const t = new RoutingTable<number>(250, 0, packed)
      for (let i = 0; i < 250; i++) t.add(i / 250, i, i === 0)
      assert.equal(t.size, 250)
      for (let i = 0; i < 250; i++) assert.equal(t.closest(i / 250), i)
      t.add(0.9999, 1000)
      // Entry 0 is pinned: the oldest unpinned one, peer 1, goes.
      assert.equal(t.has(0), true)
      assert.equal(t.has(1), false)
      assert.equal(t.closest(0.9999), 1000)
      assert.ok([...t.entries()].every((e) => e.lastUsed > 0), 'stamps read back positive, pinned or not')
    }
  })

  it('a table of integer peers refuses a peer it cannot hold', () => {
    const t = new RoutingTable<number>(4, 0, true)
    assert.throws(() => { t.add(0.5, 1.5) }, /integer peers/)
    assert.throws(() => { t.add(0.5, -1) }, /integer peers/)
    assert.throws(() => { t.add(0.5, 2 ** 31) }, /integer peers/)
  })

  it('LazyMap keeps insertion order across emptying and refilling', () => {
    const m = new LazyMap<string, number>()
    assert.equal(m.size, 0)
    assert.equal(m.oldestKey(), undefined)
    m.set('a', 1).set('b', 2).set('a', 3)
    assert.deepEqual([...m.entries()], [['a', 3], ['b', 2]])
    assert.equal(m.oldestKey(), 'a')
    assert.equal(m.delete('a'), true)
    assert.equal(m.delete('a'), false)
    assert.equal(m.oldestKey(), 'b')
    assert.equal(m.delete('b'), true)
    assert.equal(m.size, 0)
    assert.equal(m.has('b'), false)
    m.set('c', 4)
    m.set('b', 5)
    assert.deepEqual([...m.entries()], [['c', 4], ['b', 5]])
    assert.equal(m.get('b'), 5)
  })

  it('cores given one frozen options object share it; an unfrozen one is copied', () => {
    const init = { store: { has: () => false }, rng: seededRng(1), now: () => 0 }
    const frozen = Object.freeze({ maxHtl: 7 })
    const a = new NodeCore<number>({ ...init, self: 0, options: frozen })
    const b = new NodeCore<number>({ ...init, self: 1, options: frozen })
    assert.equal(a.options, b.options)
    assert.equal(a.options.maxHtl, 7)
    assert.ok(Object.isFrozen(a.options))
    const loose: { maxHtl: number } = { maxHtl: 7 }
    const c = new NodeCore<number>({ ...init, self: 2, options: loose })
    loose.maxHtl = 9
    const d = new NodeCore<number>({ ...init, self: 3, options: loose })
    assert.equal(c.options.maxHtl, 7, 'a later change to the caller\'s object does not reach the core')
    assert.equal(d.options.maxHtl, 9)
  })
})

import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Harness, PLAIN, keyAt } from './harness.js'
import { NodeCore, DEFAULT_CORE_OPTIONS, type Action, type NodeCoreOptions } from '../../src/routing/node-core.js'
import { seededRng } from '../../src/routing/random.js'

const KEY = keyAt(0.5)

/** A bare core with one route (to peer -1), for driving `receive` directly. */
function bareCore (seed: number, options: Partial<NodeCoreOptions>): NodeCore<number> {
  const core = new NodeCore<number>({ self: -2, store: { has: () => false }, rng: seededRng(seed), now: () => 0, options })
  core.addRoute(0.5, -1)
  return core
}

/** The HTL of the single forward in `actions`. */
function forwardedHtl (actions: Array<Action<number>>): number {
  assert.equal(actions.length, 1)
  const a = actions[0]
  assert.equal(a.type, 'forward')
  return a.type === 'forward' ? a.htl : NaN
}

/** |observed - p| is within `sigmas` binomial standard deviations for n trials. */
function assertFraction (hits: number, n: number, p: number, what: string, sigmas = 5): void {
  const tolerance = sigmas * Math.sqrt(p * (1 - p) / n)
  assert.ok(Math.abs(hits / n - p) <= tolerance, `${what}: ${hits}/${n} = ${hits / n}, expected ${p} ± ${tolerance.toFixed(3)}`)
}

describe('hops-to-live', () => {
  it('decrements by one per hop; DataNotFound at HTL 0 goes straight back without further tries', () => {
    const htl = 5
    const length = 8
    const h = new Harness({ nodes: 2 * length, options: PLAIN })
    const path = Array.from({ length }, (_, i) => i)
    h.chain(path, 0.5)
    for (const i of path) h.link(i, length + i, 0.8) // an untried second choice everywhere
    const reply = h.request(0, KEY, htl)

    const expected = [`client>0 request htl=${htl}`]
    for (let i = 0; i < htl; i++) expected.push(`${i}>${i + 1} request htl=${htl - 1 - i}`)
    for (let i = htl; i > 0; i--) expected.push(`${i}>${i - 1} not-found hops=${htl - i}`)
    expected.push(`0>client not-found hops=${htl}`)
    assert.deepEqual(h.trace(), expected)
    assert.deepEqual(reply, { type: 'not-found', hops: htl })
    assert.ok(h.log.every((d) => d.type !== 'forward' || d.to < length), 'no second choice was tried')
  })

  it('caps an excessive HTL at maxHtl, from a client or from a peer', () => {
    const maxHtl = 6
    const h = new Harness({ nodes: 4, options: { ...PLAIN, maxHtl } })
    h.chain([0, 1, 2], 0.5)
    h.put(2, KEY)
    h.request(0, KEY, 50)
    h.inject(3, 1, { id: 77n, kind: 'request', key: keyAt(0.5, 1), htl: 1000 })
    h.run()
    const htls = h.log.flatMap((d) => d.type === 'forward' && d.from !== null ? [`${d.from}>${d.to}:${d.htl}`] : [])
    assert.deepEqual(htls, [`0>1:${maxHtl - 1}`, `1>2:${maxHtl - 2}`, '3>1:1000', `1>2:${maxHtl - 1}`])
  })

  it('HTL 0 still checks the store but goes no further', () => {
    const h = new Harness({ nodes: 2, options: PLAIN })
    h.link(0, 1, 0.5)
    assert.deepEqual(h.request(0, KEY, 0), { type: 'not-found', hops: 0 })
    assert.equal(h.sent(1n), 0)
    h.put(0, keyAt(0.5, 1))
    assert.equal(h.request(0, keyAt(0.5, 1), 0).type, 'found')
  })

  it('without probabilistic HTL every hop decrements, at the maximum and at 1 too', () => {
    const core = bareCore(1, { probabilisticHtl: false, maxHtl: 10 })
    for (let p = 0; p < 50; p++) {
      assert.equal(core.nextHtl(10, p), 9)
      assert.equal(core.nextHtl(1, p), 0)
      assert.equal(core.nextHtl(5, p), 4)
    }
  })

  for (const [atMax, atMin] of [[DEFAULT_CORE_OPTIONS.decrementAtMaxProb, DEFAULT_CORE_OPTIONS.decrementAtMinProb], [0.8, 0.1]]) {
    it(`probabilistic decrement is decided once per upstream peer (at max ${atMax}, at 1 ${atMin})`, () => {
      const maxHtl = 10
      const core = bareCore(2, { probabilisticHtl: true, maxHtl, decrementAtMaxProb: atMax, decrementAtMinProb: atMin })
      const peers = 4000
      let decMax = 0
      let decMin = 0
      let both = 0
      for (let p = 0; p < peers; p++) {
        const top = core.nextHtl(maxHtl, p)
        const bottom = core.nextHtl(1, p)
        assert.ok(top === maxHtl || top === maxHtl - 1)
        assert.ok(bottom === 0 || bottom === 1)
        for (let again = 0; again < 3; again++) {
          assert.equal(core.nextHtl(maxHtl, p), top, `peer ${p} changed its mind at max`)
          assert.equal(core.nextHtl(1, p), bottom, `peer ${p} changed its mind at 1`)
        }
        assert.equal(core.nextHtl(maxHtl - 3, p), maxHtl - 4, 'between the ends HTL always decrements')
        if (top < maxHtl) decMax++
        if (bottom < 1) decMin++
        if (top < maxHtl && bottom < 1) both++
      }
      assertFraction(decMax, peers, atMax, 'decrement at max')
      assertFraction(decMin, peers, atMin, 'decrement at 1')
      assertFraction(both, peers, atMax * atMin, 'the two decisions are independent')
    })
  }

  it('messages from one upstream peer are always forwarded with the same HTL', () => {
    const maxHtl = 10
    const core = bareCore(3, { ...PLAIN, probabilisticHtl: true, maxHtl })
    let id = 0n
    const outcomes = { max: new Set<number>(), min: new Set<number>() }
    for (let peer = 100; peer < 200; peer++) {
      const atMax = new Set<number>()
      const atMin = new Set<number>()
      for (let r = 0; r < 3; r++) {
        atMax.add(forwardedHtl(core.receive(peer, { kind: 'request', id: ++id, key: KEY, htl: maxHtl })))
        atMin.add(forwardedHtl(core.receive(peer, { kind: 'insert', id: ++id, key: KEY, htl: 1 })))
      }
      assert.equal(atMax.size, 1, `peer ${peer} at max: ${[...atMax]}`)
      assert.equal(atMin.size, 1, `peer ${peer} at 1: ${[...atMin]}`)
      outcomes.max.add([...atMax][0])
      outcomes.min.add([...atMin][0])
    }
    assert.deepEqual([...outcomes.max].sort((x, y) => x - y), [maxHtl - 1, maxHtl])
    assert.deepEqual([...outcomes.min].sort((x, y) => x - y), [0, 1])
  })

  it("a node's own requests get the same treatment, decided once per node", () => {
    // Otherwise a peer that receives maxHtl - 1 knows it came straight from the originator.
    const maxHtl = 10
    const nodes = 2000
    let keptMax = 0
    let keptMin = 0
    for (let seed = 0; seed < nodes; seed++) {
      const core = bareCore(seed, { ...PLAIN, probabilisticHtl: true, maxHtl })
      const top = forwardedHtl(core.receive(null, { kind: 'request', id: 1n, key: KEY, htl: maxHtl }))
      const bottom = forwardedHtl(core.receive(null, { kind: 'request', id: 2n, key: KEY, htl: 1 }))
      assert.equal(forwardedHtl(core.receive(null, { kind: 'request', id: 3n, key: KEY, htl: maxHtl })), top)
      assert.equal(forwardedHtl(core.receive(null, { kind: 'request', id: 4n, key: KEY, htl: 1 })), bottom)
      if (top === maxHtl) keptMax++
      if (bottom === 1) keptMin++
    }
    assertFraction(keptMax, nodes, 1 - DEFAULT_CORE_OPTIONS.decrementAtMaxProb, 'own requests kept at max')
    assertFraction(keptMin, nodes, 1 - DEFAULT_CORE_OPTIONS.decrementAtMinProb, 'own requests kept at 1')
  })
})

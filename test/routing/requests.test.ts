import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Harness, PLAIN, keyAt } from './harness.js'
import { seededRng } from '../../src/routing/random.js'
import type { NodeCoreOptions, Reply } from '../../src/routing/node-core.js'

const KEY = keyAt(0.5)


describe('requests: closest-first routing and backtracking', () => {
  it('forwards to the closest not-yet-tried peer, then the next-closest, and ends with RouteNotFound', () => {
    const h = new Harness({ nodes: 4, options: PLAIN })
    h.link(0, 1, 0.2)
    h.link(0, 2, 0.45)
    h.link(0, 3, 0.7)
    h.link(2, 0, 0.5) // the upstream is never a candidate
    const reply = h.request(0, KEY, 5)
    assert.deepEqual(h.trace(), [
      'client>0 request htl=5',
      '0>2 request htl=4',
      '2>0 route-not-found remaining=4 hops=0',
      '0>3 request htl=3',
      '3>0 route-not-found remaining=3 hops=0',
      '0>1 request htl=2',
      '1>0 route-not-found remaining=2 hops=0',
      '0>client route-not-found remaining=2 hops=3'
    ])
    assert.deepEqual(reply, { type: 'route-not-found', remaining: 2, hops: 3 })
    assert.equal(h.cores[0].activeOps, 0)
    assert.equal(h.cores[0].stats.local.requests.failure, 1)
  })

  it('spends the HTL a dead end returns on the next candidate', () => {
    const h = new Harness({ nodes: 5, options: PLAIN })
    h.chain([0, 1, 2, 3], 0.5)
    h.link(1, 4, 0.6) // 1's second choice
    h.put(4, KEY)
    const reply = h.request(0, KEY, 10)
    assert.deepEqual(h.trace(), [
      'client>0 request htl=10',
      '0>1 request htl=9',
      '1>2 request htl=8',
      '2>3 request htl=7',
      '3>2 route-not-found remaining=7 hops=0',
      '2>1 route-not-found remaining=7 hops=1',
      '1>4 request htl=6',
      '4>1 found source=4 hops=0',
      '1>0 found source=4 hops=3',
      '0>client found source=4 hops=4'
    ])
    assert.equal(reply.type, 'found')
  })

  it('never gives the next candidate more HTL than the previous child was given', () => {
    // A child may claim more remaining HTL than it was sent; the parent does not believe it.
    const h = new Harness({ nodes: 4, options: PLAIN })
    h.link(0, 1, 0.5)
    h.link(0, 2, 0.6)
    h.put(2, KEY)
    const id = h.start(0, 'request', KEY, 6)
    h.step() // client>0: node 0 forwards to 1 with HTL 5; 1 is answered by hand below
    const actions = h.cores[0].response(id, 1, { type: 'route-not-found', remaining: 50, hops: 0 })
    assert.deepEqual(actions.map((a) => a.type === 'forward' ? [a.to, a.htl] : a.type), [[2, 4]])
  })

  it('RejectedLoop moves on to the next candidate, costing a hop only with loopCostsHop', () => {
    for (const loopCostsHop of [true, false]) {
      const h = new Harness({ nodes: 4, options: { ...PLAIN, loopCostsHop } })
      h.chain([0, 1, 2], 0.5)
      h.link(2, 0, 0.5) // 2's best route leads back to the originator
      h.link(2, 3, 0.7)
      h.put(3, KEY)
      const reply = h.request(0, KEY, 10)
      const next = loopCostsHop ? 6 : 7
      assert.deepEqual(h.trace(), [
        'client>0 request htl=10',
        '0>1 request htl=9',
        '1>2 request htl=8',
        '2>0 request htl=7',
        '0>2 loop',
        `2>3 request htl=${next}`,
        '3>2 found source=3 hops=0',
        '2>1 found source=3 hops=2',
        '1>0 found source=3 hops=3',
        '0>client found source=3 hops=4'
      ], `loopCostsHop=${String(loopCostsHop)}`)
      assert.equal(reply.type, 'found')
      assert.equal(h.cores[0].stats.loopsRejected, 1)
    }
  })

  /** Node 0 with two candidates for KEY: 1 (first choice), and 2, which has the data. */
  const twoCandidates = (options: Partial<NodeCoreOptions>): Harness => {
    const h = new Harness({ nodes: 3, options })
    h.link(0, 1, 0.49)
    h.link(0, 2, 0.6)
    h.put(2, KEY)
    return h
  }

  it('a timeout costs a hop and moves on to the next candidate', () => {
    const h = twoCandidates(PLAIN)
    h.silent.add(1)
    const reply = h.request(0, KEY, 5)
    assert.deepEqual(h.trace(), [
      'client>0 request htl=5',
      '0>1 request htl=4',
      '1>0 failed timeout',
      '1>0 route-not-found remaining=4 hops=0 (dropped)',
      '0>2 request htl=3',
      '2>0 found source=2 hops=0',
      '0>client found source=2 hops=2'
    ])
    assert.equal(reply.type, 'found')
    assert.equal(h.cores[0].table.has(1), true, 'a slow peer keeps its entries')
  })

  it('an unreachable peer costs no hop, is dropped from the table, and the next candidate is tried', () => {
    for (const dropUnreachable of [true, false]) {
      const h = twoCandidates({ ...PLAIN, dropUnreachable })
      h.down.add(1)
      const reply = h.request(0, KEY, 5)
      assert.deepEqual(h.trace(), [
        'client>0 request htl=5',
        '0>1 request htl=4 (down)',
        '1>0 failed unreachable',
        '0>2 request htl=4',
        '2>0 found source=2 hops=0',
        '0>client found source=2 hops=1'
      ])
      assert.equal(reply.type, 'found')
      assert.equal(h.cores[0].table.has(1), !dropUnreachable)
    }
  })

  it('an unreachable connected neighbour keeps its pinned entries; forged data drops the peer', () => {
    const h = twoCandidates(PLAIN)
    h.cores[0].addRoute(0.3, 1, true) // 1 is also a connected neighbour
    h.down.add(1)
    assert.equal(h.request(0, KEY, 5).type, 'found')
    assert.deepEqual([...h.cores[0].table.entries()].filter((e) => e.peer === 1).map((e) => e.loc), [0.3])

    const id = h.start(0, 'request', keyAt(0.31), 5)
    h.step() // 0 forwards to 1 (its pinned entry is the closest)
    const next = h.cores[0].response(id, 1, { type: 'failed', reason: 'invalid' })
    assert.equal(h.cores[0].table.has(1), false, 'a peer that sent invalid data is dropped entirely')
    assert.deepEqual(next.map((a) => a.type === 'forward' ? [a.to, a.htl] : a.type), [[2, 3]], 'and it cost a hop')
  })

  it('reproduces Fig. 1 of the paper: backtracking, a loop, and caching on e, b and a', () => {
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g']
    const [a, b, c, d, e, f, g] = names.map((_, i) => i)
    const h = new Harness({ nodes: names.length, options: PLAIN })
    h.link(a, b, 0.5)
    h.link(b, c, 0.51) // b's first choice
    h.link(b, e, 0.53) // b's second choice
    h.link(b, a, 0.9)
    h.link(c, g, 0.501) // c "is unable to contact any other nodes": g is down
    h.link(c, b, 0.3)
    h.link(e, f, 0.505) // e's first choice
    h.link(e, d, 0.52) // e's second choice
    h.link(e, b, 0.2)
    h.link(f, b, 0.49) // f's only way on leads back to b
    h.link(f, e, 0.7)
    h.link(d, e, 0.1)
    h.put(d, KEY)
    h.down.add(g)

    const reply = h.request(a, KEY, 10)
    const trace = h.trace(undefined, names)
    assert.deepEqual(trace, [
      'client>a request htl=10',
      'a>b request htl=9',
      'b>c request htl=8',
      'c>g request htl=7 (down)',
      'g>c failed unreachable',
      'c>b route-not-found remaining=8 hops=0',
      'b>e request htl=7',
      'e>f request htl=6',
      'f>b request htl=5',
      'b>f loop',
      'f>e route-not-found remaining=5 hops=1',
      'e>d request htl=4',
      'd>e found source=d hops=0',
      'e>b found source=d hops=3',
      'b>a found source=d hops=5',
      'a>client found source=d hops=6'
    ])
    // The twelve messages of the figure, in its numbering.
    const figure = ['a>b', 'b>c', 'c>b', 'b>e', 'e>f', 'f>b', 'b>f', 'f>e', 'e>d', 'd>e', 'e>b', 'b>a']
    assert.deepEqual(trace.map((l) => l.split(' ')[0]).filter((m) => !m.includes('client') && !m.includes('g')), figure)

    assert.deepEqual(reply, { type: 'found', source: d, hops: 6, fromStore: false })
    assert.deepEqual(h.holders(KEY), [a, b, d, e], 'cached on e, b and a; not on c or f')
    for (const n of [a, b, e]) assert.equal(h.routeFor(n, KEY), d, `${names[n]} routes the key to d`)
    assert.equal(h.cores[c].table.has(g), false, 'c forgot the unreachable g')
    for (const core of h.cores) assert.equal(core.activeOps, 0)

    // Asked again, a answers from its own store.
    assert.deepEqual(h.request(a, KEY, 10), { type: 'found', source: a, hops: 0, fromStore: true })
  })
})

/** N nodes, each but every tenth (dead ends) with `degree` routes at random locations to random other nodes. */
function randomNetwork (n: number, degree: number, seed: number, options: Partial<NodeCoreOptions>): Harness {
  const h = new Harness({ nodes: n, seed, options })
  const rng = seededRng(seed)
  for (let i = 0; i < n; i++) {
    if (i % 10 === 0) continue
    for (let k = 0; k < degree; k++) {
      const to = Math.floor(rng() * n)
      if (to !== i) h.link(i, to, rng())
    }
  }
  return h
}

describe('hops accounting', () => {
  const settings: Array<[string, Partial<NodeCoreOptions>]> = [
    ['plain', PLAIN],
    ['probabilistic HTL, reset, no loop cost', { probabilisticHtl: true, maxHtl: 8, sourceResetProb: 0.3, loopCostsHop: false, hopTimeoutMs: null }]
  ]
  for (const [name, options] of settings) {
    it(`hops equals the forward messages actually sent (${name})`, () => {
      const h = randomNetwork(40, 2, 7, options)
      const rng = seededRng(99)
      const keys = Array.from({ length: 30 }, (_, i) => keyAt(rng(), i))
      for (const k of keys) h.put(Math.floor(rng() * 40), k)
      for (let i = 0; i < 4; i++) h.down.add(1 + i * 9)
      const seen = new Map<string, number>()
      for (let i = 0; i < 300; i++) {
        let origin = Math.floor(rng() * 40)
        while (h.down.has(origin) || origin % 10 === 0) origin = (origin + 1) % 40
        const insert = i % 5 === 4
        // Half the inserts propose keys that exist already (collisions).
        const key = insert && i % 10 === 4 ? keyAt(rng(), 1000 + i) : keys[Math.floor(rng() * keys.length)]
        const id = h.start(origin, insert ? 'insert' : 'request', key, 1 + Math.floor(rng() * 15))
        h.run()
        const replies = h.client.filter((c) => c.id === id).map((c) => c.reply)
        const routed: Reply<number> = replies[0]
        assert.ok(routed !== undefined && 'hops' in routed, `op ${id} got ${JSON.stringify(replies, (_, v) => typeof v === 'bigint' ? String(v) : v)}`)
        assert.equal(routed.hops, h.sent(id), `op ${id}: ${h.trace(id).join(' | ')}`)
        seen.set(routed.type, (seen.get(routed.type) ?? 0) + 1)
      }
      // The workload exercised every kind of outcome.
      for (const t of ['found', 'not-found', 'route-not-found', 'all-clear', 'collision']) assert.ok((seen.get(t) ?? 0) > 0, `no ${t} in ${[...seen]}`)
      const sent = h.log.filter((d) => d.type === 'forward' && d.from !== null).length
      assert.equal(h.cores.reduce((s, c) => s + c.stats.forwarded, 0), sent)
      assert.ok(h.log.some((d) => d.type === 'reply' && d.reply.type === 'loop'), 'some loops were rejected')
      for (const core of h.cores) assert.equal(core.activeOps, 0)
    })
  }
})

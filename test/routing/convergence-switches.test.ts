import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Harness, PLAIN, keyAt } from './harness.js'

const KEY = keyAt(0.5)

/**
 * The core switches the simulator's convergence study introduced (docs/simulation.md, "Beat
 * them"): each changes one step of the routing state machine; their defaults keep the
 * original behaviour.
 */
describe('convergence switches', () => {
  /**
   * 0 -> 1 -> 2 is the best path, but 2 is a dead end (its routes lead back to 1 and to 0,
   * which rejects the insert as a loop); 1's second choice is 3.
   */
  const deadEnd = (insertBacktrack: boolean, insertBacktrackBelowHtl = Infinity): Harness => {
    const h = new Harness({ nodes: 4, options: { ...PLAIN, loopCostsHop: false, insertBacktrack, insertBacktrackBelowHtl } })
    h.chain([0, 1, 2], 0.5)
    h.link(2, 1, 0.5)
    h.link(2, 0, 0.55)
    h.link(1, 3, 0.6)
    return h
  }

  it('insertBacktrack off: an insert dead end ends the path there', () => {
    const h = deadEnd(false)
    h.insert(0, KEY, 3)
    assert.deepEqual(h.holders(KEY), [0, 1, 2])
  })

  it('insertBacktrack on: a dead end answers RouteNotFound and the parent spends the HTL on its next candidate', () => {
    const h = deadEnd(true)
    const replies = h.insert(0, KEY, 3)
    assert.deepEqual(h.trace(), [
      'client>0 insert htl=3',
      '0>1 insert htl=2',
      '1>2 insert htl=1',
      '2>0 insert htl=0',
      '0>2 loop',
      '2>1 route-not-found remaining=1 hops=1',
      '1>3 insert htl=0',
      '3>1 all-clear depth=1 remaining=0 hops=0',
      '1>0 all-clear depth=2 remaining=0 hops=3',
      '0>client all-clear depth=3 remaining=0 hops=4',
      'client>0 data',
      '0>1 data',
      '1>3 data',
      '3>1 stored stored=1',
      '1>0 stored stored=2',
      '0>client stored stored=3'
    ])
    assert.equal(replies[replies.length - 1].type, 'stored')
    assert.deepEqual(h.holders(KEY), [0, 1, 3], 'the dead end is not on the path and does not store')
    for (const core of h.cores) assert.equal(core.activeOps, 0)
  })

  /** 0 -> 1 -> 2, and 2's other route leads back to 0: every branch ends in a loop. */
  const triangle = (insertBacktrackBelowHtl: number): Harness => {
    const h = new Harness({ nodes: 3, options: { ...PLAIN, loopCostsHop: false, insertBacktrack: true, insertBacktrackBelowHtl } })
    h.chain([0, 1, 2], 0.5)
    h.link(2, 0, 0.55)
    return h
  }

  it('insertBacktrack on: an insert that backtracks home ends stored at its originator only', () => {
    const h = triangle(Infinity)
    const replies = h.insert(0, KEY, 5)
    assert.deepEqual(replies.map((r) => r.type), ['all-clear', 'stored'])
    assert.deepEqual(h.holders(KEY), [0])
  })

  it('insertBacktrack on: a lone dead end (no peer but its sender) stores instead of sending the insert home', () => {
    const h = new Harness({ nodes: 2, options: { ...PLAIN, insertBacktrack: true } })
    h.link(0, 1, 0.5)
    const replies = h.insert(0, KEY, 5)
    assert.deepEqual(replies.map((r) => r.type), ['all-clear', 'stored'])
    assert.deepEqual(h.holders(KEY), [0, 1])
  })

  it('insertBacktrackBelowHtl: a dead end that got the start HTL or one less ends the path there, deeper ones still backtrack', () => {
    // 1 got HTL 4 (not below 4): it ends the path instead of passing 2's RouteNotFound home.
    const h = triangle(4)
    const replies = h.insert(0, KEY, 5)
    assert.deepEqual(replies.map((r) => r.type), ['all-clear', 'stored'])
    assert.ok(h.trace().includes('2>1 route-not-found remaining=3 hops=1'), h.trace().join('\n'))
    assert.deepEqual(h.holders(KEY), [0, 1])
    // The dead end 2 got HTL 1 (below 2): it backtracks and 1 tries 3, as with plain backtracking.
    const d = deadEnd(true, 2)
    d.insert(0, KEY, 3)
    assert.ok(d.trace().includes('2>1 route-not-found remaining=1 hops=1'), d.trace().join('\n'))
    assert.deepEqual(d.holders(KEY), [0, 1, 3])
  })

  /** The network profile's insert switches (per-path loops: a node that backtracked forgot the ID). */
  const HAND_OFF = { ...PLAIN, loopCostsHop: false, perPathLoops: true, insertBacktrack: true, insertHomeHandOff: true, clientCache: true }

  it('insertHomeHandOff: an own insert that comes home is handed to the nearest peer at HTL 0, whatever its start HTL', () => {
    for (const htl of [3, 6, 20]) {
      const h = new Harness({ nodes: 3, options: { ...HAND_OFF } })
      h.chain([0, 1, 2], 0.5)
      h.link(2, 0, 0.55)
      const replies = h.insert(0, KEY, htl)
      const trace = h.trace().join('\n')
      assert.ok(trace.includes('1>0 route-not-found'), trace)
      assert.ok(trace.includes('0>1 insert htl=0'), `htl ${htl}: handed to the nearest peer at HTL 0\n${trace}`)
      assert.deepEqual(replies.map((r) => r.type), ['all-clear', 'stored'])
      assert.deepEqual(h.holders(KEY), [1], `htl ${htl}: stored on a peer that serves it, not only in the originator's client cache`)
      assert.ok(h.clientCaches[0].has(KEY.hex))
      for (const core of h.cores) assert.equal(core.activeOps, 0)
    }
  })

  it('insertHomeHandOff: a peer that fails is skipped; with no peer left the own insert fails (RouteNotFound: the driver tries again)', () => {
    const h = new Harness({ nodes: 3, options: { ...HAND_OFF } })
    h.chain([0, 1, 2], 0.5)
    h.down.add(2)
    // 1 is a dead end (2 is down), but not a lone one: it backtracks; 0 then hands off to 1.
    h.insert(0, KEY, 4)
    assert.deepEqual(h.holders(KEY), [1])
    const alone = new Harness({ nodes: 2, options: { ...HAND_OFF } })
    alone.link(0, 1, 0.5)
    alone.down.add(1)
    const replies = alone.insert(0, KEY, 4)
    assert.equal(replies[replies.length - 1].type, 'route-not-found')
    assert.deepEqual(alone.holders(KEY), [])
  })

  it('insertRouteTo: entries point at the inserter (source) or at each node\'s child on the path (downstream)', () => {
    for (const insertRouteTo of ['source', 'downstream'] as const) {
      const h = new Harness({ nodes: 4, options: { ...PLAIN, insertRouteTo } })
      h.chain([0, 1, 2, 3], 0.5)
      h.insert(0, KEY, 3)
      assert.deepEqual(h.holders(KEY), [0, 1, 2, 3])
      const routes = [0, 1, 2, 3].map((i) => h.routeFor(i, KEY))
      // Node 3 ends the path: it has no child and points at the data source either way.
      const expected = insertRouteTo === 'source' ? [1, 0, 0, 0] : [1, 2, 3, 0]
      assert.deepEqual(routes, expected, insertRouteTo)
    }
  })

  it('insertOriginSource other: the originator names another node of its table, never itself nor the child', () => {
    const h = new Harness({ nodes: 5, options: { ...PLAIN, insertOriginSource: 'other', sourceResetProb: 0 } })
    h.chain([0, 1, 2, 3], 0.5)
    h.link(0, 4, 0.9)
    h.insert(0, KEY, 3)
    assert.deepEqual(h.holders(KEY), [0, 1, 2, 3])
    const sources = h.log.flatMap((d) => d.type === 'forward' && d.kind === 'insert' ? [`${d.from ?? 'client'}>${d.to} ${String(d.source)}`] : [])
    assert.deepEqual(sources, ['client>0 undefined', '0>1 4', '1>2 4', '2>3 4'])
    assert.deepEqual([1, 2, 3].map((i) => h.routeFor(i, KEY)), [4, 4, 4], 'no entry points at the originator')
  })

  it('insertOriginSource near: the originator names its entry nearest the key after the child, never itself nor the child', () => {
    const h = new Harness({ nodes: 6, options: { ...PLAIN, insertOriginSource: 'near', sourceResetProb: 0 } })
    h.chain([0, 1, 2, 3], 0.5)
    // Node 0 knows 4 (entry at 0.9, far from the key) and 5 (0.45, its second choice after 1).
    h.link(0, 4, 0.9)
    h.link(0, 5, 0.45)
    h.insert(0, KEY, 3)
    assert.deepEqual(h.holders(KEY), [0, 1, 2, 3])
    const sources = h.log.flatMap((d) => d.type === 'forward' && d.kind === 'insert' ? [`${d.from ?? 'client'}>${d.to} ${String(d.source)}`] : [])
    assert.deepEqual(sources, ['client>0 undefined', '0>1 5', '1>2 5', '2>3 5'])
    assert.deepEqual([1, 2, 3].map((i) => h.routeFor(i, KEY)), [5, 5, 5], 'no entry points at the originator')
  })

  it('clientCache: the node\'s own request and insert store in the client cache, relays in the store', () => {
    for (const clientCache of [false, true]) {
      const chain = (): Harness => {
        const h = new Harness({ nodes: 3, options: { ...PLAIN, clientCache } })
        h.chain([0, 1, 2], 0.5)
        return h
      }
      const ins = chain()
      ins.insert(0, KEY, 3)
      assert.deepEqual(ins.holders(KEY), clientCache ? [1, 2] : [0, 1, 2], `insert, clientCache ${String(clientCache)}`)
      const req = chain()
      req.put(2, KEY)
      assert.equal(req.request(0, KEY, 3).type, 'found')
      assert.deepEqual(req.holders(KEY), clientCache ? [1, 2] : [0, 1, 2], `request, clientCache ${String(clientCache)}`)
      for (const h of [ins, req]) assert.deepEqual([...h.clientCaches[0]], clientCache ? [KEY.hex] : [])
    }
  })

  it('perPathLoops: a node the request backtracked out of may be reached again by another branch', () => {
    for (const perPathLoops of [false, true]) {
      // 0 tries 1 (a dead end), then 2, whose only route leads to 1 again.
      const h = new Harness({ nodes: 3, options: { ...PLAIN, perPathLoops } })
      h.link(0, 1, 0.5)
      h.link(0, 2, 0.6)
      h.link(2, 1, 0.5)
      const reply = h.request(0, KEY, 10)
      assert.deepEqual(h.trace(), [
        'client>0 request htl=10',
        '0>1 request htl=9',
        '1>0 route-not-found remaining=9 hops=0',
        '0>2 request htl=8',
        '2>1 request htl=7',
        perPathLoops ? '1>2 route-not-found remaining=7 hops=0' : '1>2 loop',
        '2>0 route-not-found remaining=7 hops=1',
        '0>client route-not-found remaining=7 hops=3'
      ], `perPathLoops=${String(perPathLoops)}`)
      assert.equal(reply.type, 'route-not-found')
      assert.equal(h.cores[1].stats.loopsRejected, perPathLoops ? 0 : 1)
    }
  })
})

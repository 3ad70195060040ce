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
  /** 0 -> 1 -> 2 is the best path, but 2 is a dead end (its only route leads back to 1); 1's second choice is 3. */
  const deadEnd = (insertBacktrack: boolean): Harness => {
    const h = new Harness({ nodes: 4, options: { ...PLAIN, insertBacktrack } })
    h.chain([0, 1, 2], 0.5)
    h.link(2, 1, 0.5)
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
      '2>1 route-not-found remaining=1 hops=0',
      '1>3 insert htl=0',
      '3>1 all-clear depth=1 remaining=0 hops=0',
      '1>0 all-clear depth=2 remaining=0 hops=2',
      '0>client all-clear depth=3 remaining=0 hops=3',
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

  it('insertBacktrack on: the originator still ends the path when every branch dead-ends', () => {
    const h = new Harness({ nodes: 2, options: { ...PLAIN, insertBacktrack: true } })
    h.link(0, 1, 0.5)
    const replies = h.insert(0, KEY, 5)
    assert.deepEqual(replies.map((r) => r.type), ['all-clear', 'stored'])
    assert.deepEqual(h.holders(KEY), [0])
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

import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Harness, PLAIN, keyAt } from './harness.js'
import type { NodeCoreOptions } from '../../src/routing/node-core.js'
import type { RoutingKey } from '../../src/keys/routing-key.js'


/** A chain 0 -> 1 -> ... -> n-1 towards `key`, with the block on the last node. */
function chainWithData (n: number, key: RoutingKey, options: Partial<NodeCoreOptions>): Harness {
  const h = new Harness({ nodes: n, options })
  h.chain(Array.from({ length: n }, (_, i) => i), key.loc)
  h.put(n - 1, key)
  return h
}

describe('successful requests', () => {
  const KEY = keyAt(0.5)
  const n = 5
  const last = n - 1

  it('every node on the return path caches the block and learns the true source', () => {
    const h = chainWithData(n, KEY, PLAIN)
    const reply = h.request(0, KEY, 10)
    assert.deepEqual(reply, { type: 'found', source: last, hops: last, fromStore: false })
    assert.deepEqual(h.holders(KEY), [0, 1, 2, 3, 4])
    for (let i = 0; i < last; i++) assert.equal(h.routeFor(i, KEY), last)
    const sources = h.log.flatMap((d) => d.type === 'reply' && d.reply.type === 'found' ? [d.reply.source] : [])
    assert.deepEqual(sources, Array(n).fill(last), 'no node claims to be the source')
    assert.equal(h.cores[0].stats.local.requests.success, 1)
    assert.equal(h.cores[0].stats.local.requests.hops, last)
    assert.equal(h.cores[last].stats.servedFromStore, 1)
  })

  it('with cacheProb 0 only the requesting node keeps a copy, but routes are still learnt', () => {
    const h = chainWithData(n, KEY, { ...PLAIN, cacheProb: 0 })
    assert.equal(h.request(0, KEY, 10).type, 'found')
    assert.deepEqual(h.holders(KEY), [0, last])
    for (let i = 0; i < last; i++) assert.equal(h.routeFor(i, KEY), last)
  })

  it('with source reset probability 1 each node claims to be the source', () => {
    const h = chainWithData(n, KEY, { ...PLAIN, sourceResetProb: 1 })
    const reply = h.request(0, KEY, 10)
    assert.deepEqual(h.trace().filter((l) => l.includes('found')), [
      '4>3 found source=4 hops=0',
      '3>2 found source=3 hops=1',
      '2>1 found source=2 hops=2',
      '1>0 found source=1 hops=3',
      // The originator answers its own client: nothing to hide there.
      '0>client found source=1 hops=4'
    ])
    assert.equal(reply.type, 'found')
    // Each node's entry points at whoever claimed the data to it: the next node down.
    for (let i = 0; i < last; i++) assert.equal(h.routeFor(i, KEY), i + 1)
  })

  it('a later request for a nearby key goes straight to the learnt source', () => {
    // 0's only way towards 0.5 is a chain of four hops; node 4 holds two nearby keys.
    const near = keyAt(0.505, 1)
    const build = (sourceResetProb: number): Harness => {
      const h = new Harness({ nodes: 6, options: { ...PLAIN, sourceResetProb } })
      h.link(0, 1, 0.45)
      h.link(0, 5, 0.1)
      h.link(1, 2, 0.46)
      h.link(2, 3, 0.47)
      h.link(3, 4, 0.48)
      h.put(4, KEY)
      h.put(4, near)
      return h
    }

    const h = build(0)
    const first = h.request(0, KEY, 10)
    assert.equal(first.type === 'found' && first.hops, 4)
    const second = h.request(0, near, 10)
    assert.deepEqual(second, { type: 'found', source: 4, hops: 1, fromStore: false })
    assert.deepEqual(h.trace(2n).slice(0, 2), ['client>0 request htl=10', '0>4 request htl=9'])

    // When every node hides the source, the shortcut is not learnt: the path stays long.
    const hidden = build(1)
    hidden.request(0, KEY, 10)
    const again = hidden.request(0, near, 10)
    assert.equal(again.type === 'found' && again.hops, 4)
  })

  it('a found reply clears the failure entry of the key on the way back', () => {
    const h = chainWithData(n, KEY, PLAIN)
    h.down.add(last)
    assert.equal(h.request(0, KEY, 10).type, 'route-not-found')
    h.request(0, KEY, 2) // runs out of HTL at node 2: 0, 1 and 2 remember the failure
    for (let i = 0; i <= 2; i++) assert.equal(h.cores[i].failures.size, 1, `node ${i}`)
    h.down.delete(last)
    h.link(3, last, KEY.loc) // 3 dropped the unreachable node: relearn it
    assert.equal(h.request(0, KEY, 10).type, 'found')
    for (let i = 0; i < last; i++) assert.equal(h.cores[i].failures.size, 0, `node ${i}`)
  })
})

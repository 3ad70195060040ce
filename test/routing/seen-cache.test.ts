import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { SeenCache } from '../../src/routing/seen-cache.js'
import { Harness, PLAIN, keyAt } from './harness.js'

const KEY = keyAt(0.5)

describe('seen cache', () => {
  it('reports a repeat until the entry expires', () => {
    const ttl = 1000
    const c = new SeenCache(10, ttl)
    assert.equal(c.add(1n, 0), true)
    assert.equal(c.add(1n, ttl - 1), false)
    assert.equal(c.has(1n, ttl - 1), true)
    assert.equal(c.has(1n, ttl), false)
    assert.equal(c.add(1n, ttl), true, 'expired: seen as new')
    assert.equal(c.add(1n, 2 * ttl - 1), false)
    assert.equal(c.size, 1)
  })

  it('forgets a deleted ID at once', () => {
    const c = new SeenCache<number>(3, 1000)
    c.add(1, 0)
    c.add(2, 0)
    c.delete(1)
    c.delete(99)
    assert.equal(c.size, 1)
    assert.equal(c.has(1, 0), false)
    assert.equal(c.add(1, 0), true)
    assert.equal(c.has(2, 0), true)
  })

  it('drops the oldest IDs when full', () => {
    const c = new SeenCache<number>(3, 1000)
    for (const id of [1, 2, 3, 4]) assert.equal(c.add(id, 0), true)
    assert.equal(c.size, 3)
    assert.equal(c.has(1, 0), false)
    assert.equal(c.has(4, 0), true)
    // Re-adding an expired ID makes it the newest.
    assert.equal(c.add(2, 1000), true)
    c.add(5, 1000)
    assert.equal(c.has(3, 999), false)
    assert.equal(c.has(2, 1000), true)
  })
})

describe('loop rejection', () => {
  it('a second arrival of an ID is rejected and does not disturb the operation in progress', () => {
    const h = new Harness({ nodes: 4, options: PLAIN })
    h.chain([0, 1, 2], 0.5)
    h.put(2, KEY)
    const id = h.start(0, 'request', KEY, 5)
    h.step() // client>0
    h.step() // 0>1: node 1 now waits for 2
    assert.equal(h.cores[1].activeOps, 1)
    // Another peer sends node 1 a message with the same ID (even for another key).
    h.inject(3, 1, { id, kind: 'insert', key: keyAt(0.9), htl: 5 })
    h.step() // 1>2: 2 answers found
    h.step() // 3>1: rejected
    assert.equal(h.cores[1].activeOps, 1, 'the operation is still waiting for 2')
    assert.equal(h.cores[1].stats.loopsRejected, 1)
    h.run()
    assert.deepEqual(h.trace(), [
      'client>0 request htl=5',
      '0>1 request htl=4',
      '1>2 request htl=3',
      '3>1 insert htl=5',
      '2>1 found source=2 hops=0',
      '1>3 loop',
      '1>0 found source=2 hops=1',
      '0>client found source=2 hops=2'
    ])
    assert.deepEqual(h.client[0].reply, { type: 'found', source: 2, hops: 2, fromStore: false })
    assert.equal(h.has(1, keyAt(0.9)), false)
    for (const core of h.cores) assert.equal(core.activeOps, 0)
  })

  it('a loop answer from the wrong peer, or for a finished operation, is ignored', () => {
    const h = new Harness({ nodes: 3, options: PLAIN })
    h.chain([0, 1], 0.5)
    h.link(0, 2, 0.6)
    const id = h.start(0, 'request', KEY, 5)
    h.step() // client>0: 0 forwards to 1
    assert.deepEqual(h.cores[0].response(id, 2, { type: 'loop' }), [], 'not the peer 0 waits for')
    assert.deepEqual(h.cores[0].response(id + 1n, 1, { type: 'loop' }), [], 'no such operation')
    h.run()
    assert.equal(h.sent(id), 2, '0 tried 1 and then 2, nothing else')
    assert.deepEqual(h.cores[0].response(id, 2, { type: 'loop' }), [], 'already finished')
  })

  it('once the ID has expired from the seen cache the same ID is a new operation', () => {
    const ttl = 5000
    const h = new Harness({ nodes: 2, options: { ...PLAIN, seenCacheTtlMs: ttl } })
    h.link(0, 1, 0.5)
    h.put(1, KEY)
    assert.equal(h.request(0, KEY, 5, 42n).type, 'found')
    assert.deepEqual(h.request(1, keyAt(0.1), 5, 42n), { type: 'loop' })
    h.advance(ttl)
    assert.equal(h.request(1, keyAt(0.1), 5, 42n).type, 'route-not-found')
  })
})

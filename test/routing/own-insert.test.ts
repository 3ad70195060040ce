/**
 * The node's own insert with a client cache (NodeCoreOptions.clientCache, the network profile):
 * its copy at the originator is one no peer can read, so a path that tried peers and ends at
 * the originator stored the block nowhere the network serves. Such an insert fails instead of
 * reporting "stored" (docs/reliability.md, churn: a node whose puts ended at itself reported
 * them stored, and those files were the ones no running node could fetch). A node with no peer
 * at all keeps the block for its user and says so (stored 1; the CLI warns).
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Harness, PLAIN, keyAt } from './harness.js'

const KEY = keyAt(0.5)
const CACHED = { ...PLAIN, clientCache: true }

describe('own inserts with a client cache', () => {
  it('with no peer at all, the block stays in the client cache and stored 1 says no other node has it', () => {
    const h = new Harness({ nodes: 1, options: CACHED })
    assert.deepEqual(h.insert(0, KEY, 6).map((r) => r.type), ['all-clear', 'stored'])
    assert.deepEqual(h.holders(KEY), [])
    assert.ok(h.clientCaches[0].has(KEY.hex))
    assert.equal(h.cores[0].activeOps, 0)
  })

  it('without a client cache (the paper) the inserter stores it itself, as before', () => {
    const h = new Harness({ nodes: 1, options: PLAIN })
    assert.deepEqual(h.insert(0, KEY, 6).map((r) => r.type), ['all-clear', 'stored'])
    assert.deepEqual(h.holders(KEY), [0])
  })

  it('HTL 0 asks for no hop: the block stays in the client cache and the insert succeeds', () => {
    const h = new Harness({ nodes: 1, options: CACHED })
    assert.deepEqual(h.insert(0, KEY, 0), [{ type: 'all-clear', depth: 1, remaining: 0, hops: 0 }, { type: 'stored', stored: 1 }])
    assert.ok(h.clientCaches[0].has(KEY.hex))
  })

  it('when every route is unreachable, the insert fails', () => {
    const h = new Harness({ nodes: 3, options: CACHED })
    h.link(0, 1, 0.5)
    h.link(0, 2, 0.6)
    h.down.add(1)
    h.down.add(2)
    assert.deepEqual(h.insert(0, KEY, 6), [{ type: 'route-not-found', remaining: 6, hops: 0 }])
    assert.equal(h.clientCaches[0].size, 0)
  })

  it('a path that reached a peer ends there as usual', () => {
    const h = new Harness({ nodes: 2, options: CACHED })
    h.link(0, 1, 0.5)
    assert.deepEqual(h.insert(0, KEY, 6).map((r) => r.type), ['all-clear', 'stored'])
    assert.deepEqual(h.holders(KEY), [1])
    assert.ok(h.clientCaches[0].has(KEY.hex))
  })

  it('the first child lost in the data phase: the insert takes the next route instead of reporting "stored" at home', () => {
    const h = new Harness({ nodes: 3, options: CACHED })
    h.link(0, 1, 0.5)
    h.link(0, 2, 0.7)
    h.autoData = false
    const id = h.start(0, 'insert', KEY, 6)
    h.run()
    assert.deepEqual(h.client.map((c) => c.reply.type), ['all-clear'])
    h.down.add(1)
    h.autoData = true
    h.data(0, id)
    h.run()
    assert.deepEqual(h.trace(id).slice(-10), [
      'client>0 data',
      '0>1 data (down)',
      '1>0 failed unreachable',
      // The lost child cost its hop (HTL 5 -> 4); the path starts again at the next route.
      '0>2 insert htl=4',
      '2>0 all-clear depth=1 remaining=4 hops=0',
      '0>client all-clear depth=2 remaining=4 hops=3',
      'client>0 data',
      '0>2 data',
      '2>0 stored stored=1',
      '0>client stored stored=2'
    ])
    assert.deepEqual(h.client.map((c) => c.reply.type), ['all-clear', 'all-clear', 'stored'])
    assert.deepEqual(h.holders(KEY), [2])
    assert.equal(h.cores[0].activeOps, 0)
  })
})

/**
 * Ten real libp2p nodes over TCP on 127.0.0.1, running the warren protocols: content
 * inserted at one node is requested from several others, replies are cached on the return
 * path, a missing key fails cleanly within its timeout, and an insert collision returns
 * the existing data.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Block, KeyType } from '../../proto/warren.js'
import { ChkType, encodeChk } from '../../src/keys/chk.js'
import { RoutingKey } from '../../src/keys/routing-key.js'
import { NotFoundError } from '../../src/protocol/errors.js'
import { createNetwork, ring } from '../helpers/network.js'
import { randomBytes } from '../helpers/seed.js'
import type { TestNetwork } from '../helpers/network.js'

const N = 10

function chkBlock (payload: Uint8Array): { key: RoutingKey, block: Block } {
  const c = encodeChk(ChkType.DATA, payload)
  return { key: c.routingKey, block: { type: KeyType.CHK, data: c.block, pubkey: new Uint8Array(), signature: new Uint8Array(), headers: new Uint8Array() } }
}

function same (a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
}

/** Nodes holding `key`: in the store, or (the node's own gets and puts) in the client cache. */
function holders (net: TestNetwork, key: RoutingKey): number[] {
  return net.nodes.flatMap((n, i) => n.store.has(key) || n.clientCache.has(key) ? [i] : [])
}

describe(`a ${N}-node network on 127.0.0.1`, () => {
  let net: TestNetwork

  before(async () => {
    // Source reset 1: every node on a return path names itself as the data source, so
    // routing tables learn the nearest cached copy (the property the caching test checks).
    net = await createNetwork(N, { core: { sourceResetProb: 1, probabilisticHtl: false, hopTimeoutMs: 1000 } })
    await ring(net, [[0, 5], [2, 7]])
  })

  after(async () => { await net.stop() })

  it('serves content inserted at one node to requests from several others', async () => {
    const { key, block } = chkBlock(randomBytes(20_000))
    const ins = await net.nodes[0].service.insert(key, block, { htl: 3 })
    assert.equal(ins.collision, false)
    assert.ok(ins.stored >= 2, `insert stored on ${ins.stored} nodes`)
    assert.equal(holders(net, key).length, ins.stored)

    for (const i of [3, 6, 8, 9]) {
      // A node of the insert path holds it in its store already; the others fetch it.
      const relayed = net.nodes[i].store.has(key)
      const got = await net.nodes[i].service.request(key, { htl: 20 })
      assert.ok(same(got.block.data, block.data), `node ${i} got the inserted bytes`)
      if (relayed) continue
      assert.ok(net.nodes[i].clientCache.has(key), `node ${i} kept what it fetched in its client cache`)
      assert.ok(!net.nodes[i].store.has(key), `node ${i} did not put what it fetched in the store peers read`)
    }
  })

  it('caches the reply on the return path so a repeat request takes fewer hops', async () => {
    const { key, block } = chkBlock(randomBytes(1000))
    // Node 0 holds it as relayed data (its own insert would stay in its client cache, out of reach).
    await net.nodes[0].store.put(key, Block.encode(block))
    assert.deepEqual(holders(net, key), [0])
    // Pick the requester farthest (in hops) from the only holder.
    let far = -1
    let first = { hops: -1 }
    for (const i of [4, 5, 6, 3, 7]) {
      if (net.nodes[i].store.has(key)) continue
      const before = holders(net, key).length
      first = await net.nodes[i].service.request(key, { htl: 20 })
      const cachedNow = holders(net, key).length - before
      if (first.hops >= 2) {
        // Every node on the return path (requester included) now holds a verified copy.
        assert.ok(cachedNow >= 2, `return path cached ${cachedNow} copies`)
        far = i
        break
      }
    }
    assert.ok(far >= 0, 'found a requester at least 2 hops from the data')
    // Drop the requester's own copy: the next request must find the copy cached one hop away.
    await net.nodes[far].clientCache.delete(key)
    const second = await net.nodes[far].service.request(key, { htl: 20 })
    assert.ok(second.hops < first.hops, `repeat took ${second.hops} hops, first took ${first.hops}`)
    assert.ok(same(second.block.data, block.data))
  })

  it('fails a request for a missing key cleanly within its timeout', async () => {
    const key = RoutingKey.hash(randomBytes(32))
    const node = net.nodes[4]
    const htl = 8
    const started = Date.now()
    await assert.rejects(node.service.request(key, { htl }), (err: Error) => {
      assert.ok(err instanceof NotFoundError, `got ${err.name}: ${err.message}`)
      return true
    })
    const elapsed = Date.now() - started
    assert.ok(elapsed < node.service.core.timeoutFor(htl), `failed after ${elapsed} ms`)
    // Nothing is left behind at any node.
    for (const n of net.nodes) assert.equal(n.service.activeOperations, 0)
    // A failure table on its path now answers a repeat (the node where HTL ran out recorded it;
    // a node whose DATA_NOT_FOUND retry found no route left recorded it too and let its
    // upstream backtrack).
    const rejects = (): number => net.nodes.reduce((sum, n) => sum + n.service.core.stats.failureTableRejects, 0)
    const rejectsBefore = rejects()
    await assert.rejects(node.service.request(key, { htl }), NotFoundError)
    assert.ok(rejects() > rejectsBefore, 'no failure table answered the repeat')
  })

  it('returns the existing data on an insert collision and caches it on the way back', async () => {
    const { key, block } = chkBlock(randomBytes(5000))
    const first = await net.nodes[1].service.insert(key, block, { htl: 2 })
    assert.equal(first.collision, false)
    const before = holders(net, key)
    const inserter = [9, 8, 7, 6, 5].find((i) => !before.includes(i))!
    const second = await net.nodes[inserter].service.insert(key, block, { htl: 10 })
    assert.equal(second.collision, true)
    assert.ok(same(second.block?.data, block.data))
    assert.ok(net.nodes[inserter].clientCache.has(key), 'the colliding inserter kept the existing data in its client cache')
    assert.ok(holders(net, key).length > before.length)
  })

  it('puts a multi-block file at one node and gets identical bytes at others', async () => {
    const data = randomBytes(200_000)
    const put = await net.nodes[2].client.put([data])
    assert.ok(put.blocks > 2, `${put.blocks} blocks`)
    for (const i of [5, 9]) {
      const got = await net.nodes[i].client.get(put.uri, { htl: 20 })
      assert.equal(Buffer.compare(Buffer.from(got), data), 0)
    }
  })
})

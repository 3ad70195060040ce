/**
 * Issue 12: the latency bench's first put (1 KiB, HTL 3) reported success while its block was
 * only in its originator's client cache, which no peer reads: its only hop had failed (a timer
 * fired late, the event loop stalled by 50 kad-dht nodes in the same process), and the fetch
 * that followed wandered 479-1061 hops and failed. Here the originator's only neighbour refuses
 * every operation (OVERLOADED): the put must fail, after waiting and trying again, and say why;
 * once a neighbour takes inserts, the same put places the block where a peer's fetch finds it.
 * And a bulk put through one neighbour whose insert quota it exceeds slows to that quota (the
 * 64 MiB chain bench's put ended blocks in its client cache that way) instead of failing.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { randomBytes } from 'node:crypto'
import { RoutingKey } from '../../src/keys/routing-key.js'
import { createNode, until } from '../helpers/network.js'
import { removeTempDir } from '../helpers/temp.js'
import type { TestNetworkOptions } from '../helpers/network.js'
import type { WarrenNode } from '../../src/node.js'

describe('an insert no peer took', () => {
  const cleanup: Array<() => Promise<void>> = []
  after(async () => { for (const f of cleanup.reverse()) await f() })

  async function node (options: TestNetworkOptions = {}): Promise<WarrenNode> {
    const { node, dir } = await createNode(options)
    cleanup.push(async () => { await node.stop(); await removeTempDir(dir) })
    return node
  }

  async function link (a: WarrenNode, b: WarrenNode): Promise<void> {
    await a.libp2p.dial(b.libp2p.getMultiaddrs()[0])
    await until(() => a.service.core.table.has(b.peerId) && b.service.core.table.has(a.peerId), 10_000, 'the link in both routing tables')
  }

  /** Every key of `n`'s store (hex). */
  async function storeKeys (n: WarrenNode): Promise<string[]> {
    const keys: string[] = []
    await n.store.verify((hex) => { keys.push(hex); return true })
    return keys
  }

  it('fails the put instead of reporting its client cache as a placement, and succeeds through a neighbour that takes it', async () => {
    const waits = [20, 40]
    const origin = await node({ service: { insertOverloadedWaitsMs: waits } })
    const refusing = await node({ service: { maxOpsTotal: 0 } })
    await link(origin, refusing)
    const overloaded: string[] = []
    origin.service.addEventListener('warren:wire-error', (e) => { if (e.detail.direction === 'received') overloaded.push(e.detail.code) })

    const value = new TextEncoder().encode('issue 12: a block nobody kept '.repeat(30))
    await assert.rejects(origin.client.put([value], { htl: 3 }), /reached no peer that kept the block.*refused it as overloaded after 2 waits/)
    assert.deepEqual(overloaded, Array(1 + waits.length).fill('OVERLOADED'), 'each try (the first, then one after each wait) asked the neighbour, which refused')
    assert.deepEqual(await storeKeys(refusing), [])
    assert.equal(origin.service.activeOperations, 0)

    // A put at HTL 0 asks for no routing: the block stays with its user, as before.
    const local = await origin.client.put([value], { htl: 0 })
    assert.equal(local.minStored, 1)

    // A neighbour that takes inserts: the put places the block there, and a third node's fetch
    // (which cannot read the originator's client cache) finds it.
    const taking = await node()
    const fetcher = await node()
    await link(origin, taking)
    await link(fetcher, taking)
    const other = new TextEncoder().encode('issue 12: a block a peer kept '.repeat(30))
    const put = await origin.client.put([other], { htl: 3 })
    assert.ok(put.minStored >= 2, `stored by the originator and at least one peer: ${put.minStored}`)
    const held = await storeKeys(taking)
    assert.equal(held.length, 1)
    assert.ok(taking.store.has(RoutingKey.fromHex(held[0])))
    assert.deepEqual(await fetcher.client.get(put.uri, { signal: AbortSignal.timeout(10_000) }), other)
  })

  it('a put past its only neighbour\'s insert quota waits for the quota instead of failing or keeping blocks home', async () => {
    const origin = await node({ service: { insertOverloadedWaitsMs: [200, 400, 800, 800, 800, 800, 800, 800, 800, 800] } })
    const limited = await node({ service: { insertQuota: { blocks: 3, windowMs: 1000 } } })
    const fetcher = await node()
    await link(origin, limited)
    await link(fetcher, limited)
    const refused: string[] = []
    origin.service.addEventListener('warren:wire-error', (e) => { if (e.detail.direction === 'received') refused.push(e.detail.code) })
    const waited: number[] = []
    // A split file: its data and check blocks and its manifest, all through `limited`.
    const data = randomBytes(100_000)
    const put = await origin.client.put([data], {
      htl: 3,
      onProgress: (e) => { if (e.type === 'warren:insert:wait') waited.push(e.detail.ms) }
    })
    assert.ok(put.blocks > 3, `more blocks (${put.blocks}) than one quota window takes`)
    assert.ok(refused.length > 0 && refused.every((c) => c === 'OVERLOADED'), `the neighbour refused some as overloaded: ${refused.join(', ')}`)
    assert.ok(waited.length > 0, 'the refused inserts waited before trying again')
    assert.ok(put.minStored >= 2, `every block reached the neighbour, none stayed only at home: minStored ${put.minStored}`)
    assert.equal((await storeKeys(limited)).length, put.blocks)
    assert.deepEqual(Buffer.from(await fetcher.client.get(put.uri, { signal: AbortSignal.timeout(20_000) })), data)
  })
})

/**
 * Issue 11, finding 1: one peer censoring a chosen key. The attack as the review ran it
 * (test/helpers/attacks.ts `censor`): a raw peer that answers DATA_NOT_FOUND to every request
 * connects to two of three nodes and places itself at the key's location on each by a forged
 * join; the third node holds the file. Before the fix the gets through the two nodes answered
 * 404 (a single DATA_NOT_FOUND ended the request) and their failure entries fed each other.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Block, FrameType } from '../../proto/warren.js'
import { RoutingKey } from '../../src/keys/routing-key.js'
import { censor, chkBlock } from '../helpers/attacks.js'
import { createNetwork, until } from '../helpers/network.js'
import { createRawPeer } from '../helpers/raw-peer.js'
import type { TestNetwork } from '../helpers/network.js'
import type { RawPeer } from '../helpers/raw-peer.js'

describe('a peer placed next to a key answering DATA_NOT_FOUND (issue 11, finding 1)', () => {
  let net: TestNetwork
  let evil: RawPeer

  before(async () => {
    net = await createNetwork(3, { core: { hopTimeoutMs: 1000 } })
    await net.connect(0, 1)
    await net.connect(1, 2)
    evil = await createRawPeer()
    await evil.start()
  })

  after(async () => {
    await evil.stop()
    await net.stop()
  })

  it('does not make the key unreachable through the nodes it joined', async () => {
    const b = chkBlock()
    const key = new RoutingKey(b.key)
    // In the store that answers peers (a node's own inserts stay in its client cache).
    await net.nodes[2].store.put(key, Block.encode(b.block))
    const attack = await censor(evil, net.nodes.slice(0, 2).map((n) => n.libp2p.getMultiaddrs()[0]), key.loc)
    assert.deepEqual(attack.joins, [FrameType.ANNOUNCE_JOINED, FrameType.ANNOUNCE_JOINED], 'both nodes took the forged join')
    await until(() => net.nodes.slice(0, 2).every((n) => n.service.core.table.has(evil.peerId.toString())), 10_000, 'the censor routable')
    for (const n of net.nodes.slice(0, 2)) {
      const r = await n.service.request(key, { htl: 20 })
      assert.deepEqual(Uint8Array.from(r.block.data), Uint8Array.from(b.block.data))
    }
    assert.ok(attack.answered() >= 2, `the censor was asked first and answered DATA_NOT_FOUND (${attack.answered()} times)`)
    for (const n of net.nodes) assert.equal(n.service.core.failures.size, 0, 'no failure entry for a key that was found')
  })
})

describe('failure entries feeding each other (issue 11, finding 1)', () => {
  let net: TestNetwork

  before(async () => {
    net = await createNetwork(2, { core: { hopTimeoutMs: 1000 } })
    await net.connect(0, 1)
  })

  after(async () => {
    await net.stop()
  })

  it('a DATA_NOT_FOUND answered from a failure table creates no failure entry where it arrives', async () => {
    // Node 0 as the censor left it: a failure entry for the key.
    const key = new RoutingKey(chkBlock().key)
    net.nodes[0].service.core.failures.record(key.hex, 20, Date.now())
    await assert.rejects(net.nodes[1].service.request(key, { htl: 20 }), /not found/)
    assert.equal(net.nodes[0].service.core.stats.failureTableRejects, 1, 'node 0 answered from its failure table')
    assert.equal(net.nodes[1].service.core.failures.size, 0, 'node 1 recorded nothing from it')
    // So node 1 does not answer node 0 from a failure table of its own once node 0's entry is gone.
    net.nodes[0].service.core.failures.clear(key.hex)
    await assert.rejects(net.nodes[0].service.request(key, { htl: 20 }), /not found/)
    assert.equal(net.nodes[1].service.core.stats.failureTableRejects, 0)
  })
})

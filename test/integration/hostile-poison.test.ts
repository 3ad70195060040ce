/**
 * Issue 11, finding 2: routing tables poisoned for free. The attacks as the review ran them
 * (test/helpers/attacks.ts): 300 forged joins naming made-up peers at a tarpit address, and 300
 * complete inserts naming made-up peers at it as their source, from one raw peer. Before the
 * fix each filled the target's routing table with the made-up peers (250 entries / 250 peers
 * against a handful of real ones) and its own gets failed or crawled; now those references wait
 * for verification, bounded, and routing keeps to the peers it has connected to.
 */
import assert from 'node:assert/strict'
import { after, before, beforeEach, afterEach, describe, it } from 'node:test'
import { Block, FrameType } from '../../proto/warren.js'
import { RoutingKey } from '../../src/keys/routing-key.js'
import { chkBlock, fakeJoinFlood, fakeSourceInserts, tarpit } from '../helpers/attacks.js'
import { createNetwork } from '../helpers/network.js'
import { createRawPeer } from '../helpers/raw-peer.js'
import type { Canary } from '../helpers/attacks.js'
import type { TestNetwork } from '../helpers/network.js'
import type { RawPeer } from '../helpers/raw-peer.js'

const FLOOD = 300
/** Blocks held by the target's two honest neighbours; the target gets them after the attack. */
const HELD = 6

describe('routing-table poisoning by made-up peers (issue 11, finding 2)', () => {
  let net: TestNetwork
  let evil: RawPeer
  let pit: Canary
  let keys: RoutingKey[]

  before(async () => {
    pit = await tarpit()
  })

  after(async () => {
    await pit.close()
  })

  beforeEach(async () => {
    net = await createNetwork(3, { core: { hopTimeoutMs: 1000 } })
    await net.connect(0, 1)
    await net.connect(0, 2)
    keys = []
    for (let i = 0; i < HELD; i++) {
      const b = chkBlock()
      keys.push(new RoutingKey(b.key))
      // In the store that answers peers (a node's own inserts stay in its client cache).
      await net.nodes[1 + (i % 2)].store.put(keys[i], Block.encode(b.block))
    }
    evil = await createRawPeer()
    await evil.start()
  })

  afterEach(async () => {
    await evil.stop()
    await net.stop()
  })

  /** The target's routing table holds only its real neighbours, and it gets every held block. */
  async function assertUnpoisoned (): Promise<void> {
    const target = net.nodes[0]
    const real = new Set([net.nodes[1].peerId, net.nodes[2].peerId])
    const peers = [...target.service.core.table.peerSet()]
    assert.deepEqual(peers.filter((p) => !real.has(p)), [], `${peers.length} peers in the table, ${target.service.core.table.size} entries`)
    for (const key of keys) {
      const started = Date.now()
      await target.service.request(key, { htl: 20 })
      assert.ok(Date.now() - started < 3000, `a get took ${Date.now() - started} ms`)
    }
  }

  it('forged joins naming made-up peers at a tarpit take no routing entry', async () => {
    const answers = await fakeJoinFlood(evil, net.nodes[0].libp2p.getMultiaddrs()[0], FLOOD, pit.addr)
    assert.equal(answers.filter((t) => t === FrameType.ANNOUNCE_JOINED).length, FLOOD, 'every join was answered as taken')
    await assertUnpoisoned()
  })

  it('inserts naming made-up peers at a tarpit as their source take no routing entry', async () => {
    const outcomes = await fakeSourceInserts(evil, net.nodes[0].libp2p.getMultiaddrs()[0], FLOOD, pit.addr)
    assert.equal(outcomes.filter((o) => o.stored).length, FLOOD, 'every insert was stored')
    await assertUnpoisoned()
  })
})

/**
 * Issue 11, low finding: the announce impostor check applied only with exactly one commitment.
 * The attack as the review ran it (test/helpers/attacks.ts `impostorWalk`): a raw peer relays a
 * made-up announcement with two commitments of its own making, as if it were a later hop; the
 * walk completed and it harvested the walk's references. Now a node takes an announcement of
 * anyone but its sender only with the newcomer's signature over it.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { FrameType } from '../../proto/warren.js'
import { announceSigningBytes } from '../../src/protocol/announce-wire.js'
import { commitmentOf } from '../../src/routing/announce.js'
import { fakePeerAt, impostorWalk } from '../helpers/attacks.js'
import { createNetwork, until } from '../helpers/network.js'
import { createRawPeer } from '../helpers/raw-peer.js'
import type { TestNetwork } from '../helpers/network.js'
import type { RawPeer } from '../helpers/raw-peer.js'

describe('announcements relayed for somebody else (issue 11, impostor check)', () => {
  let net: TestNetwork
  let evil: RawPeer

  before(async () => {
    net = await createNetwork(3)
    await net.connect(0, 1)
    await net.connect(0, 2)
    evil = await createRawPeer()
    await evil.start()
  })

  after(async () => {
    await evil.stop()
    await net.stop()
  })

  const target = (): ReturnType<TestNetwork['nodes'][number]['libp2p']['getMultiaddrs']>[number] => net.nodes[0].libp2p.getMultiaddrs()[0]

  it('refuses a made-up announcement with two commitments: no walk, no references', async () => {
    const r = await impostorWalk(evil, target(), fakePeerAt('/ip4/127.0.0.1/tcp/9'), 1n)
    assert.equal(r.first, FrameType.ERROR, `the walk went on (${r.refs} references harvested)`)
    assert.match(r.message ?? '', /must come from the node it announces, or carry its signature/)
    assert.equal(r.refs, 0)
  })

  it('refuses one naming a real node with a signature by another key', async () => {
    const victim = net.nodes[1].libp2p.peerId
    const other = await generateKeyPair('Ed25519')
    // The commitments impostorWalk makes are random: sign anything, it cannot match.
    const signature = await other.sign(announceSigningBytes(2n, commitmentOf(new Uint8Array(32)))) as Uint8Array<ArrayBuffer>
    const r = await impostorWalk(evil, target(), { peerId: victim.toMultihash().bytes, multiaddrs: [] }, 2n, 2, signature)
    assert.equal(r.first, FrameType.ERROR)
    await until(() => net.nodes[0].service.activeOperations === 0, 5000, 'nothing held')
  })

  it('takes a relayed announcement the newcomer signed (control)', async () => {
    const key = await generateKeyPair('Ed25519')
    const node = { peerId: peerIdFromPrivateKey(key).toMultihash().bytes, multiaddrs: [] }
    // impostorWalk's first commitment is random: sign through a walk of our own making instead.
    const seed = new Uint8Array(32).fill(7)
    const signature = await key.sign(announceSigningBytes(3n, commitmentOf(seed))) as Uint8Array<ArrayBuffer>
    const r = await impostorWalk(evil, target(), node, 3n, 2, signature, [seed])
    assert.equal(r.first, FrameType.ANNOUNCE_COMMIT)
    assert.ok(r.refs > 0)
  })
})

/**
 * SSK blocks are checked at every hop. A modified relay node (a raw libp2p peer speaking the
 * warren protocol by hand) tampers with a genuine SSK block five ways: forged signature, wrong
 * public key, wrong document name, tampered payload and a replayed old edition.
 *
 * - As a relay answering requests, each forgery is rejected by the honest node that asked it:
 *   that node does not cache it, routes around the liar, and the requester gets the genuine block.
 * - As an inserter, each forgery is refused by the first honest node with INVALID_BLOCK and
 *   stored nowhere, while the genuine block inserted the same way is stored along the path.
 */
import { pbStream } from '@libp2p/utils'
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Block, Error as WireError, Frame, FrameType } from '../../proto/warren.js'
import { INSERT_PROTOCOL, MAX_FRAME_BYTES, REQUEST_PROTOCOL } from '../../src/constants.js'
import { editionName } from '../../src/client/updatable.js'
import { verifyBlock } from '../../src/keys/block-verify.js'
import { encodeSsk, generateCryptoKey, generateSskKeyPair, sskRefOf, sskRoutingKey, SskType } from '../../src/keys/ssk.js'
import { createNetwork, until } from '../helpers/network.js'
import { createRawPeer } from '../helpers/raw-peer.js'
import type { RawPeer } from '../helpers/raw-peer.js'
import type { TestNetwork } from '../helpers/network.js'
import type { RoutingKey } from '../../src/keys/routing-key.js'
import type { SskInsertRef } from '../../src/keys/ssk.js'

const owner = generateSskKeyPair()
const cryptoKey = generateCryptoKey()
const payload = new TextEncoder().encode('warren:CHK@genuine')

function doc (name: string): SskInsertRef {
  return { privateKey: owner.privateKey, cryptoKey, name }
}

/** The genuine block of `name` (edition `n` of it), and the five forgeries of it. */
function forgeries (name: string): { key: RoutingKey, genuine: Block, forged: Array<[string, Block]> } {
  const { routingKey: key, block: genuine } = encodeSsk(doc(editionName(name, 2)), SskType.REDIRECT, payload)
  const flip = (bytes: Uint8Array, at: number): Uint8Array<ArrayBuffer> => {
    const b = new Uint8Array(bytes)
    b[at] ^= 0x01
    return b
  }
  return {
    key,
    genuine,
    forged: [
      ['forged signature', { ...genuine, signature: flip(genuine.signature, 5) }],
      ['wrong public key', encodeSsk({ ...doc(editionName(name, 2)), privateKey: generateSskKeyPair().privateKey }, SskType.REDIRECT, payload).block],
      ['wrong document name', encodeSsk(doc(`${name}-other/2`), SskType.REDIRECT, payload).block],
      ['tampered payload', { ...genuine, data: flip(genuine.data, 300) }],
      ['replayed old edition', encodeSsk(doc(editionName(name, 1)), SskType.REDIRECT, payload).block]
    ]
  }
}

describe('SSK verification at every hop, against a modified relay node', () => {
  let net: TestNetwork
  let evil: RawPeer
  /** What the evil relay answers to any request. */
  let answer: Block | undefined
  let asked = 0
  const [A, B, C] = [0, 1, 2]

  before(async () => {
    // Source reset 1: every node names itself as the data source, so A only ever routes via B.
    net = await createNetwork(3, { core: { hopTimeoutMs: 1500, sourceResetProb: 1 } })
    await net.connect(A, B)
    await net.connect(B, C)
    evil = await createRawPeer()
    await evil.handle(REQUEST_PROTOCOL, async (stream) => {
      const pb = pbStream(stream, { maxDataLength: MAX_FRAME_BYTES }).pb(Frame)
      await pb.read()
      asked++
      await pb.write({ type: FrameType.DATA_FOUND, dataFound: { block: answer, source: { peerId: evil.peerId.toMultihash().bytes, multiaddrs: [] }, hops: 0 } })
      await stream.close()
    })
    await evil.start()
  })

  after(async () => {
    await evil.stop()
    await net.stop()
  })

  /** (Re)connect the relay to B so that B routes to it again after dropping it as a liar. */
  async function attachRelay (): Promise<void> {
    await evil.hangUp(net.nodes[B].libp2p.peerId).catch(() => {})
    await until(() => !net.nodes[B].service.core.table.has(evil.peerId.toString()) || net.nodes[B].libp2p.getConnections(evil.peerId).length === 0, 5000, 'hang-up')
    await evil.dial(net.nodes[B].libp2p.getMultiaddrs()[0])
    await until(() => net.nodes[B].service.core.table.has(evil.peerId.toString()), 10_000, 'relay in B\'s routing table')
  }

  it('rejects every forgery a relay returns, and the requester still gets the genuine block', async () => {
    const relay = evil.peerId.toString()
    const table = net.nodes[B].service.core.table
    let i = 0
    for (let k = 0; k < 5; k++) {
      answer = undefined
      await attachRelay()
      // A document whose key B would rather ask the relay about than anyone else.
      let f = forgeries(`doc${i++}`)
      while (table.closest(f.key.loc, (p) => p === net.nodes[A].peerId) !== relay) f = forgeries(`doc${i++}`)
      const [what, forged] = f.forged[k]
      assert.equal(verifyBlock(f.key, forged), false, `${what} fails verification`)
      assert.equal(verifyBlock(f.key, f.genuine), true)
      // C holds it as relayed data (its own insert would stay in its client cache, out of reach).
      await net.nodes[C].store.put(f.key, Block.encode(f.genuine))
      answer = forged

      const before = asked
      const got = await net.nodes[A].service.request(f.key, { htl: 5 })
      assert.equal(asked, before + 1, `${what}: B asked the relay first`)
      assert.ok(Buffer.from(got.block.signature).equals(f.genuine.signature), `${what}: A got the genuine block`)
      assert.ok(Buffer.from(got.block.data).equals(f.genuine.data))
      assert.ok(got.hops >= 3, `${what}: the forged answer cost B a hop (${got.hops} hops)`)
      for (const n of [A, B]) {
        // B relayed it (its store); A fetched it for its user (its client cache).
        const stored = await (n === A ? net.nodes[n].clientCache : net.nodes[n].store).get(f.key)
        assert.ok(stored !== undefined && verifyBlock(f.key, Block.decode(stored)), `${what}: node ${n} cached only the genuine block`)
      }
      assert.equal(net.nodes[B].service.core.table.has(evil.peerId.toString()), false, `${what}: B dropped the lying relay`)
    }
  })

  it('refuses every forgery pushed as an insert, storing it nowhere, and accepts the genuine block', async () => {
    const f = forgeries('pushed')
    await attachRelay()
    const insert = async (block: Block, id: bigint): Promise<Frame> => {
      const s = await evil.dialProtocol(net.nodes[B].libp2p.getMultiaddrs()[0], INSERT_PROTOCOL)
      const pb = pbStream(s, { maxDataLength: MAX_FRAME_BYTES }).pb(Frame)
      await pb.write({ type: FrameType.INSERT, insert: { id, key: f.key.bytes as Uint8Array<ArrayBuffer>, htl: 3, source: { peerId: evil.peerId.toMultihash().bytes, multiaddrs: [] } } })
      const ac = await pb.read({ signal: AbortSignal.timeout(5000) })
      assert.equal(ac.type, FrameType.ALL_CLEAR)
      await pb.write({ type: FrameType.INSERT_DATA, insertData: { block } })
      const reply = await pb.read({ signal: AbortSignal.timeout(5000) })
      await s.close().catch(() => {})
      return reply
    }
    let id = 9000n
    for (const [what, forged] of f.forged) {
      const reply = await insert(forged, id++)
      assert.equal(reply.type, FrameType.ERROR, what)
      assert.equal(reply.error?.code, WireError.Code.INVALID_BLOCK, `${what}: ${reply.error?.message}`)
      for (const n of net.nodes) assert.equal(n.store.has(f.key), false, `${what}: stored nowhere`)
    }
    for (const n of net.nodes) await until(() => n.service.activeOperations === 0, 5000, 'aborted inserts released')
    const reply = await insert(f.genuine, id++)
    assert.equal(reply.type, FrameType.INSERT_STORED)
    assert.ok((reply.insertStored?.stored ?? 0) >= 2, 'stored at B and beyond')
    assert.ok(net.nodes[B].store.has(f.key))
  })

  it('serves the owner\'s document to an honest reader', async () => {
    const ref = doc('plain')
    const { routingKey, block } = encodeSsk(ref, SskType.REDIRECT, payload)
    assert.ok(sskRoutingKey(sskRefOf(ref)).equals(routingKey))
    await net.nodes[A].service.insert(routingKey, block, { htl: 3 })
    const got = await net.nodes[C].service.request(routingKey, { htl: 5 })
    assert.equal(verifyBlock(routingKey, got.block), true)
  })
})

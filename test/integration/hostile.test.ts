/**
 * Everything from the network is hostile: a raw libp2p peer (no warren code) sends garbage,
 * oversized and out-of-order frames, stays silent, floods the per-peer operation limit and
 * answers requests with forged data. Each gets a clear error (or is routed around) while
 * the node keeps serving others and leaks no operation.
 */
import { pbStream, lpStream } from '@libp2p/utils'
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Block, Error as WireError, Frame, FrameType, KeyType } from '../../proto/warren.js'
import { INSERT_PROTOCOL, REQUEST_PROTOCOL, MAX_FRAME_BYTES } from '../../src/constants.js'
import { ChkType, encodeChk } from '../../src/keys/chk.js'
import { distance } from '../../src/keys/routing-key.js'
import { peerKey } from '../../src/protocol/address-book.js'
import { createNetwork, until } from '../helpers/network.js'
import { createRawPeer } from '../helpers/raw-peer.js'
import { randomBytes } from '../helpers/seed.js'
import type { RawPeer } from '../helpers/raw-peer.js'
import type { TestNetwork } from '../helpers/network.js'
import type { Stream } from '@libp2p/interface'
import type { RoutingKey } from '../../src/keys/routing-key.js'

const MAX_OPS = 4

function chk (payload: Uint8Array): { key: RoutingKey, block: Block } {
  const c = encodeChk(ChkType.DATA, payload)
  return { key: c.routingKey, block: { type: KeyType.CHK, data: c.block, pubkey: new Uint8Array(), signature: new Uint8Array(), headers: new Uint8Array() } }
}

describe('hostile input', () => {
  let net: TestNetwork
  let evil: RawPeer
  const target = (): TestNetwork['nodes'][number] => net.nodes[0]

  async function open (protocol = REQUEST_PROTOCOL): Promise<Stream> {
    return await evil.dialProtocol(target().libp2p.getMultiaddrs()[0], protocol)
  }

  async function expectError (stream: Stream, code: WireError.Code): Promise<string> {
    const f = await pbStream(stream, { maxDataLength: MAX_FRAME_BYTES }).pb(Frame).read({ signal: AbortSignal.timeout(5000) })
    assert.equal(f.type, FrameType.ERROR)
    assert.equal(f.error?.code, code, `error code for: ${f.error?.message}`)
    assert.ok((f.error?.message ?? '').length > 0)
    return f.error.message
  }

  before(async () => {
    net = await createNetwork(3, { service: { maxOpsPerPeer: MAX_OPS, firstFrameTimeoutMs: 1500 }, core: { hopTimeoutMs: 1000 } })
    await net.connect(0, 1)
    await net.connect(1, 2)
    evil = await createRawPeer()
    await evil.start()
  })

  after(async () => {
    await evil.stop()
    await net.stop()
  })

  it('answers a frame that is not a valid protobuf with MALFORMED', async () => {
    const s = await open()
    await lpStream(s).write(Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))
    // The decoder's own words stay in the node's log: the peer gets generic ones.
    assert.equal(await expectError(s, WireError.Code.MALFORMED), 'malformed frame: it could not be decoded as a warren Frame')
  })

  it('answers an oversized frame with TOO_LARGE without reading it whole', async () => {
    const s = await open()
    await lpStream(s, { maxDataLength: 4 * MAX_FRAME_BYTES }).write(randomBytes(2 * MAX_FRAME_BYTES))
    const msg = await expectError(s, WireError.Code.TOO_LARGE)
    assert.match(msg, /too large/)
  })

  it('answers a frame that is out of order for the protocol with UNEXPECTED', async () => {
    const s = await open()
    await pbStream(s).pb(Frame).write({ type: FrameType.DATA_NOT_FOUND, dataNotFound: { hops: 1 } })
    await expectError(s, WireError.Code.UNEXPECTED)
    const s2 = await open(INSERT_PROTOCOL)
    await pbStream(s2).pb(Frame).write({ type: FrameType.INSERT_DATA, insertData: { block: chk(randomBytes(10)).block } })
    await expectError(s2, WireError.Code.UNEXPECTED)
  })

  it('rejects a type whose body is missing or a key of the wrong size', async () => {
    const s = await open()
    await pbStream(s).pb(Frame).write({ type: FrameType.REQUEST })
    await expectError(s, WireError.Code.MALFORMED)
    const s2 = await open()
    await pbStream(s2).pb(Frame).write({ type: FrameType.REQUEST, request: { id: 1n, key: new Uint8Array(31), htl: 5 } })
    await expectError(s2, WireError.Code.INVALID_KEY)
  })

  it('times out a silent stream with TIMEOUT', async () => {
    const s = await open()
    await expectError(s, WireError.Code.TIMEOUT)
  })

  it('refuses an insert whose data does not match its key, and stores nothing', async () => {
    const { key } = chk(randomBytes(100))
    const s = await open(INSERT_PROTOCOL)
    const pb = pbStream(s).pb(Frame)
    await pb.write({ type: FrameType.INSERT, insert: { id: 77n, key: key.bytes as Uint8Array<ArrayBuffer>, htl: 0, source: { peerId: evil.peerId.toMultihash().bytes, multiaddrs: [] } } })
    const ac = await pb.read({ signal: AbortSignal.timeout(5000) })
    assert.equal(ac.type, FrameType.ALL_CLEAR)
    const forged = chk(randomBytes(100)).block
    await pb.write({ type: FrameType.INSERT_DATA, insertData: { block: forged } })
    await expectError(s, WireError.Code.INVALID_BLOCK)
    assert.equal(target().store.has(key), false)
  })

  it('limits the operations one peer may hold open, then recovers', async () => {
    const held: Stream[] = []
    for (let i = 0; i < MAX_OPS; i++) {
      const s = await open(INSERT_PROTOCOL)
      const pb = pbStream(s).pb(Frame)
      await pb.write({ type: FrameType.INSERT, insert: { id: 1000n + BigInt(i), key: randomBytes(32), htl: 0, source: { peerId: evil.peerId.toMultihash().bytes, multiaddrs: [] } } })
      assert.equal((await pb.read({ signal: AbortSignal.timeout(5000) })).type, FrameType.ALL_CLEAR)
      held.push(s) // never sends the data: the operation stays open
    }
    const s = await open()
    await pbStream(s).pb(Frame).write({ type: FrameType.REQUEST, request: { id: 5n, key: randomBytes(32), htl: 1 } })
    await expectError(s, WireError.Code.OVERLOADED)
    for (const h of held) h.abort(new Error('test done'))
    await until(() => target().service.activeOperations === 0, 5000, 'held operations to be released')
  })

  it('routes around a peer that answers with forged data', async () => {
    // The evil peer speaks the request protocol and always claims to have the data.
    await evil.handle(REQUEST_PROTOCOL, async (stream) => {
      const pb = pbStream(stream).pb(Frame)
      await pb.read()
      await pb.write({
        type: FrameType.DATA_FOUND,
        dataFound: { block: chk(randomBytes(64)).block, source: { peerId: evil.peerId.toMultihash().bytes, multiaddrs: [] }, hops: 0 }
      })
      await stream.close()
    })
    // A fresh connection, so that identify tells the target about the new protocol.
    await evil.hangUp(target().libp2p.peerId)
    await evil.dial(target().libp2p.getMultiaddrs()[0])
    await until(() => target().service.core.table.has(evil.peerId.toString()), 10_000, 'evil peer in the routing table')
    // Choose content whose key is closer to the evil peer than to the honest neighbour,
    // so the requester tries the liar first.
    const evilLoc = peerKey(evil.peerId).loc
    const honestLoc = peerKey(net.nodes[1].libp2p.peerId).loc
    let c = chk(randomBytes(200))
    while (distance(c.key.loc, evilLoc) >= distance(c.key.loc, honestLoc)) c = chk(randomBytes(200))
    // Node 2 holds it as relayed data (its own insert would stay in its client cache, out of reach).
    await net.nodes[2].store.put(c.key, Block.encode(c.block))
    const got = await target().service.request(c.key, { htl: 5 })
    assert.ok(Buffer.from(got.block.data).equals(Buffer.from(c.block.data)), 'got the genuine block')
    assert.ok(got.hops >= 2, 'the forged answer cost a hop and was routed around')
    assert.equal(target().service.core.table.has(evil.peerId.toString()), false, 'the liar was dropped from the routing table')
  })

  it('keeps serving honest peers afterwards, with nothing leaked', async () => {
    const c = chk(randomBytes(300))
    await net.nodes[0].service.insert(c.key, c.block, { htl: 1 })
    const got = await net.nodes[2].service.request(c.key, { htl: 5 })
    assert.ok(Buffer.from(got.block.data).equals(Buffer.from(c.block.data)))
    for (const n of net.nodes) await until(() => n.service.activeOperations === 0, 5000, 'no operations left')
  })
})

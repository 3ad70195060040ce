/**
 * A hostile peer must not be able to grow this node's state, take over its operations,
 * race its per-peer limits, leak its announcement state, or make it dial addresses of the
 * attacker's choosing (regressions for a security review's findings).
 */
import { pbStream } from '@libp2p/utils'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { Error as WireError, Frame, FrameType, KeyType } from '../../proto/warren.js'
import { ANNOUNCE_PROTOCOL, INSERT_PROTOCOL, REQUEST_PROTOCOL } from '../../src/constants.js'
import { ChkType, encodeChk } from '../../src/keys/chk.js'
import { RoutingKey } from '../../src/keys/routing-key.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createNetwork, createNode, until } from '../helpers/network.js'
import { createRawPeer } from '../helpers/raw-peer.js'
import { randomBytes } from '../helpers/seed.js'
import type { TestNetwork } from '../helpers/network.js'
import type { RawPeer } from '../helpers/raw-peer.js'
import type { WarrenNode } from '../../src/node.js'
import type { Stream } from '@libp2p/interface'
import type { ProtobufMessageStream } from '@libp2p/utils'

const MAX_OPS = 4

async function fakePeerRef (addr: string): Promise<{ peerId: Uint8Array<ArrayBuffer>, multiaddrs: Array<Uint8Array<ArrayBuffer>> }> {
  const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  return { peerId: id.toMultihash().bytes, multiaddrs: [multiaddr(addr).bytes] }
}

describe('hostile peers and node state', () => {
  let net: TestNetwork
  let evil: RawPeer
  let target: WarrenNode

  async function open (protocol: string): Promise<{ s: Stream, pb: ProtobufMessageStream<Frame, Stream> }> {
    const s = await evil.dialProtocol(target.libp2p.getMultiaddrs()[0], protocol)
    return { s, pb: pbStream(s).pb(Frame) }
  }

  before(async () => {
    net = await createNetwork(1, { service: { maxOpsPerPeer: MAX_OPS }, core: { hopTimeoutMs: 1000, seenCacheSize: 8 } })
    target = net.nodes[0]
    evil = await createRawPeer()
    await evil.start()
  })

  after(async () => {
    await evil.stop()
    await net.stop()
  })

  it('does not grow the peer store from peer references in messages', async () => {
    const before = (await target.libp2p.peerStore.all()).length
    for (let i = 0; i < 50; i++) {
      const { s, pb } = await open(INSERT_PROTOCOL)
      await pb.write({ type: FrameType.INSERT, insert: { id: BigInt(10_000 + i), key: randomBytes(32), htl: 0, source: await fakePeerRef(`/ip4/127.0.0.1/tcp/${1000 + i}`) } })
      assert.equal((await pb.read()).type, FrameType.ALL_CLEAR)
      s.abort(new Error('never sending the data'))
    }
    await until(() => target.service.activeOperations === 0, 10_000, 'abandoned inserts released')
    assert.ok((await target.libp2p.peerStore.all()).length <= before + 1, 'at most the evil peer itself was added')
  })

  it('refuses concurrent operations past the per-peer limit (no race)', async () => {
    const streams = await Promise.all(Array.from({ length: 3 * MAX_OPS }, async () => await open(INSERT_PROTOCOL)))
    const answers = await Promise.all(streams.map(async ({ pb }, i) => {
      await pb.write({ type: FrameType.INSERT, insert: { id: BigInt(20_000 + i), key: randomBytes(32), htl: 0, source: await fakePeerRef('/ip4/127.0.0.1/tcp/1') } })
      return (await pb.read()).type
    }))
    assert.equal(answers.filter((t) => t === FrameType.ALL_CLEAR).length, MAX_OPS)
    assert.equal(answers.filter((t) => t === FrameType.ERROR).length, 2 * MAX_OPS)
    for (const { s } of streams) s.abort(new Error('done'))
    await until(() => target.service.activeOperations === 0, 10_000, 'slots released')
  })

  it('never lets a replayed ID take over an operation in progress, even after the seen cache forgot it', async () => {
    // A local request that waits on the evil peer (which never answers) stays in progress.
    let held: Stream | undefined
    await evil.handle(REQUEST_PROTOCOL, (stream) => { held = stream })
    // A fresh connection, so that identify tells the target about the new protocol.
    await evil.hangUp(target.libp2p.peerId)
    await evil.dial(target.libp2p.getMultiaddrs()[0])
    await until(() => target.service.core.table.has(evil.peerId.toString()), 10_000, 'evil peer routable')
    const request = target.service.request(RoutingKey.hash(randomBytes(8)), { htl: 3 })
    await until(() => held !== undefined, 5000, 'the request to reach the evil peer')
    const seenId = (await pbStream(held!).pb(Frame).read()).request?.id
    assert.ok(seenId !== undefined)
    // Push the ID out of the (8-entry) seen cache, then replay it.
    for (let i = 0; i < 12; i++) {
      const { pb } = await open(REQUEST_PROTOCOL)
      await pb.write({ type: FrameType.REQUEST, request: { id: BigInt(30_000 + i), key: randomBytes(32), htl: 0 } })
      await pb.read()
    }
    const { pb } = await open(REQUEST_PROTOCOL)
    await pb.write({ type: FrameType.REQUEST, request: { id: seenId, key: randomBytes(32), htl: 0 } })
    assert.equal((await pb.read()).type, FrameType.REJECTED_LOOP)
    // The original request still ends by itself (its hop times out) instead of hanging.
    await assert.rejects(request)
    held!.abort(new Error('done'))
    await evil.unhandle(REQUEST_PROTOCOL)
  })

  it('releases announcement state when the upstream fails after the commit, and caps a huge HTL', async () => {
    const me = { peerId: evil.peerId.toMultihash().bytes, multiaddrs: [] }
    for (const htl of [0, 2 ** 32 - 1]) {
      const { s, pb } = await open(ANNOUNCE_PROTOCOL)
      await pb.write({ type: FrameType.ANNOUNCE, announce: { id: BigInt(40_000 + (htl === 0 ? 0 : 1)), htl, node: me, commitments: [randomBytes(32)] } })
      const commit = await pb.read({ signal: AbortSignal.timeout(10_000) })
      assert.equal(commit.type, FrameType.ANNOUNCE_COMMIT)
      await pb.write({ type: FrameType.ERROR, error: { code: WireError.Code.INTERNAL, message: 'changed my mind' } })
      s.abort(new Error('gone'))
    }
    await until(() => target.service.activeOperations === 0, 10_000, 'announcement state released')
  })

  it('refuses a first-hop announcement of somebody else', async () => {
    const { pb } = await open(ANNOUNCE_PROTOCOL)
    await pb.write({ type: FrameType.ANNOUNCE, announce: { id: 50_000n, htl: 2, node: await fakePeerRef('/ip4/127.0.0.1/tcp/1'), commitments: [randomBytes(32)] } })
    const f = await pb.read()
    assert.equal(f.type, FrameType.ERROR)
    assert.match(f.error?.message ?? '', /must come from the node it announces/)
  })
})

describe('addresses learnt from peers', () => {
  for (const allow of [false, true]) {
    it(allow ? 'are dialled when private addresses are allowed (control)' : 'are never dialled inside private ranges by default', async () => {
      let connections = 0
      const server = createServer((sock) => { connections++; sock.destroy() })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      const port = (server.address() as { port: number }).port
      const { node, dir } = await createNode({ service: { allowPrivateAddrs: allow }, core: { hopTimeoutMs: 1000 } })
      const evil = await createRawPeer()
      await evil.start()
      try {
        // The evil peer inserts a genuine block naming a fake data source at our listener...
        const c = encodeChk(ChkType.DATA, randomBytes(100))
        const s = await evil.dialProtocol(node.libp2p.getMultiaddrs()[0], INSERT_PROTOCOL)
        const pb = pbStream(s).pb(Frame)
        await pb.write({ type: FrameType.INSERT, insert: { id: 1n, key: c.routingKey.bytes as Uint8Array<ArrayBuffer>, htl: 0, source: await fakePeerRef(`/ip4/127.0.0.1/tcp/${port}`) } })
        assert.equal((await pb.read()).type, FrameType.ALL_CLEAR)
        await pb.write({ type: FrameType.INSERT_DATA, insertData: { block: { type: KeyType.CHK, data: c.block, pubkey: new Uint8Array(), signature: new Uint8Array(), headers: new Uint8Array() } } })
        assert.equal((await pb.read()).type, FrameType.INSERT_STORED)
        // ...so the node tries to connect to that source before it routes to it (issue 11: only
        // verified peers are routes), at the address only if private addresses are allowed.
        await until(() => node.service.core.pending.size === 0, 10_000, 'the source verified or dropped')
        assert.equal(connections > 0, allow, `connections to the attacker's address: ${connections}`)
        const near = new Uint8Array(c.routingKey.bytes)
        near[31] ^= 1
        await assert.rejects(node.service.request(new RoutingKey(near), { htl: 2 }))
        assert.equal(node.service.core.table.size, 0, 'the made-up source never became a route')
      } finally {
        await evil.stop()
        await node.stop()
        server.close()
        await rm(dir, { recursive: true, force: true })
      }
    })
  }
})

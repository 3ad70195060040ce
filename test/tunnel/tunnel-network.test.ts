/**
 * SSL-through-SSL with real nodes (issue 13, "Done when"): A (requester) -> M1 -> M2 -> T
 * (trusted peer), A and T not neighbours. Multi-segment get and put through T with SHA-256
 * matching; instrumented middlemen (every byte of every stream they handle, all protocols)
 * that never see the requested key, the URI, its decryption key or the data in plaintext;
 * and a control run without the tunnel in which the same instrumentation does see the
 * requested key (so a clean tunnel run is not a blind tap).
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { parseUri } from '../../src/keys/uri.js'
import { TunnelFrame } from '../../proto/tunnel.js'
import { CHUNK_SIZE_CLASSES, TAG_BYTES, TUNNEL_PROTOCOL, TUNNEL_SIZE_CLASSES } from '../../src/tunnel/constants.js'
import { splitFrames } from '../helpers/mixed-workload.js'
import { serveOwnBlocks } from '../helpers/network.js'
import { randomBytes } from '../helpers/seed.js'
import { Tap, tunnelChain } from './tap.js'
import type { ChkUri } from '../../src/keys/uri.js'
import type { TestNetwork } from '../helpers/network.js'

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
// Two segments: more than SEGMENT_DATA_BLOCKS (128) blocks of 32 KiB.
const SIZE = 4 * 1024 * 1024 + 300 * 1024

async function collect (it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const p of it) parts.push(p)
  return Buffer.concat(parts)
}

/** The varint-length-prefixed frames in one direction of a stream. */
function frames (bytes: Buffer): TunnelFrame[] {
  return splitFrames(bytes).map((body) => TunnelFrame.decode(body))
}

/** Windows of `data` that must never cross a middleman in the clear. */
function windows (data: Uint8Array): Uint8Array[] {
  return [0, 100_000, 1_000_000, data.length - 64].map((o) => data.subarray(o, o + 48))
}

describe('tunnels through two untrusted middlemen', () => {
  let net: TestNetwork
  let m1: Tap
  let m2: Tap
  const [A, M1, M2, T] = [0, 1, 2, 3]

  before(async () => {
    // Deterministic HTL: T's own inserts (HTL 1, below) must end at M2, never reach A (A would
    // learn T as their source, route to it and dial it: A and T would become neighbours).
    net = await tunnelChain()
    m1 = await Tap.on(net.nodes[M1])
    m2 = await Tap.on(net.nodes[M2])
  })
  after(async () => { await net.stop() })

  const notNeighbours = (): void => {
    assert.ok(!net.nodes[A].libp2p.getPeers().some((p) => p.toString() === net.nodes[T].peerId), 'A and T must not be neighbours')
  }

  let got: { uri: string, data: Buffer }

  it('gets a multi-segment file through T; the middlemen never see its key, URI or content', async () => {
    const data = randomBytes(SIZE)
    // In T's store only (HTL 0): the blocks never cross a middleman before the test looks.
    const { uri } = await net.nodes[T].client.put([data], { htl: 0 })
    // T's own put sits in its client cache; the control run below fetches it from T's store.
    assert.ok(await serveOwnBlocks(net.nodes[T]) > 128)
    m1.clear()
    m2.clear()
    notNeighbours()
    const f = await net.nodes[A].tunnels.get('t', uri)
    assert.equal(f.size, SIZE)
    const back = await collect(f.stream)
    assert.equal(sha(back), sha(data))
    notNeighbours()
    got = { uri, data }

    const u = parseUri(uri) as ChkUri
    for (const tap of [m1, m2]) {
      assert.ok(tap.bytes(TUNNEL_PROTOCOL) > SIZE, 'the file crossed this middleman, inside the tunnel')
      assert.equal(tap.sees(u.routingKey.bytes), false, 'routing key')
      assert.equal(tap.sees(u.decryptKey), false, 'decryption key')
      assert.equal(tap.sees(Buffer.from(uri)), false, 'URI')
      for (const w of windows(data)) assert.equal(tap.sees(w), false, 'plaintext')
    }
    // Padding: every sealed payload on the wire has one of the declared sizes.
    const sizes = new Map<string, number>()
    for (const dir of m1.directions(TUNNEL_PROTOCOL)) {
      for (const f of frames(dir)) {
        const ok = f.type === TunnelFrame.Type.OPEN
          ? TUNNEL_SIZE_CLASSES.some((c) => c + TAG_BYTES === f.sealed.length)
          : f.type === TunnelFrame.Type.CHUNK ? CHUNK_SIZE_CLASSES.some((c) => c + TAG_BYTES === f.sealed.length) : f.sealed.length === 0
        assert.ok(ok, `${f.type} frame with a ${f.sealed.length}-byte payload`)
        const k = `${f.type}:${f.sealed.length}`
        sizes.set(k, (sizes.get(k) ?? 0) + 1)
      }
    }
    assert.ok((sizes.get(`CHUNK:${CHUNK_SIZE_CLASSES[1] + TAG_BYTES}`) ?? 0) > SIZE / CHUNK_SIZE_CLASSES[1], `bulk chunks seen: ${JSON.stringify([...sizes])}`)
    assert.ok([...sizes.keys()].some((k) => k.startsWith('OPEN:')), 'the OPEN was seen')
  })

  it('puts a multi-segment file through T; A\'s neighbour never sees the content or the URI', async () => {
    const data = randomBytes(SIZE)
    m1.clear()
    m2.clear()
    // HTL 1 for T's own inserts: with more, the inserts that carry T as their source would
    // reach A, which would then route to T and dial it (the network's doing, not the tunnel's).
    const { uri } = await net.nodes[A].tunnels.put('t', (function * () { for (let o = 0; o < data.length; o += 100_000) yield data.subarray(o, o + 100_000) })(), { mime: 'application/octet-stream', htl: 1 })
    notNeighbours()
    // T inserted it into the network itself (its own traffic, not linked to A): it reads back.
    assert.equal(sha(await net.nodes[T].client.get(uri)), sha(data))
    const u = parseUri(uri) as ChkUri
    assert.ok(m1.with(net.nodes[A].peerId).bytes(TUNNEL_PROTOCOL) > SIZE)
    for (const tap of [m1, m2]) {
      assert.equal(tap.sees(u.decryptKey), false, 'decryption key')
      assert.equal(tap.sees(Buffer.from(uri)), false, 'URI')
      for (const w of windows(data)) assert.equal(tap.sees(w), false, 'plaintext')
    }
    const fromA = m1.with(net.nodes[A].peerId)
    assert.equal(fromA.sees(u.routingKey.bytes), false, 'nothing from A names the key')
  })

  it('control run without the tunnel: the same instrumentation sees the key A asks for', async () => {
    m1.clear()
    const plain = await net.nodes[A].client.get(got.uri)
    assert.equal(sha(plain), sha(got.data))
    const u = parseUri(got.uri) as ChkUri
    assert.equal(m1.with(net.nodes[A].peerId).sees(u.routingKey.bytes), true, 'the tap sees a plain request\'s key')
  })
})

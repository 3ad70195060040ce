/**
 * Tunnels under attack, with real nodes A -> M -> T: an OPEN frame written by hand on the
 * wire (as a hostile requester or middleman would) is refused with the one generic ERROR when
 * any region of its header or payload is changed or spliced from another tunnel, and when it
 * is replayed, also to a restarted T; an undecodable or oversized frame gets the same ERROR; a rotated key is picked up from T's reply and used; a
 * get and a put through the client API with `via`. T counts each refusal by reason in its
 * metrics (warren_tunnel_refusals_total: crypto, unknown_key, replay).
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { TunnelFrame, TunnelRequest } from '../../proto/tunnel.js'
import { createApiServer } from '../../src/api/server.js'
import { defaultConfig } from '../../src/config.js'
import { createWarrenNode } from '../../src/node.js'
import { peerKey } from '../../src/protocol/address-book.js'
import { MAX_TUNNEL_FRAME_BYTES, TUNNEL_PROTOCOL } from '../../src/tunnel/constants.js'
import { sealRequest } from '../../src/tunnel/seal.js'
import { tunnelLink } from '../../src/tunnel/session.js'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { createNetwork, until } from '../helpers/network.js'
import { randomBytes } from '../helpers/seed.js'
import { fixTopology } from './tap.js'
import type { WarrenNode } from '../../src/node.js'
import type { TestNetwork } from '../helpers/network.js'

const { OPEN, ACCEPTED, ERROR } = TunnelFrame.Type
let nextOp = 1000n

/** A valid OPEN for a CARD request to `t` (sealed to its current card). */
async function openFrame (t: WarrenNode, op = nextOp++): Promise<TunnelFrame> {
  const card = await t.tunnel.card()
  const req: TunnelRequest = { op: TunnelRequest.Op.CARD, target: '', htl: 0, mime: '', insert: false, bodySize: 0n }
  const s = await sealRequest(card.tunnelKey, peerKey(peerIdFromString(t.peerId)).bytes, op, card.keyEpoch, req)
  return { type: OPEN, header: s.header, sealed: s.sealed, htl: 10, remainingHtl: 0, hops: 0 }
}

/** Write `f` from `from` to its neighbour `to` on the tunnel protocol; the first answer's type. */
async function send (from: WarrenNode, to: string, f: TunnelFrame): Promise<TunnelFrame.Type> {
  const l = tunnelLink(to, await from.libp2p.dialProtocol(peerIdFromString(to), TUNNEL_PROTOCOL))
  try {
    await l.pb.write(f)
    return (await l.pb.read({ signal: AbortSignal.timeout(30_000) })).type
  } finally {
    l.stream.abort(new Error('test done'))
  }
}

/** `node`'s trusted-peer refusals by reason and its accepted tunnels, from its metrics. */
async function refusals (node: WarrenNode): Promise<Record<string, number>> {
  const families = parsePrometheusTextFormat(await node.metrics!.text())
  const out: Record<string, number> = {}
  for (const m of families.find((f) => f.name === 'warren_tunnel_refusals_total')?.metrics ?? []) out[m.labels?.reason ?? ''] = Number(m.value)
  const ops = families.find((f) => f.name === 'warren_tunnel_operations_total')?.metrics ?? []
  out.accepted = Number(ops.find((m) => m.labels?.role === 'trusted_peer' && m.labels?.outcome === 'accepted')?.value ?? 0)
  return out
}

function flip (b: Uint8Array, i: number): Uint8Array<ArrayBuffer> {
  const c = new Uint8Array(b)
  c[i] ^= 0x20
  return c
}

describe('tunnels under attack (A -> M -> T)', () => {
  let net: TestNetwork
  const [A, M, T] = [0, 1, 2]

  before(async () => {
    net = await createNetwork(3, { metrics: true })
    fixTopology(net.nodes)
    await net.connect(A, M)
    await net.connect(M, T)
    await until(() => net.nodes[M].tunnels.core.table.peerSet().size === 2 && net.nodes[A].tunnels.core.table.size === 1, 10_000, 'tunnel routes')
    await net.nodes[A].tunnel.trustAdd('t', (await net.nodes[T].tunnel.card()).text)
  })
  after(async () => { await net.stop() })

  it('accepts an untouched OPEN, and refuses with the generic ERROR a change to any region or a splice', async () => {
    const t = net.nodes[T]
    const m = net.nodes[M].peerId
    assert.equal(await send(net.nodes[A], m, await openFrame(t)), ACCEPTED)
    const cases: Array<[string, (f: TunnelFrame) => TunnelFrame]> = [
      ['first payload byte', (f) => ({ ...f, sealed: flip(f.sealed, 0) })],
      ['a padding byte', (f) => ({ ...f, sealed: flip(f.sealed, 600) })],
      ['the tag', (f) => ({ ...f, sealed: flip(f.sealed, f.sealed.length - 1) })],
      ['enc', (f) => ({ ...f, header: { ...f.header!, enc: flip(f.header!.enc, 5) } })],
      ['key epoch', (f) => ({ ...f, header: { ...f.header!, keyEpoch: f.header!.keyEpoch + 1n } })],
      ['size class', (f) => ({ ...f, header: { ...f.header!, sizeClass: 1 } })]
    ]
    for (const [what, change] of cases) {
      assert.equal(await send(net.nodes[A], m, change(await openFrame(t))), ERROR, what)
    }
    // The op ID is bound too: the same sealed payload under a fresh ID (a fresh ID, or the
    // middleman would answer LOOP before T ever sees it).
    const f = await openFrame(t)
    assert.equal(await send(net.nodes[A], m, { ...f, header: { ...f.header!, op: nextOp++ } }), ERROR, 'op ID')
    // Splicing: one tunnel's payload (and enc) under another's header.
    const x = await openFrame(t)
    const y = await openFrame(t)
    assert.equal(await send(net.nodes[A], m, { ...y, sealed: x.sealed }), ERROR, 'payload spliced')
    const z = await openFrame(t)
    assert.equal(await send(net.nodes[A], m, { ...z, sealed: x.sealed, header: { ...z.header!, enc: x.header!.enc } }), ERROR, 'payload and enc spliced')
    // A changed destination is routed elsewhere and never accepted.
    assert.notEqual(await send(net.nodes[A], m, { ...f, header: { ...f.header!, op: nextOp++, dest: flip(f.header!.dest, 0) } }), ACCEPTED, 'dest')
    // T told them apart in its metrics (the peer heard the same ERROR each time): an unknown
    // key epoch, and the 7 other changes and splices that reached T failing to open (a wrong
    // size class never reaches T: M refuses a header whose size class does not fit the payload).
    assert.deepEqual(await refusals(t), { unknown_key: 1, crypto: 7, accepted: 1 })
  })

  it('answers an undecodable or oversized first frame with the generic ERROR (found by the fuzz campaign: it reset the stream)', async () => {
    const m = peerIdFromString(net.nodes[M].peerId)
    for (const bytes of [Uint8Array.of(0x12, 0xc8, 0x01, 0x01), Uint8Array.of(0x08, 0x80), new Uint8Array(MAX_TUNNEL_FRAME_BYTES + 1).fill(7)]) {
      const stream = await net.nodes[A].libp2p.dialProtocol(m, TUNNEL_PROTOCOL)
      try {
        const lp = lpStream(stream, { maxDataLength: 4 * MAX_TUNNEL_FRAME_BYTES })
        await lp.write(bytes)
        const answer = TunnelFrame.decode((await lp.read({ signal: AbortSignal.timeout(30_000) })).subarray())
        assert.equal(answer.type, ERROR, `answer to ${bytes.length} bytes`)
      } finally {
        stream.abort(new Error('test done'))
      }
    }
  })

  it('refuses a replayed OPEN, on the same path and at a restarted T', async () => {
    const f = await openFrame(net.nodes[T])
    assert.equal(await send(net.nodes[A], net.nodes[M].peerId, f), ACCEPTED)
    assert.notEqual(await send(net.nodes[A], net.nodes[M].peerId, f), ACCEPTED, 'replay through the same path')

    // Restart T from its data dir (same identity, keys and replay record; a fresh routing core).
    const dir = net.dirs[T]
    await net.nodes[T].stop()
    const t2 = await createWarrenNode({ ...defaultConfig(dir), listen: ['/ip4/127.0.0.1/tcp/0'], storeBytes: 64 * 1024 * 1024 }, { localTestnet: true, arkPublish: false, metrics: true })
    await t2.start()
    fixTopology([t2])
    net.nodes[T] = t2
    // The replay straight to T from a new neighbour: no middleman's loop check can stop it, T's replay record must.
    await net.nodes[A].libp2p.dial(t2.libp2p.getMultiaddrs()[0])
    await until(() => net.nodes[A].tunnels.core.table.has(t2.peerId), 10_000, 'A -> T tunnel route')
    assert.equal(await send(net.nodes[A], t2.peerId, f), ERROR, 'replay after a restart')
    assert.equal(await send(net.nodes[A], t2.peerId, await openFrame(t2)), ACCEPTED, 'a fresh request still works')
    assert.deepEqual(await refusals(t2), { replay: 1, accepted: 1 }, 'the restarted T counted the replay as one')
    await net.nodes[A].libp2p.hangUp(peerIdFromString(t2.peerId))
    await net.connect(M, T)
    await until(() => !net.nodes[A].libp2p.getPeers().some((p) => p.toString() === t2.peerId), 10_000, 'A and T apart again')
  })

  it('picks up a rotated key from T\'s reply and uses it', async () => {
    const before = net.nodes[A].tunnel.trusted('t').keyEpoch
    const rotated = await net.nodes[T].tunnel.rotate()
    assert.ok(rotated.epoch > before)
    // Sealed to the old key (still in its grace period); T's reply carries the new card.
    assert.equal(await net.nodes[A].tunnels.refreshCard('t'), true)
    assert.equal(net.nodes[A].tunnel.trusted('t').keyEpoch, rotated.epoch)
    const data = randomBytes(200_000)
    const { uri } = await net.nodes[T].client.put([data], { htl: 0 })
    const f = await net.nodes[A].tunnels.get('t', uri)
    const parts: Uint8Array[] = []
    for await (const p of f.stream) parts.push(p)
    assert.deepEqual(Buffer.concat(parts), data)
  })

  it('gets and puts through the client API with via', async () => {
    const app = await createApiServer(net.nodes[A])
    try {
      const data = randomBytes(300_000)
      const put = await app.inject({ method: 'POST', url: '/api/v1/put?via=t&htl=1', payload: data, headers: { 'content-type': 'application/octet-stream' } })
      assert.equal(put.statusCode, 200, put.body)
      const uri = put.json().uri as string
      const get = await app.inject({ method: 'GET', url: `/api/v1/get?uri=${encodeURIComponent(uri)}&via=t` })
      assert.equal(get.statusCode, 200, get.body.slice(0, 200))
      assert.equal(createHash('sha256').update(get.rawPayload).digest('hex'), createHash('sha256').update(data).digest('hex'))
      // Another routing key (its first character changed): nothing there.
      const other = uri.replace(/@(.)/, (_, c: string) => c === 'A' ? '@B' : '@A')
      const missing = await app.inject({ method: 'GET', url: `/api/v1/get?uri=${encodeURIComponent(other)}&via=t` })
      assert.notEqual(missing.statusCode, 200)
      const refresh = await app.inject({ method: 'POST', url: '/api/v1/trust/refresh?name=t' })
      assert.equal(refresh.statusCode, 200, refresh.body)
      assert.equal(refresh.json().changed, false, 'the key rotated in the test before is already known')
      const unknown = await app.inject({ method: 'GET', url: `/api/v1/get?uri=${encodeURIComponent(uri)}&via=nobody` })
      assert.equal(unknown.statusCode, 400)
      assert.match(unknown.json().error, /no trusted peer named "nobody"/)
    } finally {
      await app.close()
    }
  })
})

/**
 * Signed-key puts through a trusted peer (issue 13, item 3): `warren put FILE --via NAME` with
 * --ssk, --ksk or --update (the API's /api/v1/put?via=&ssk=|ksk=|update=). A (requester) -> M1
 * -> M2 -> T with real nodes, A and T not neighbours: T inserts the content as a CHK and then
 * the blocks A signed; the keys read back elsewhere in the network; the private key never
 * crosses a middleman nor reaches T (every byte of every stream of M1 and T is tapped), and
 * A's neighbour never sees the content or a routing key of the signed blocks.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { keygen } from '../../src/client/key-client.js'
import { parseUri } from '../../src/keys/uri.js'
import { TUNNEL_PROTOCOL } from '../../src/tunnel/constants.js'
import { randomBytes } from '../helpers/seed.js'
import { listenApi, Tap, tunnelChain } from './tap.js'
import type { SskInsertUri } from '../../src/keys/uri.js'
import type { TestNetwork } from '../helpers/network.js'
import type { FastifyInstance } from 'fastify'

describe('signed-key puts through a trusted peer', () => {
  const [A, M1, M2, T] = [0, 1, 2, 3]
  let net: TestNetwork
  let app: FastifyInstance
  let base: string
  let m1: Tap
  let t: Tap

  before(async () => {
    net = await tunnelChain()
    const api = await listenApi(net.nodes[A])
    app = api.app
    base = api.base
    m1 = await Tap.on(net.nodes[M1])
    t = await Tap.on(net.nodes[T])
  })
  after(async () => {
    await app?.close()
    await net?.stop()
  })

  // HTL 1 for T's inserts: they end at M2 (with more they would carry T as their source up to
  // A, which could then route to T directly: the network's doing, not the tunnel's).
  async function put (body: Uint8Array, headers: Record<string, string>): Promise<Record<string, any>> {
    const res = await fetch(`${base}/api/v1/put?via=t&htl=1`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', ...headers }, body: Buffer.from(body) })
    const text = await res.text()
    assert.equal(res.status, 200, text)
    return JSON.parse(text)
  }

  const notNeighbours = (): void => {
    assert.ok(!net.nodes[A].libp2p.getPeers().some((p) => p.toString() === net.nodes[T].peerId), 'A and T must not be neighbours')
  }

  it('SSK: A signs, T inserts; the document reads back at M2; the private key stays at A', async () => {
    const { insertUri, requestUri } = keygen()
    const privateKey = (parseUri(insertUri) as SskInsertUri).privateKey
    const data = randomBytes(70_000)
    m1.clear()
    t.clear()
    const r = await put(data, { 'x-warren-ssk': `${insertUri}doc` })
    assert.equal(r.uri, `${requestUri}doc`)
    assert.equal(r.via, 't')
    assert.ok(r.stored >= 1, `the signed block was stored (${r.stored})`)
    assert.deepEqual(Buffer.from(await net.nodes[M2].client.get(r.uri)), Buffer.from(data))
    notNeighbours()
    for (const tap of [m1, t]) {
      assert.equal(tap.sees(privateKey), false, 'the private key left A')
      assert.equal(tap.sees(Buffer.from(insertUri)), false, 'the insert URI left A')
    }
    assert.ok(m1.bytes(TUNNEL_PROTOCOL) > data.length, 'everything crossed M1 inside tunnels')
    assert.equal(m1.with(net.nodes[A].peerId).sees(data.subarray(1000, 1048)), false, 'M1 saw the content')
  })

  it('KSK: a keyword key signed at A reads back at M2', async () => {
    const data = randomBytes(5000)
    const r = await put(data, { 'x-warren-ksk': 'tunnel-signed-test' })
    assert.equal(r.uri, 'warren:KSK@tunnel-signed-test')
    assert.deepEqual(Buffer.from(await net.nodes[M2].client.get(r.uri)), Buffer.from(data))
  })

  it('updatable: two editions through T; a reader resolves the newer one', async () => {
    const { insertUri, requestUri } = keygen()
    const first = randomBytes(3000)
    const second = randomBytes(3000)
    const r1 = await put(first, { 'x-warren-update': `${insertUri}blog` })
    const r2 = await put(second, { 'x-warren-update': `${insertUri}blog` })
    assert.equal(r1.edition, 0)
    assert.equal(r2.edition, 1)
    assert.deepEqual(Buffer.from(await net.nodes[M2].client.get(`${requestUri}blog`)), Buffer.from(second))
    notNeighbours()
  })
})

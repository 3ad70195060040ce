/**
 * The gateway's trusted-peer setting (issue 13, item 3): with `gatewayVia` set, the gateway
 * fetches every key path through that trusted peer, sealed end to end. A (gateway) -> M1 -> M2
 * -> T with real nodes, A and T not neighbours: the page and a byte range come back intact,
 * and A's only neighbour never sees the key's routing key, while a direct download (the
 * control run) shows it to the same instrumentation. The /settings page saves the setting into
 * config.json, where the next start reads it, and refuses a name that is not one.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { resolveConfig } from '../../src/config.js'
import { parseUri } from '../../src/keys/uri.js'
import { TUNNEL_PROTOCOL } from '../../src/tunnel/constants.js'
import { serveOwnBlocks } from '../helpers/network.js'
import { randomBytes } from '../helpers/seed.js'
import { listenApi, Tap, tunnelChain } from '../tunnel/tap.js'
import type { ChkUri } from '../../src/keys/uri.js'
import type { TestNetwork } from '../helpers/network.js'
import type { FastifyInstance } from 'fastify'

describe('the gateway fetches through a trusted peer (gatewayVia)', () => {
  const [A, M1, , T] = [0, 1, 2, 3]
  let net: TestNetwork
  let app: FastifyInstance
  let base: string
  let m1: Tap
  let uri: string
  const data = randomBytes(300_000)

  before(async () => {
    net = await tunnelChain({ config: { gatewayVia: 't' } })
    // At T only (HTL 0), served from its store.
    uri = (await net.nodes[T].client.put([data], { htl: 0, mime: 'application/octet-stream' })).uri
    await serveOwnBlocks(net.nodes[T])
    const api = await listenApi(net.nodes[A])
    app = api.app
    base = api.base
    m1 = await Tap.on(net.nodes[M1])
  })
  after(async () => {
    await app?.close()
    await net?.stop()
  })

  const key = (): Uint8Array => (parseUri(uri) as ChkUri).routingKey.bytes
  const path = (): string => '/' + uri.replace(/^warren:/, '')

  it('serves a key path fetched by T; A\'s neighbour sees tunnel traffic, never the key', async () => {
    m1.clear()
    const res = await fetch(base + path())
    assert.equal(res.status, 200)
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), Buffer.from(data))
    assert.ok(m1.bytes(TUNNEL_PROTOCOL) > data.length, 'the content crossed M1 inside the tunnel')
    assert.equal(m1.sees(key()), false, 'M1 saw the routing key')
    assert.ok(!net.nodes[A].libp2p.getPeers().some((p) => p.toString() === net.nodes[T].peerId), 'A and T are not neighbours')
  })

  it('serves a byte range through T', async () => {
    const res = await fetch(base + path(), { headers: { range: 'bytes=100000-100099' } })
    assert.equal(res.status, 206)
    assert.equal(res.headers.get('content-range'), `bytes 100000-100099/${data.length}`)
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), Buffer.from(data.subarray(100_000, 100_100)))
  })

  it('control run: a direct download shows the key to the same instrumentation', async () => {
    m1.clear()
    const res = await fetch(`${base}/api/v1/get?uri=${encodeURIComponent(uri)}`)
    assert.equal(res.status, 200)
    assert.equal(Buffer.from(await res.arrayBuffer()).length, data.length)
    assert.equal(m1.sees(key()), true, 'a direct request names the key to M1')
  })

  it('the settings page saves the trusted peer for the next start and refuses a bad name', async () => {
    const post = async (value: string): Promise<Response> => await fetch(`${base}/settings`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
      body: new URLSearchParams({ gatewayVia: value }).toString()
    })
    const bad = await post('not a name!')
    assert.equal(bad.status, 400)
    assert.match(await bad.text(), /invalid gateway trusted peer/)
    const dataDir = net.nodes[A].config.dataDir
    assert.equal((await resolveConfig({ dataDir }, {})).gatewayVia, '', 'nothing written')
    const ok = await post('friend')
    assert.equal(ok.status, 200)
    assert.equal((await resolveConfig({ dataDir }, {})).gatewayVia, 'friend', 'config.json has it for the next start')
  })
})

/**
 * The gateway's trusted-peer setting beyond single files (issue 13): with `gatewayVia` set, a
 * site under an updatable SSK (an index, two files, a subfolder without an index) is browsed
 * with the same pages as a gateway that fetches directly, and a bookmark's check for new
 * editions goes through T too. A (gateway) -> M1 -> M2 -> T with real nodes; the tapped M1
 * never sees a routing key of the site, its files, the signed document or its editions in A's
 * traffic, while the direct gateway on the same node (the control run) shows them to it.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import Fastify from 'fastify'
import { keygen } from '../../src/client/key-client.js'
import { editionName } from '../../src/client/updatable.js'
import { Bookmarks } from '../../src/gateway/bookmarks.js'
import { registerGateway } from '../../src/gateway/gateway.js'
import { sskRoutingKey } from '../../src/keys/ssk.js'
import { parseUri } from '../../src/keys/uri.js'
import { TUNNEL_PROTOCOL } from '../../src/tunnel/constants.js'
import { serveOwnBlocks } from '../helpers/network.js'
import { listenApi, Tap, tunnelChain } from '../tunnel/tap.js'
import type { SskUri } from '../../src/keys/ssk-uri.js'
import type { ChkUri } from '../../src/keys/uri.js'
import type { TestNetwork } from '../helpers/network.js'
import type { FastifyInstance } from 'fastify'

describe('the gateway through a trusted peer: sites and bookmarks (gatewayVia)', () => {
  const [A, M1, , T] = [0, 1, 2, 3]
  let net: TestNetwork
  let app: FastifyInstance
  let direct: FastifyInstance
  let base: string
  let directBase: string
  let m1: Tap
  const k = keygen()
  const doc = `${k.requestUri}blog`
  /** Routing keys A must never name to M1 when it goes through T. */
  const secrets: Uint8Array[] = []

  /** Publish a site at T only (HTL 0, served from its store) as the next edition of `doc`. */
  const publish = async (v: number): Promise<{ edition: number, site: string }> => {
    const t = net.nodes[T]
    const file = async (path: string, body: string, mime: string): Promise<{ path: string, uri: string, mime: string, size: number }> => {
      const uri = (await t.client.put([Buffer.from(body)], { htl: 0 })).uri
      secrets.push((parseUri(uri) as ChkUri).routingKey.bytes)
      return { path, uri, mime, size: body.length }
    }
    const entries = [
      await file('index.html', `<p>home v${v}</p><a href="docs/">docs</a>`, 'text/html'),
      await file('notes.txt', `notes v${v}`, 'text/plain'),
      await file('docs/guide.txt', `guide v${v}`, 'text/plain')
    ]
    const site = await t.client.putSite(entries, { htl: 0 })
    secrets.push((parseUri(site.uri) as ChkUri).routingKey.bytes)
    const r = await t.keys.publish({ uri: site.uri }, { kind: 'update', dest: `${k.insertUri}blog` }, { htl: 0 }) as { edition?: number }
    await serveOwnBlocks(t)
    const ref = parseUri(doc) as SskUri
    secrets.push(sskRoutingKey(ref).bytes, sskRoutingKey({ ...ref, name: editionName(ref.name, r.edition ?? -1) }).bytes)
    return { edition: r.edition ?? -1, site: site.uri }
  }

  before(async () => {
    net = await tunnelChain({ config: { gatewayVia: 't' } })
    const api = await listenApi(net.nodes[A])
    app = api.app
    base = api.base
    // The control: the same node's gateway without the setting.
    direct = Fastify({ logger: false })
    const bookmarks = await Bookmarks.open()
    await bookmarks.add(`warren:${doc.replace(/^warren:/, '')}`, 'blog')
    registerGateway(direct, net.nodes[A], { bookmarks })
    await direct.listen({ host: '127.0.0.1', port: 0 })
    const addr = direct.server.address()
    directBase = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`
    m1 = await Tap.on(net.nodes[M1])
  })
  after(async () => {
    await direct?.close()
    await app?.close()
    await net?.stop()
  })

  /** A's own traffic at M1 (T's lookups of what it does not hold cross M1 too, as any node's). */
  const seenFromA = (): boolean => secrets.some((s) => m1.with(net.nodes[A].peerId).sees(s))
  const site = `/${doc.replace(/^warren:/, '')}`
  const pages = ['', '/', '/notes.txt', '/docs/', '/docs', '/docs/guide.txt', '//docs/guide.txt', '/missing.txt']
  const browse = async (at: string): Promise<Array<{ path: string, status: number, url: string, type: string | null, body: string }>> => {
    const out = []
    for (const p of pages) {
      const res = await fetch(at + site + p, { headers: { accept: 'text/html' } })
      out.push({ path: p, status: res.status, url: new URL(res.url).pathname, type: res.headers.get('content-type'), body: await res.text() })
    }
    return out
  }

  it('browses a site (index, files, a subfolder listing) under an updatable key through T; M1 never sees its keys', async () => {
    assert.equal((await publish(0)).edition, 0)
    m1.clear()
    const byPath = new Map((await browse(base)).map((p) => [p.path, p]))
    assert.match(byPath.get('')?.body ?? '', /home v0/)
    assert.equal(byPath.get('')?.url, `${site}/0//`)
    assert.equal(byPath.get('/notes.txt')?.body, 'notes v0')
    assert.match(byPath.get('/docs/')?.body ?? '', /guide\.txt/, 'the subfolder\'s listing')
    assert.equal(byPath.get('/docs')?.url, `${site}/0//docs/`)
    assert.equal(byPath.get('/docs/guide.txt')?.body, 'guide v0')
    assert.equal(byPath.get('/missing.txt')?.status, 404)
    assert.ok(m1.bytes(TUNNEL_PROTOCOL) > 0, 'the pages crossed M1 inside tunnels')
    assert.equal(seenFromA(), false, 'M1 saw a routing key of the site in A\'s traffic')
    assert.ok(!net.nodes[A].libp2p.getPeers().some((p) => p.toString() === net.nodes[T].peerId), 'A and T are not neighbours')
  })

  it('checks a bookmark for new editions through T', async () => {
    const added = await fetch(`${base}/bookmarks`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
      body: new URLSearchParams({ uri: doc, title: 'blog' }).toString(),
      redirect: 'manual'
    })
    assert.equal(added.status, 303)
    const check = async (): Promise<{ edition?: number, current?: string, error?: string }> => {
      const list = await (await fetch(`${base}/api/v1/bookmarks`)).json() as Array<{ edition?: number, current?: string, error?: string }>
      assert.equal(list.length, 1)
      return list[0]
    }
    m1.clear()
    assert.equal((await check()).edition, 0)
    const next = await publish(1)
    assert.equal(next.edition, 1)
    const now = await check()
    assert.equal(now.edition, 1, now.error)
    assert.equal(now.current, next.site)
    assert.equal(seenFromA(), false, 'M1 saw the document or an edition in A\'s traffic')
  })

  it('control run: the direct gateway serves the same pages and names the keys to M1', async () => {
    const viaNow = await browse(base)
    assert.match(viaNow[0].body, /home v1/)
    m1.clear()
    const list = await (await fetch(`${directBase}/api/v1/bookmarks`)).json() as Array<{ edition?: number }>
    assert.equal(list[0].edition, 1)
    assert.equal(seenFromA(), true, 'a direct edition check names the document to M1')
    assert.deepEqual(await browse(directBase), viaNow)
  })
})

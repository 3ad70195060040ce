/**
 * Proxy downloads through a tunnel, with real nodes A -> M -> T: T runs an exit (config
 * `exit`, off by default: M, which does not, says so), fetches a page from a loopback server
 * (the test allowance) and sends it back sealed; with insert, the page also becomes a CHK.
 * The instrumented middleman never sees the URL or the page; the exit refuses a private URL
 * and A hears why through the tunnel.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { after, before, describe, it } from 'node:test'
import { createApiServer } from '../../src/api/server.js'
import { createNode, until } from '../helpers/network.js'
import { removeTempDir } from '../helpers/temp.js'
import { fixTopology, Tap } from './tap.js'
import type { WarrenNode } from '../../src/node.js'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

const PAGE = '<html><body>the censored article, word for word: ' + 'lorem ipsum '.repeat(3000) + '</body></html>'

async function collect (it: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Uint8Array[] = []
  for await (const p of it) parts.push(p)
  return Buffer.concat(parts).toString()
}

describe('proxy downloads through a tunnel', () => {
  let site: Server
  let url: string
  const nodes: WarrenNode[] = []
  const dirs: string[] = []
  let tap: Tap

  before(async () => {
    site = createServer((req, res) => {
      if (req.url === '/article') res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE)
      else res.writeHead(302, { location: 'http://192.168.0.1/admin' }).end()
    })
    await new Promise<void>((resolve) => { site.listen(0, '127.0.0.1', resolve) })
    const port = (site.address() as AddressInfo).port
    url = `http://127.0.0.1:${port}/article`
    for (const exit of [false, false, true]) {
      const { node, dir } = await createNode({ config: { exit }, exit: { testAllow: [{ address: '127.0.0.1', port }] } })
      nodes.push(node)
      dirs.push(dir)
    }
    fixTopology(nodes)
    const [a, m, t] = nodes
    await a.libp2p.dial(m.libp2p.getMultiaddrs()[0])
    await m.libp2p.dial(t.libp2p.getMultiaddrs()[0])
    await until(() => m.tunnels.core.table.size === 2 && a.tunnels.core.table.size === 1 && t.tunnels.core.table.size === 1, 10_000, 'tunnel routes')
    await a.tunnel.trustAdd('t', (await t.tunnel.card()).text)
    await a.tunnel.trustAdd('m', (await m.tunnel.card()).text)
    tap = await Tap.on(m)
  })
  after(async () => {
    site.closeAllConnections()
    await new Promise((resolve) => site.close(resolve))
    await Promise.all(nodes.map(async (n) => { await n.stop() }))
    await Promise.all(dirs.map(removeTempDir))
  })

  it('fetches a page through T; the middleman sees neither the URL nor the page', async () => {
    tap.clear()
    const f = await nodes[0].tunnels.fetchUrl('t', url)
    assert.equal(f.mime, 'text/html')
    assert.equal(await collect(f.stream), PAGE)
    assert.ok(tap.bytes() > PAGE.length, 'the page crossed the middleman')
    for (const needle of [url, '/article', 'censored article', 'lorem ipsum lorem']) assert.equal(tap.sees(Buffer.from(needle)), false, needle)
  })

  it('with insert, the page also becomes a CHK that reads back', async () => {
    const f = await nodes[0].tunnels.fetchUrl('t', url, { insert: true, htl: 1 })
    assert.equal(await collect(f.stream), PAGE)
    assert.match(f.uri ?? '', /^warren:CHK@/)
    assert.equal(await collect((await nodes[0].tunnels.get('t', f.uri!)).stream), PAGE)
  })

  it('through the client API, as an attachment', async () => {
    const app = await createApiServer(nodes[0])
    try {
      const r = await app.inject({ method: 'POST', url: `/api/v1/fetch-url?url=${encodeURIComponent(url)}&via=t` })
      assert.equal(r.statusCode, 200, r.body.slice(0, 200))
      assert.equal(r.body, PAGE)
      assert.equal(r.headers['content-type'], 'application/octet-stream')
      assert.equal(r.headers['x-warren-mime'], encodeURIComponent('text/html'))
    } finally {
      await app.close()
    }
  })

  it('the exit\'s refusals come back sealed; a node without an exit says so', async () => {
    await assert.rejects(nodes[0].tunnels.fetchUrl('t', url.replace('/article', '/to-admin')), /trusted peer answered: the destination address is not public/)
    await assert.rejects(nodes[0].tunnels.fetchUrl('t', 'file:///etc/passwd'), /only http and https/)
    await assert.rejects(nodes[0].tunnels.fetchUrl('m', url), /does not run proxy downloads/)
  })
})

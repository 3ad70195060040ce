/**
 * CHK redirects: any key may hold a redirect to another key. A one-block CHK whose content
 * is a URI is followed by readers (through `get`, the API and sites), at most MAX_REDIRECTS
 * in a row.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startApiServer } from '../../src/api/server.js'
import { MAX_REDIRECTS } from '../../src/constants.js'
import { createNetwork, ring } from '../helpers/network.js'
import { randomBytes } from '../helpers/seed.js'
import type { TestNetwork } from '../helpers/network.js'

describe('CHK redirects', () => {
  let net: TestNetwork
  before(async () => {
    net = await createNetwork(3)
    await ring(net)
  })
  after(async () => { await net.stop() })

  it('are followed by readers on other nodes, with a path carried through', async () => {
    const data = randomBytes(70_000)
    const file = await net.nodes[0].client.put([data])
    const r1 = await net.nodes[0].client.putRedirect(file.uri)
    assert.equal(r1.target, file.uri)
    const r2 = await net.nodes[1].client.putRedirect(r1.uri)
    const got = await net.nodes[2].client.get(r2.uri, { htl: 10 })
    assert.ok(Buffer.from(got).equals(data))

    const site = await net.nodes[0].client.putSite([{ path: 'a/b.txt', uri: file.uri, mime: 'text/plain', size: data.length }])
    const toSite = await net.nodes[0].client.putRedirect(site.uri)
    const viaPath = await net.nodes[1].client.get(`${toSite.uri}/a/b.txt`, { htl: 10 })
    assert.ok(Buffer.from(viaPath).equals(data), 'a path on the redirect applies to the site it leads to')
  })

  it(`stop after ${MAX_REDIRECTS} redirects in a row`, async () => {
    const file = await net.nodes[0].client.put([randomBytes(100)])
    let uri = file.uri
    for (let i = 0; i <= MAX_REDIRECTS; i++) uri = (await net.nodes[0].client.putRedirect(uri)).uri
    await assert.rejects(net.nodes[1].client.get(uri, { htl: 10 }), new RegExp(`more than ${MAX_REDIRECTS} redirects`))
  })

  it('are created through the API, which rejects a malformed target', async () => {
    const api = await startApiServer(net.nodes[1], { host: '127.0.0.1', port: 0 })
    try {
      const file = await net.nodes[1].client.put([randomBytes(500)])
      const res = await fetch(`${api.url}/api/v1/redirect?target=${encodeURIComponent(file.uri)}`, { method: 'POST' })
      assert.equal(res.status, 200)
      const { uri } = await res.json() as { uri: string }
      assert.match(uri, /^warren:CHK@/)
      const bad = await fetch(`${api.url}/api/v1/redirect?target=nonsense`, { method: 'POST' })
      assert.equal(bad.status, 400)
      assert.match((await bad.json() as { error: string }).error, /CHK|URI|warren/)
    } finally {
      await api.app.close()
    }
  })
})

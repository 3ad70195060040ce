/**
 * Gateway paths as fred's fproxy takes them (issue 16): a single slash into a site published
 * under an updatable key, an uncacheable redirect from the updatable name to the edition it
 * currently leads to (that one cacheable), and file names after a file's CHK naming the
 * download and its type, with HEAD answering the real length.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createApiServer } from '../../src/api/server.js'
import { signedCandidates } from '../../src/gateway/paths.js'
import { memoryNode } from '../api/memory-node.js'
import { MemoryBlockNetwork } from '../client/memory-network.js'
import type { FastifyInstance } from 'fastify'

const HTML = { host: '127.0.0.1', accept: 'text/html' }

describe('gateway paths', () => {
  const net = new MemoryBlockNetwork()
  let app: FastifyInstance

  before(async () => { app = await createApiServer(memoryNode(net)) })
  after(async () => { await app.close() })

  const put = async (body: string | Buffer, name: string): Promise<{ uri: string, namedUri?: string, size: number }> => {
    const res = await app.inject({ method: 'POST', url: `/api/v1/put?name=${encodeURIComponent(name)}`, headers: { host: '127.0.0.1', 'content-type': 'application/octet-stream' }, payload: body })
    assert.equal(res.statusCode, 200, res.body)
    return res.json()
  }
  /** Publish the files as a site, as the next edition of `insertUri`. */
  const publish = async (insertUri: string, files: Record<string, string>): Promise<{ edition: number }> => {
    const entries = []
    for (const [path, body] of Object.entries(files)) entries.push({ path, uri: (await put(body, path)).uri, size: body.length })
    const res = await app.inject({ method: 'POST', url: `/api/v1/site?update=${encodeURIComponent(insertUri)}`, headers: { host: '127.0.0.1', 'content-type': 'application/json' }, payload: JSON.stringify({ entries }) })
    assert.equal(res.statusCode, 200, res.body)
    return res.json()
  }

  it('splits a signed path into a document name and a site path, whole name first', () => {
    assert.deepEqual(signedCandidates('SSK', 'k,c/blog/about.html'), [
      { name: 'k,c/blog/about.html', path: '' }, { name: 'k,c/blog', path: 'about.html' }])
    assert.deepEqual(signedCandidates('SSK', 'k,c/blog//a/b.html'), [{ name: 'k,c/blog', path: 'a/b.html' }])
    assert.deepEqual(signedCandidates('KSK', 'my/word'), [{ name: 'my/word', path: '' }, { name: 'my', path: 'word' }])
  })

  it('serves URI/about.html of an updatable site by an uncacheable redirect to its newest edition', async () => {
    const keys = (await app.inject({ method: 'GET', url: '/api/v1/keygen', headers: { host: '127.0.0.1' } })).json() as { insertUri: string, requestUri: string }
    const insert = `${keys.insertUri}blog`
    const site = `/${keys.requestUri.replace(/^warren:/, '')}blog`
    assert.equal((await publish(insert, { 'index.html': '<p>v0</p>', 'about.html': '<p>about v0</p>' })).edition, 0)

    const first = await app.inject({ url: `${site}/about.html`, headers: HTML })
    assert.equal(first.statusCode, 302, first.body)
    assert.equal(first.headers['cache-control'], 'no-store')
    assert.equal(first.headers.location, `${site}/0//about.html`)
    const page = await app.inject({ url: first.headers.location, headers: HTML })
    assert.equal(page.statusCode, 200, page.body)
    assert.match(page.body, /about v0/)
    assert.match(String(page.headers['cache-control']), /max-age=\d+/, 'an edition never changes: cacheable')

    assert.equal((await publish(insert, { 'index.html': '<p>v1</p>', 'about.html': '<p>about v1</p>' })).edition, 1)
    const again = await app.inject({ url: `${site}/about.html`, headers: HTML })
    assert.equal(again.statusCode, 302)
    assert.equal(again.headers.location, `${site}/1//about.html`)
    assert.match((await app.inject({ url: again.headers.location, headers: HTML })).body, /about v1/)
    // The "//" form and the site root lead to the same edition.
    assert.equal((await app.inject({ url: `${site}//about.html`, headers: HTML })).headers.location, `${site}/1//about.html`)
    const root = await app.inject({ url: site, headers: HTML })
    assert.equal(root.statusCode, 302)
    assert.equal(root.headers['cache-control'], 'no-store')
    assert.match(String(root.headers.location), new RegExp(`^${site.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/1(//)?$`))
    // Edition 0 stays reachable under its own, immutable address.
    assert.match((await app.inject({ url: `${site}/0//about.html`, headers: HTML })).body, /about v0/)
    // A missing file is looked for in the newest edition, and is a 404 there.
    const missing = await app.inject({ url: `${site}/nope.html`, headers: HTML })
    assert.equal(missing.headers.location, `${site}/1//nope.html`)
    const gone = await app.inject({ url: missing.headers.location, headers: HTML })
    assert.equal(gone.statusCode, 404)
    assert.match(gone.body, /no file &quot;nope.html&quot;|no file "nope.html"/)
    // A near miss links the file it probably meant.
    const typo = await app.inject({ url: `${site}/1//abuot.html`, headers: HTML })
    assert.equal(typo.statusCode, 404)
    assert.match(typo.body, new RegExp(`Did you mean <a id="suggestion" href="${site.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/1//about\\.html">about\\.html</a>`))
    assert.match((await app.inject({ url: `${site}/1//ABOUT.HTML`, headers: HTML })).body, /did you mean &quot;about\.html&quot;/)
    const json = await app.inject({ url: `${site}/1//abuot.html`, headers: { host: '127.0.0.1' } })
    assert.match(json.json().error, /did you mean "about\.html"\?/)
  })

  it('answers a browser refused by the request checks with an HTML page', async () => {
    const res = await app.inject({ url: '/', headers: { host: 'evil.example', accept: 'text/html' } })
    assert.equal(res.statusCode, 403)
    assert.match(String(res.headers['content-type']), /^text\/html/)
    assert.match(res.body, /answers loopback names only/)
    const api = await app.inject({ url: '/', headers: { host: 'evil.example' } })
    assert.equal(api.json().statusCode, 403)
  })

  it('names a file after its CHK: download name, type from the name, and HEAD with the real length', async () => {
    const body = Buffer.alloc(70_000, 7)
    const r = await put(body, 'report.pdf')
    assert.equal(r.namedUri, `${r.uri}/report.pdf`)
    const path = `/${r.namedUri!.replace(/^warren:/, '')}`
    const get = await app.inject({ url: path, headers: HTML })
    assert.equal(get.statusCode, 200, get.body)
    assert.equal(get.headers['content-type'], 'application/pdf')
    assert.match(String(get.headers['content-disposition']), /^inline; filename="report\.pdf"/)
    assert.equal(get.rawPayload.length, body.length)
    const head = await app.inject({ method: 'HEAD', url: path, headers: HTML })
    assert.equal(head.statusCode, 200)
    assert.equal(head.headers['content-length'], String(body.length))
    assert.equal(head.rawPayload.length, 0)
    // The API download takes the named URI too, as an attachment with that name.
    const api = await app.inject({ url: `/api/v1/get?uri=${encodeURIComponent(r.namedUri!)}`, headers: { host: '127.0.0.1' } })
    assert.equal(api.statusCode, 200)
    assert.match(String(api.headers['content-disposition']), /^attachment; filename="report\.pdf"/)
    assert.equal(api.rawPayload.length, body.length)
    // A file name with spaces and non-ASCII letters survives the round trip.
    const odd = await put('x', 'my résumé.txt')
    const res = await app.inject({ url: `/${odd.namedUri!.replace(/^warren:/, '')}`, headers: HTML })
    assert.equal(res.statusCode, 200)
    assert.match(String(res.headers['content-disposition']), /filename\*=UTF-8''my%20r%C3%A9sum%C3%A9\.txt/)
    assert.match(String(res.headers['content-type']), /^text\/plain/)
  })
})

/**
 * The HTTP gateway and API over a real 3-node network: content by key with its MIME type
 * and security headers, Range requests, sites with nested folders and relative links,
 * JSON errors, and the Host / Origin checks.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { CHK_MAX_PAYLOAD } from '../../src/keys/chk.js'
import { testBytes } from '../client/memory-blocks.js'
import { putFile, putSite, startGateway } from './helpers.js'
import type { GatewayFixture } from './helpers.js'

describe('HTTP gateway', () => {
  let gw: GatewayFixture
  const big = testBytes(3 * CHK_MAX_PAYLOAD + 777, 5)
  let bigPath: string
  let site: string

  before(async () => {
    gw = await startGateway()
    bigPath = '/' + (await putFile(gw.base, big, 'data.bin')).uri.replace(/^warren:/, '')
    site = await putSite(gw.base, {
      'index.html': '<html><body><a href="docs/">docs</a> <a href="img/logo.svg">logo</a> <a href="http://evil.test/">out</a></body></html>',
      'docs/index.html': '<html><body><a href="../index.html">home</a> <a href="guide/intro.html">intro</a></body></html>',
      'docs/guide/intro.html': '<html><body><a href="../index.html">docs</a><img src="../../img/logo.svg"></body></html>',
      'img/logo.svg': '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
      'notes.txt': 'plain text'
    })
  })

  after(async () => { await gw?.stop() })

  it('serves a file by key with its type, length and content headers, no cookies', async () => {
    const res = await fetch(gw.base + bigPath)
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'application/octet-stream')
    assert.equal(res.headers.get('content-length'), String(big.length))
    assert.equal(res.headers.get('accept-ranges'), 'bytes')
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'.*sandbox/)
    assert.equal(res.headers.get('set-cookie'), null)
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(big))
    const api = await fetch(`${gw.base}/api/v1/get?uri=${encodeURIComponent('warren:' + bigPath.slice(1))}`)
    assert.ok(Buffer.from(await api.arrayBuffer()).equals(big))
  })

  it('answers Range requests: spans, open ends, suffixes and unsatisfiable ranges', async () => {
    const cases: Array<[string, number, number]> = [
      ['bytes=0-99', 0, 100], [`bytes=${CHK_MAX_PAYLOAD - 10}-${2 * CHK_MAX_PAYLOAD + 9}`, CHK_MAX_PAYLOAD - 10, 2 * CHK_MAX_PAYLOAD + 10],
      [`bytes=${big.length - 5}-`, big.length - 5, big.length], ['bytes=-300', big.length - 300, big.length], [`bytes=100-${big.length + 50}`, 100, big.length]
    ]
    for (const [range, start, end] of cases) {
      const res = await fetch(gw.base + bigPath, { headers: { range } })
      assert.equal(res.status, 206, range)
      assert.equal(res.headers.get('content-range'), `bytes ${start}-${end - 1}/${big.length}`)
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(big.subarray(start, end)), range)
    }
    const bad = await fetch(gw.base + bigPath, { headers: { range: `bytes=${big.length}-` } })
    assert.equal(bad.status, 416)
    assert.equal(bad.headers.get('content-range'), `bytes */${big.length}`)
    const viaApi = await fetch(`${gw.base}/api/v1/get?uri=${encodeURIComponent(bigPath.slice(1))}`, { headers: { range: 'bytes=10-19' } })
    assert.equal(viaApi.status, 206)
    assert.ok(Buffer.from(await viaApi.arrayBuffer()).equals(big.subarray(10, 20)))
  })

  it('serves a site: root and folders redirect to a trailing slash, nested paths resolve, HTML is filtered', async () => {
    const root = site.slice(0, -1)
    const r = await fetch(gw.base + root, { redirect: 'manual' })
    assert.equal(r.status, 301)
    assert.equal(r.headers.get('location'), site)
    const index = await fetch(gw.base + site)
    assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8')
    const html = await index.text()
    assert.match(html, /<a href="docs\/">docs<\/a>/)
    assert.match(html, /href="\/_\/external\?url=http%3A%2F%2Fevil.test%2F"/)
    const docs = await fetch(gw.base + site + 'docs', { redirect: 'manual' })
    assert.equal(docs.status, 301)
    assert.equal(docs.headers.get('location'), site + 'docs/')
    assert.match(await (await fetch(gw.base + site + 'docs/')).text(), /guide\/intro.html/)
    // Relative links resolve against the page URL exactly as a browser resolves them.
    const intro = new URL('guide/intro.html', gw.base + site + 'docs/')
    const introHtml = await (await fetch(intro)).text()
    assert.match(introHtml, /<img src="..\/..\/img\/logo.svg">/)
    const logo = await fetch(new URL('../../img/logo.svg', intro))
    assert.equal(logo.status, 200)
    assert.equal(logo.headers.get('content-type'), 'image/svg+xml')
    assert.equal((await fetch(gw.base + site + 'notes.txt')).headers.get('content-type'), 'text/plain; charset=utf-8')
    // The API's download is the exact bytes, as an attachment, unfiltered.
    const raw = await fetch(`${gw.base}/api/v1/get?uri=${encodeURIComponent(site.slice(1) + 'index.html')}`)
    assert.equal(raw.headers.get('content-disposition'), `attachment; filename="index.html"; filename*=UTF-8''index.html`)
    assert.match(await raw.text(), /href="http:\/\/evil.test\/"/)
    const listing = await fetch(gw.base + site + 'img/')
    assert.match(await listing.text(), /<a href="logo.svg">logo.svg<\/a>/)
  })

  it('publishes a site under an SSK and serves paths below the signed key', async () => {
    const k = await (await fetch(gw.base + '/api/v1/keygen')).json() as { insertUri: string, requestUri: string }
    const a = await putFile(gw.base, '<html><body><a href="docs/b.html">b</a></body></html>', 'index.html')
    const b = await putFile(gw.base, '<html><body>signed site page</body></html>', 'docs/b.html')
    const entries = [{ path: 'index.html', uri: a.uri }, { path: 'docs/b.html', uri: b.uri }]
    const res = await fetch(`${gw.base}/api/v1/site?ssk=${encodeURIComponent(k.insertUri + 'mysite')}`, { method: 'POST', body: JSON.stringify({ entries }) })
    assert.equal(res.status, 200)
    const out = await res.json() as { uri: string, site: string, target: string }
    assert.match(out.uri, /^warren:SSK@/)
    assert.equal(out.target, out.site)
    const root = '/' + out.uri.replace(/^warren:/, '')
    // The site path follows "//" after the document name (src/keys/ssk-uri.ts).
    const redirect = await fetch(gw.base + root, { redirect: 'manual' })
    assert.equal(redirect.status, 301)
    assert.equal(redirect.headers.get('location'), root + '//')
    assert.match(await (await fetch(gw.base + root + '//')).text(), /docs\/b.html/)
    const page = new URL('docs/b.html', gw.base + root + '//')
    assert.match(await (await fetch(page)).text(), /signed site page/)
  })

  it('reports errors as JSON with a status code (HTML for browsers)', async () => {
    const missing = await fetch(gw.base + site + 'nope.html')
    assert.equal(missing.status, 404)
    assert.deepEqual(await missing.json(), { error: 'no file "nope.html" in this site', statusCode: 404 })
    const html = await fetch(gw.base + site + 'nope.html', { headers: { accept: 'text/html' } })
    assert.equal(html.status, 404)
    assert.match(await html.text(), /no file &quot;nope.html&quot; in this site/)
    const bad = await fetch(`${gw.base}/api/v1/get?uri=warren:CHK@nonsense`)
    assert.equal(bad.status, 400)
    assert.match((await bad.json() as { error: string }).error, /invalid warren URI/)
    const notKey = await fetch(gw.base + '/nothing-here')
    assert.equal(notKey.status, 404)
    const site400 = await fetch(`${gw.base}/api/v1/site`, { method: 'POST', body: '{"entries":[{"path":"../x","uri":"warren:CHK@a,b"}]}' })
    assert.equal(site400.status, 400)
  })

  it('answers the fuzz campaign\'s malformed queries with a 400 page, never a 500', async () => {
    const cases: Array<[string, RegExp]> = [
      ['/?key=%01', /no control characters/],
      ['/?key=CHK%40abc%01def', /no control characters/],
      ['/?key=CHK%40a%0Ab', /no control characters/],
      ['/?key=CHK%40a&key=CHK%40b', /the parameter &quot;key&quot; is given 2 times: give it once/],
      ['/_/external?url=http%3A%2F%2Fa&url=http%3A%2F%2Fb', /the parameter &quot;url&quot; is given 2 times/]
    ]
    for (const [path, message] of cases) {
      const res = await fetch(gw.base + path, { headers: { accept: 'text/html' }, redirect: 'manual' })
      assert.equal(res.status, 400, path)
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/, path)
      assert.match(await res.text(), message, path)
      const json = await fetch(gw.base + path, { redirect: 'manual' })
      assert.equal(json.status, 400, path)
    }
    const api = await fetch(`${gw.base}/api/v1/get?uri=a&uri=b`)
    assert.deepEqual(await api.json(), { error: 'the parameter "uri" is given 2 times: give it once', statusCode: 400 })
    // Bodies that are not the JSON object a route expects (the campaign's add-peer 500s).
    for (const body of ['{', 'null', '[1]', '"x"']) {
      for (const path of ['/api/v1/peers', '/api/v1/site']) {
        const res = await fetch(gw.base + path, { method: 'POST', body })
        assert.equal(res.status, 400, `${path} ${body}`)
        assert.match((await res.json() as { error: string }).error, /the body must be (a )?JSON/, `${path} ${body}`)
      }
    }
    // A key that does not parse, in a gateway path: 400 (it was a 500).
    const bad = await fetch(`${gw.base}/SSK@a,b,c/x`)
    assert.equal(bad.status, 400)
    assert.match((await bad.json() as { error: string }).error, /invalid warren URI/)
    // A key typed with characters outside ASCII still redirects (percent-encoded in Location).
    const odd = await fetch(`${gw.base}/?key=${encodeURIComponent('CHK@a\u00e9\u2028b')}`, { redirect: 'manual' })
    assert.equal(odd.status, 303)
    assert.equal(odd.headers.get('location'), '/CHK@a%C3%A9%E2%80%A8b')
  })

  it('refuses foreign Host headers and cross-origin writes', async () => {
    const { request } = await import('node:http')
    const status = async (headers: Record<string, string>, method = 'GET', path = '/'): Promise<number> => await new Promise((resolve, reject) => {
      const req = request(gw.base + path, { method, headers }, (res) => { res.resume(); resolve(res.statusCode ?? 0) })
      req.on('error', reject)
      req.end()
    })
    assert.equal(await status({ host: 'evil.test' }), 403)
    assert.equal(await status({ host: `localhost:${new URL(gw.base).port}` }), 200)
    assert.equal(await status({ origin: 'http://evil.test' }, 'POST', '/api/v1/put'), 403)
    assert.equal(await status({ origin: 'null' }, 'POST', '/api/v1/site'), 403)
    assert.equal(await status({ 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' }, 'GET', bigPath), 403)
  })

  it('filters markup whatever the spelling of its network-supplied MIME type', async () => {
    const page = '<html><head><meta http-equiv="refresh" content="0;url=http://evil.test/"></head><body><a href="http://evil.test/">out</a></body></html>'
    for (const mime of [' text/html', 'TEXT/HTML; charset=utf-8', 'application/xml']) {
      const res = await fetch(`${gw.base}/api/v1/put?mime=${encodeURIComponent(mime)}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: page })
      const { uri } = await res.json() as { uri: string }
      const served = await (await fetch(gw.base + '/' + uri.replace(/^warren:/, ''))).text()
      assert.doesNotMatch(served, /http-equiv="refresh"/i, mime)
      assert.doesNotMatch(served, /href="http:\/\/evil\.test/, mime)
    }
  })

  it('serves the home and node pages under their own policy, and recent stats', async () => {
    const home = await fetch(gw.base + '/')
    assert.match(home.headers.get('content-security-policy') ?? '', /script-src 'self'/)
    assert.match(await home.text(), /id="file-form"/)
    const go = await fetch(`${gw.base}/?key=${encodeURIComponent('warren:' + bigPath.slice(1))}`, { redirect: 'manual' })
    assert.equal(go.status, 303)
    assert.equal(go.headers.get('location'), bigPath)
    // Never an open redirect to another host.
    for (const evil of ['/evil.test', '//evil.test', '\\evil.test', 'https://evil.test']) {
      const r = await fetch(`${gw.base}/?key=${encodeURIComponent(evil)}`, { redirect: 'manual' })
      assert.equal(r.status, 400, evil)
      assert.equal(r.headers.get('location'), null)
    }
    const recent = await (await fetch(gw.base + '/api/v1/stats/recent')).json() as { requests: { success: number }, hopHistogram: number[] }
    assert.ok(recent.requests.success > 0)
    assert.equal(recent.hopHistogram.reduce((a, b) => a + b, 0), recent.requests.success)
  })
})

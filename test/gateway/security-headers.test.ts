/**
 * The gateway's response headers and Content-Security-Policies, value by value (issue 18):
 * a header removed, or its value changed, must fail a test. The policies are parsed into
 * directives and compared as exact token sets, so `allow-scripts` slipped into the content
 * sandbox (scripts in fetched content would run) fails even though the policy still
 * "contains sandbox". The last test checks the same headers on the real gateway.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import Fastify from 'fastify'
import { CONTENT_CSP, PAGE_CSP, contentHeaders, pageHeaders } from '../../src/gateway/security.js'
import { putFile, startGateway } from './helpers.js'
import type { GatewayFixture } from './helpers.js'

/** A policy as directive name -> token list, refusing duplicate directives (browsers ignore the second). */
function parsePolicy (policy: string): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const part of policy.split(';')) {
    const tokens = part.trim().split(/\s+/).filter((t) => t !== '')
    if (tokens.length === 0) continue
    const [name, ...values] = tokens
    assert.ok(!out.has(name.toLowerCase()), `directive ${name} appears twice in ${policy}`)
    out.set(name.toLowerCase(), values)
  }
  return out
}

const COMMON = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-dns-prefetch-control': 'off',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), usb=(), payment=(), interest-cohort=()'
}

const SECURITY_HEADERS = [...Object.keys(COMMON), 'content-security-policy', 'cache-control', 'x-frame-options', 'set-cookie']

function securityHeaders (headers: Record<string, unknown> | Headers): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of SECURITY_HEADERS) {
    const v = headers instanceof Headers ? headers.get(name) : headers[name]
    if (v !== undefined && v !== null) out[name] = Array.isArray(v) ? v.join(', ') : String(v as string | number)
  }
  return out
}

const EXPECTED_CONTENT = { ...COMMON, 'content-security-policy': CONTENT_CSP, 'cache-control': 'private, max-age=3600' }
const EXPECTED_PAGE = { ...COMMON, 'content-security-policy': PAGE_CSP, 'x-frame-options': 'DENY', 'cache-control': 'no-store' }

describe('gateway security headers', () => {
  it('the content policy allows loads from the gateway only and a sandbox without scripts', () => {
    assert.deepEqual(Object.fromEntries(parsePolicy(CONTENT_CSP)), {
      'default-src': ["'none'"],
      'img-src': ["'self'", 'data:'],
      'media-src': ["'self'", 'data:'],
      'style-src': ["'self'", "'unsafe-inline'"],
      'font-src': ["'self'", 'data:'],
      'frame-src': ["'self'"],
      'child-src': ["'self'"],
      'form-action': ["'none'"],
      'base-uri': ["'none'"],
      'frame-ancestors': ["'self'"],
      sandbox: ['allow-same-origin', 'allow-downloads']
    })
    // The sandbox's exact token set: allow-scripts (or popups, forms, top navigation) would
    // let fetched content act; allow-same-origin is only safe because scripts stay off.
    assert.deepEqual(new Set(parsePolicy(CONTENT_CSP).get('sandbox')), new Set(['allow-same-origin', 'allow-downloads']))
  })

  it("the gateway's own pages may run their own script and talk to their own API only", () => {
    assert.deepEqual(Object.fromEntries(parsePolicy(PAGE_CSP)), {
      'default-src': ["'none'"],
      'script-src': ["'self'"],
      'style-src': ["'self'"],
      'img-src': ["'self'", 'data:'],
      'connect-src': ["'self'"],
      'form-action': ["'self'"],
      'base-uri': ["'none'"],
      'frame-ancestors': ["'none'"]
    })
  })

  it('contentHeaders and pageHeaders set every header to its exact value', async () => {
    const app = Fastify()
    app.get('/content', async (_req, reply) => await contentHeaders(reply).send('x'))
    app.get('/page', async (_req, reply) => await pageHeaders(reply).send('x'))
    try {
      const content = await app.inject({ method: 'GET', url: '/content' })
      assert.deepEqual(securityHeaders(content.headers), EXPECTED_CONTENT)
      const page = await app.inject({ method: 'GET', url: '/page' })
      assert.deepEqual(securityHeaders(page.headers), EXPECTED_PAGE)
    } finally {
      await app.close()
    }
  })

  describe('on the real gateway', () => {
    let gw: GatewayFixture
    before(async () => { gw = await startGateway(2) })
    after(async () => { await gw?.stop() })

    it('serves content, HTML content and its own pages with those exact headers and no cookies', async () => {
      const { uri } = await putFile(gw.base, '<p>hello <a href="http://evil.test/">out</a></p>', 'hello.html')
      const html = await fetch(`${gw.base}/${uri.replace(/^warren:/, '')}`)
      assert.equal(html.status, 200)
      const body = await html.text()
      // The filtered link leads to the gateway's own warning page, which is one of its pages.
      const href = /href="([^"]*)"/.exec(body)?.[1] ?? ''
      assert.equal(href, '/_/external?url=' + encodeURIComponent('http://evil.test/'))
      const warning = await fetch(new URL(href.replace(/&amp;/g, '&'), html.url))
      assert.equal(warning.status, 200)
      assert.match(await warning.text(), /http:\/\/evil\.test\//)
      assert.deepEqual(securityHeaders(warning.headers), EXPECTED_PAGE)
      assert.deepEqual(securityHeaders(html.headers), EXPECTED_CONTENT)
      const download = await fetch(`${gw.base}/api/v1/get?uri=${encodeURIComponent(uri)}`)
      assert.equal(download.status, 200)
      assert.deepEqual(securityHeaders(download.headers), EXPECTED_CONTENT)
      for (const path of ['/', '/node', '/_/external?url=http%3A%2F%2Fevil.test%2F']) {
        const res = await fetch(gw.base + path)
        assert.equal(res.status, 200, path)
        assert.deepEqual(securityHeaders(res.headers), EXPECTED_PAGE, path)
      }
    })
  })
})

/**
 * The gateway's HTML filter and URL judgement: external links and auto-navigation are
 * neutralised however they are spelled; relative links and data: images survive.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { EXTERNAL_LINK_PAGE, filterHtml, foreignNavigation, isLocalUrl } from '../../src/gateway/security.js'

describe('gateway content filter', () => {
  it('tells relative URLs from ones that leave the gateway', () => {
    for (const u of ['a.html', 'sub/b.html', '../c.html', '/CHK@x,y/d.png', '#top', '?q=1', 'e%20f.html']) assert.equal(isLocalUrl(u), true, u)
    for (const u of ['http://evil.test/', 'HTTPS://evil.test', '//evil.test/x', ' //evil.test', '\\\\evil.test', 'java\tscript:alert(1)',
      '&#104;ttp://evil.test/', 'http&colon;//evil.test', '&#x2F;&#x2F;evil.test', 'mailto:a@b', 'data:text/html,<b>x</b>', 'h&unknown;ttp://x']) {
      assert.equal(isLocalUrl(u), false, u)
    }
    assert.equal(isLocalUrl('data:image/png;base64,AAAA', true), true)
    assert.equal(isLocalUrl('data:text/html,x', true), false)
  })

  it('rewrites external links and drops scripts, handlers, refresh and prefetch', () => {
    const { html, report } = filterHtml(`<!doctype html><html><head>
<meta http-equiv="refresh" content="0;url=http://evil.test/">
<base href="http://evil.test/"><link rel="dns-prefetch" href="//evil.test"><link rel="stylesheet" href="style.css">
<script>fetch('http://evil.test')</script><script src="http://evil.test/x.js"></script>
</head><body onload="x()">
<a href="next.html">next</a> <a href="https://evil.test/page">out</a> <a/href="http://evil.test/slash">slash</a>
<img src="http://evil.test/beacon.png" alt="b"> <img src="logo.png" srcset="http://evil.test/2x.png 2x">
<div style="background:url(http://evil.test/bg.png)">x</div> <a href="a.html" ping="http://evil.test/ping">p</a>
<!-- <img src="http://evil.test/comment"> -->
</body></html>`)
    assert.doesNotMatch(html, /<script|<base|http-equiv|dns-prefetch|onload|ping=|srcset|url\(/i)
    assert.match(html, /<a href="next.html">next<\/a>/)
    assert.match(html, /<link rel="stylesheet" href="style.css">/)
    assert.match(html, /<img src="logo.png">/)
    // Every absolute URL left is an argument of the warning page.
    for (const m of html.matchAll(/(?:href|src)="([^"]*)"/g)) {
      assert.ok(!/^(https?:)?\/\//i.test(m[1]), `left ${m[1]}`)
    }
    assert.ok(html.includes(`href="${EXTERNAL_LINK_PAGE}?url=${encodeURIComponent('https://evil.test/page')}"`))
    assert.ok(html.includes(`href="${EXTERNAL_LINK_PAGE}?url=${encodeURIComponent('http://evil.test/slash')}"`))
    assert.ok(report.rewritten >= 3)
    assert.ok(report.removed >= 8)
  })

  it('tells a navigation another site started from the reader\'s own', () => {
    const host = '127.0.0.1:7480'
    const mine = [
      { 'sec-fetch-site': 'none', 'sec-fetch-dest': 'document', host },
      { 'sec-fetch-site': 'same-origin', 'sec-fetch-dest': 'iframe', host },
      { 'sec-fetch-site': 'none', referer: 'http://evil.test/', host },
      // No Fetch Metadata: the Referer decides; none at all (curl, warren get) is the reader's.
      { host },
      { referer: `http://${host}/CHK@a,b/`, host }
    ]
    for (const h of mine) assert.equal(foreignNavigation(h), undefined, JSON.stringify(h))
    assert.deepEqual(foreignNavigation({ 'sec-fetch-site': 'cross-site', 'sec-fetch-dest': 'document', referer: 'https://evil.test/page?x=1', host }),
      { from: 'https://evil.test', framed: false })
    assert.deepEqual(foreignNavigation({ 'sec-fetch-site': 'same-site', host }), { from: 'another site', framed: false })
    for (const dest of ['iframe', 'frame', 'embed', 'object']) {
      assert.deepEqual(foreignNavigation({ 'sec-fetch-site': 'cross-site', 'sec-fetch-dest': dest, host }), { from: 'another site', framed: true }, dest)
    }
    assert.deepEqual(foreignNavigation({ 'sec-fetch-site': 'cross-site', 'sec-fetch-dest': 'image', host }), { from: 'another site', framed: false })
    assert.deepEqual(foreignNavigation({ referer: 'http://127.0.0.1:9999/x', host }), { from: 'http://127.0.0.1:9999', framed: false })
    assert.deepEqual(foreignNavigation({ referer: 'not a url', host }), { from: 'another site', framed: false })
    assert.deepEqual(foreignNavigation({ referer: 'not a url', 'sec-fetch-site': 'same-origin', host }), undefined)
  })
})

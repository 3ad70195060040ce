/**
 * The gateway's HTML filter and URL judgement, output by output (issue 18): each rule of
 * src/gateway/security.ts has a case whose exact result changes if the rule is dropped or
 * weakened — `formaction` rewritten, `srcdoc` dropped, `imagesrcset` judged like `srcset`,
 * `<template>` content removed with its element, every entity and whitespace trick decoded.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { EXTERNAL_LINK_PAGE, decodeEntities, escapeHtml, filterHtml, isLocalUrl } from '../../src/gateway/security.js'

const out = (url: string): string => `${EXTERNAL_LINK_PAGE}?url=${encodeURIComponent(url)}`

/** Filter `html`; assert the exact output and report counts. */
function filters (html: string, expected: string, rewritten: number, removed: number): void {
  const r = filterHtml(html)
  assert.equal(r.html, expected, html)
  assert.deepEqual(r.report, { rewritten, removed }, `report for ${html}`)
}

describe('gateway content filter, rule by rule', () => {
  it('decodes character references the way a browser does in an attribute', () => {
    assert.equal(decodeEntities('plain'), 'plain')
    assert.equal(decodeEntities('&#104;&#x74;&#X74;p'), 'http')
    assert.equal(decodeEntities('&#0104&#x74'), 'ht', 'the semicolon is optional')
    assert.equal(decodeEntities('&amp;&lt;&gt;&quot;&apos;&colon;&sol;&tab;&newline;&period;&num;&nbsp;'), '&<>"\':/\t\n.# ')
    assert.equal(decodeEntities('&AMP;&Colon;'), '&:', 'names are case-insensitive')
    assert.equal(decodeEntities('a&#0;b&#x110000;c&#x10FFFF;'), 'abc\u{10FFFF}', 'code points outside Unicode vanish')
    assert.equal(decodeEntities('&#1;'), '\u0001')
    assert.equal(decodeEntities('h&unknown;ttp'), undefined, 'an unknown name makes the value unjudgeable')
    assert.equal(decodeEntities('& x'), '& x', 'a lone ampersand is text')
  })

  it('tells relative URLs from every spelling of one that leaves the gateway', () => {
    for (const u of ['a.html', 'sub/b.html', '../c.html', '/CHK@x,y/d.png', '#top', '?q=1', 'e%20f.html', ' a.html ', '\u0000a.html', 'a\tb.html',
      '/a', 'x/y:z', '', 'a&amp;b',
      // A space inside makes no scheme: to a browser this is a relative path.
      'a b:c']) {
      assert.equal(isLocalUrl(u), true, JSON.stringify(u))
    }
    for (const u of ['http://evil.test/', 'HTTPS://evil.test', '//evil.test/x', ' //evil.test', '\u0001//evil.test', '//evil.test\u0000', '  //evil.test', '\u0001 \u0002//evil.test',
      '/\t/evil.test', '/\n/evil.test', '/\r/evil.test', '\\\\evil.test', '/\\evil.test', 'a\\b', 'java\tscript:alert(1)', 'javascript:alert(1)',
      '&#104;ttp://evil.test/', 'http&colon;//evil.test', '&#x2F;&#x2F;evil.test', 'mailto:a@b', 'data:text/html,<b>x</b>', 'h&unknown;ttp://x',
      'a+b.c-d:x', 'x1:y', 'data:image/png,x']) {
      assert.equal(isLocalUrl(u), false, JSON.stringify(u))
    }
    for (const u of ['data:image/png;base64,AAAA', 'DATA:IMAGE/PNG;base64,AAAA', 'data:audio/ogg,x', 'data:video/mp4,x', 'data:font/woff2,x', ' data:image/gif,x']) {
      assert.equal(isLocalUrl(u, true), true, u)
    }
    for (const u of ['data:text/html,x', 'data:,x', 'data:application/pdf,x', 'xdata:image/png,x', 'data:svg/image/png', 'http://x/data:image/png', 'dat:image/png,x',
      'data:text/html,data:image/png']) {
      assert.equal(isLocalUrl(u, true), false, u)
    }
  })

  it('drops script-like elements with their content, even unclosed, in any case', () => {
    for (const el of ['script', 'noscript', 'object', 'applet', 'portal', 'template', 'SCRIPT', 'Template']) {
      filters(`a<${el} x="1">in<b>side</b></${el}>b`, 'ab', 0, 1)
      filters(`a<${el}>in</${el} >b`, 'ab', 0, 1)
      filters(`a<${el}>unclosed <b>rest`, 'a', 0, 1)
    }
    // Not script: an unknown element, whose tags go (the whitelist) and whose text stays.
    filters('<scripts>x</scripts>', 'x', 0, 2)
    filters('<script>1</script>k<script>2</script>', 'k', 0, 2)
    // <template> content is inert in a browser but not to the filter's tokens: a link inside
    // would come alive if a script ever cloned it, so the filter takes the whole element.
    filters('<template><a href="http://evil.test/">x</a><img src="http://evil.test/t.png"></template>ok', 'ok', 0, 1)
  })

  it('drops embed, base and the other dropped elements as tags, keeping their text', () => {
    for (const el of ['embed', 'base']) filters(`a<${el} src="x">b</${el}>c`, 'abc', 0, 2)
    // A stray end tag of an element the first pass removes is dropped too.
    for (const el of ['script', 'object', 'portal', 'noscript', 'applet']) filters(`a</${el}>b`, 'ab', 0, 1)
    filters('<EMBED SRC="http://evil.test/x.swf">', '', 0, 1)
    filters('<base href="http://evil.test/">', '', 0, 1)
  })

  it('removes comments and lower-cases tag and attribute names', () => {
    filters('a<!-- <img src="http://evil.test/c"> -->b<!---->c', 'abc', 0, 0)
    filters('<DIV CLASS="x">y</DIV>', '<div class="x">y</div>', 0, 0)
    filters('<p/class="a"/>', '<p class="a"/>', 0, 0)
    filters('<input disabled>', '<input disabled>', 0, 0)
    // A self-closing slash stays: in SVG it decides what the next element is a child of.
    filters('<br/>', '<br/>', 0, 0)
    filters('<svg><path d="M0 0"/><rect / ></svg>', '<svg><path d="M0 0"/><rect/></svg>', 0, 0)
    filters('<br>', '<br>', 0, 0)
    // However the attributes are spaced, the tag is recognised (an unrecognised one would pass unfiltered).
    filters('<a  href="http://evil.test/">', `<a href="${out('http://evil.test/')}">`, 1, 0)
    filters('<a\n\thref = "http://evil.test/" / >', `<a href="${out('http://evil.test/')}"/>`, 1, 0)
    filters('<a title = "x" lang= y>', '<a title="x" lang="y">', 0, 0)
    // A bare attribute does not hide the tag from the filter.
    filters('<a download href="http://evil.test/">', `<a download href="${out('http://evil.test/')}">`, 1, 0)
    filters('<img alt src=x onerror=alert(1)>', '<img alt src="x">', 0, 1)
    filters('<p>1 < 2</p>', '<p>1 < 2</p>', 0, 0)
  })

  it('keeps only listed elements and attributes: SVG animation cannot rewrite a link (issue 11 finding 7)', () => {
    // The attack: the link is judged local, then the animation gives it an external href.
    filters('<svg><a href="x.html"><animate attributeName="href" values="http://evil.test/"></animate><text>t</text></a></svg>',
      '<svg><a href="x.html"><text>t</text></a></svg>', 0, 2)
    for (const el of ['animate', 'set', 'animateMotion', 'animateTransform', 'animateColor', 'discard', 'foreignObject', 'annotation-xml', 'blink', 'x']) {
      filters(`<${el} attributeName="href" to="http://evil.test/">t</${el}>`, 't', 0, 2)
    }
    // Attributes not on the list go, on any element; data-* and aria-* stay.
    filters('<a attributename="href" values="v" from="a" to="b" by="c" referrerpolicy="unsafe-url">', '<a values="v">', 0, 5)
    filters('<iframe src="f.html" allow="camera" sandbox="allow-scripts">', '<iframe src="f.html">', 0, 2)
    filters('<p data-x="1" aria-label="l" data-="2" aria="3">', '<p data-x="1" aria-label="l">', 0, 2)
    filters('<p xdata-x="1" data-a!b="2" aria-x="3" data-a.b:c_d-9="4">', '<p aria-x="3" data-a.b:c_d-9="4">', 0, 2)
    // A drawing survives whole, with paint that refers to its own gradient.
    const drawing = '<svg viewbox="0 0 10 10"><defs><lineargradient id="g"><stop offset="0" stop-color="red"/></lineargradient></defs>' +
      '<rect width="10" height="10" fill="url(#g)" stroke="url( \'#g\' )"/><circle cx="5" cy="5" r="2" filter="none"/></svg>'
    filters(drawing, drawing, 0, 0)
    // Paint or effects from anywhere else go.
    for (const v of ['url (http://evil.test/p)', 'url(http://evil.test/p.svg#g)', 'url( //evil.test/x)', "url('x.svg#g')", 'URL(a)', 'url(#g) url(x)', 'u&#114;l(http://e/)']) {
      filters(`<rect fill="${v}">`, '<rect>', 0, 1)
    }
    filters('<rect fill="red" mask="none" clip-path="circle(5px)">', '<rect fill="red" mask="none" clip-path="circle(5px)">', 0, 0)
  })

  it('drops a meta that would set the referrer policy', () => {
    filters('<meta name="referrer" content="unsafe-url">', '', 0, 1)
    filters('<meta name=REFERRER content="unsafe-url">', '', 0, 1)
    filters('<meta name="referrers" content="x">', '<meta name="referrers" content="x">', 0, 0)
    filters('<meta http-equiv>', '', 0, 1)
    filters('<meta name="x" content="http-equiv">', '<meta name="x" content="http-equiv">', 0, 0)
  })

  it('drops every event handler and ping, srcdoc, integrity and nonce', () => {
    filters('<body onload="x()" ONCLICK=y class=k>', '<body class="k">', 0, 2)
    filters('<a href="a.html" ping="http://evil.test/ping">p</a>', '<a href="a.html">p</a>', 0, 1)
    filters('<iframe src="f.html" srcdoc="<img src=x onerror=alert(1)>"></iframe>', '<iframe src="f.html"></iframe>', 0, 1)
    filters("<iframe srcdoc='<b>x</b>'>", '<iframe>', 0, 1)
    filters('<link rel="stylesheet" href="s.css" integrity="sha384-x" nonce="n">', '<link rel="stylesheet" href="s.css">', 0, 2)
  })

  it('rewrites every URL attribute that leaves the gateway, formaction included', () => {
    for (const attr of ['href', 'src', 'action', 'formaction', 'poster', 'cite', 'xlink:href', 'usemap']) {
      filters(`<a ${attr}="http://evil.test/a">`, `<a ${attr}="${out('http://evil.test/a')}">`, 1, 0)
      filters(`<a ${attr}="ok.html">`, `<a ${attr}="ok.html">`, 0, 0)
    }
    // URL attributes of obsolete and plugin elements are not on the list: dropped, whatever they name.
    for (const attr of ['background', 'data', 'manifest', 'longdesc', 'lowsrc', 'dynsrc', 'codebase', 'archive', 'icon', 'profile', 'classid']) {
      filters(`<a ${attr}="http://evil.test/a">`, '<a>', 0, 1)
      filters(`<a ${attr}="ok.html">`, '<a>', 0, 1)
    }
    filters('<button formaction="https://evil.test/post">go</button>', `<button formaction="${out('https://evil.test/post')}">go</button>`, 1, 0)
    filters('<FORM ACTION=//evil.test/f>', `<form action="${out('//evil.test/f')}">`, 1, 0)
    // Other attributes are not URLs: left alone.
    filters('<a title="http://evil.test/" href="#x">', '<a title="http://evil.test/" href="#x">', 0, 0)
  })

  it('admits data: images where an attribute loads, never where it navigates', () => {
    const img = 'data:image/png;base64,AAAA'
    for (const attr of ['src', 'poster']) {
      filters(`<video ${attr}="${img}">`, `<video ${attr}="${img}">`, 0, 0)
    }
    for (const attr of ['href', 'action', 'formaction', 'cite', 'xlink:href', 'usemap']) {
      filters(`<a ${attr}="${img}">`, `<a ${attr}="${out(img)}">`, 1, 0)
    }
    filters('<img src="data:text/html,x">', `<img src="${out('data:text/html,x')}">`, 1, 0)
  })

  it('rewrites entity-spelled URLs to their decoded form', () => {
    filters('<a href="&#104;ttp://evil.test/">', `<a href="${out('http://evil.test/')}">`, 1, 0)
    filters('<a href="h&unknown;ttp://x">', `<a href="${out('h&unknown;ttp://x')}">`, 1, 0)
  })

  it('keeps srcset and imagesrcset only when every candidate stays on the gateway', () => {
    for (const attr of ['srcset', 'imagesrcset']) {
      filters(`<img ${attr}="a.png 1x, b.png 2x">`, `<img ${attr}="a.png 1x, b.png 2x">`, 0, 0)
      filters(`<img ${attr}="data:image/png;base64,AA 1x">`, `<img ${attr}="data:image/png;base64,AA 1x">`, 0, 0)
      filters(`<img ${attr}="a.png 1x, http://evil.test/b.png 2x">`, '<img>', 0, 1)
      filters(`<img ${attr}="http://evil.test/b.png">`, '<img>', 0, 1)
      filters(`<img ${attr}="a.png,  //evil.test/b.png">`, '<img>', 0, 1)
      filters(`<img ${attr}="a.png,\t//evil.test/b.png 2x">`, '<img>', 0, 1)
    }
    filters('<link rel="preload" as="image" imagesrcset="http://evil.test/x.png 2x">', '', 0, 3)
  })

  it('drops style attributes that load or compute, however spelled', () => {
    filters('<div style="color: red">', '<div style="color: red">', 0, 0)
    for (const s of ['background:url(http://evil.test/bg.png)', 'background: URL (x)', "@import 'x.css'", 'width: expression(alert(1))', 'width: EXPRESSION (1)',
      'background:u&#114;l(http://evil.test/)', 'x: &unknown;']) {
      filters(`<div style="${s}">x</div>`, '<div>x</div>', 0, 1)
    }
  })

  it('drops every http-equiv meta and keeps the others', () => {
    filters('<meta http-equiv="refresh" content="0;url=http://evil.test/">', '', 0, 1)
    filters('<META HTTP-EQUIV=Set-Cookie content="a=b">', '', 0, 1)
    filters('<meta charset="utf-8">', '<meta charset="utf-8">', 0, 0)
    filters('<meta name="viewport" content="width=device-width">', '<meta name="viewport" content="width=device-width">', 0, 0)
    // http-equiv means nothing on other elements; the attribute is kept there.
    filters('<div http-equiv="refresh">', '<div http-equiv="refresh">', 0, 0)
  })

  it('drops links that make the browser resolve or fetch ahead', () => {
    for (const rel of ['dns-prefetch', 'preconnect', 'prefetch', 'prerender', 'preload', 'modulepreload', 'PreFetch', 'stylesheet prefetch']) {
      filters(`<link rel="${rel}" href="x.css">`, '', 0, 1)
    }
    filters('<link rel="stylesheet" href="s.css">', '<link rel="stylesheet" href="s.css">', 0, 0)
    filters('<link rel="icon" href="i.png">', '<link rel="icon" href="i.png">', 0, 0)
    filters('<link href="x.css" rel="preconnectx">', '<link href="x.css" rel="preconnectx">', 0, 0)
    filters('<a rel="prefetch" href="x.html">', '<a rel="prefetch" href="x.html">', 0, 0)
    filters('<link rel="stylesheet" data-rel="prefetch" href="s.css">', '<link rel="stylesheet" data-rel="prefetch" href="s.css">', 0, 0)
  })

  it('re-quotes every kept value with &, ", < and > escaped', () => {
    filters(`<a title='say "hi" & <b>'>`, '<a title="say &quot;hi&quot; &amp; &lt;b&gt;">', 0, 0)
    filters('<a title=a&amp;b>', '<a title="a&amp;b">', 0, 0)
    filters('<a title="&lt;x&gt;">', '<a title="&lt;x&gt;">', 0, 0)
    filters('<a title="&bogus;">', '<a title="&amp;bogus;">', 0, 0)
    // An unknown reference could spell "(": next to "url", the attribute goes.
    filters('<rect fill="url&lpar;http://evil.test/p)">', '<rect>', 0, 1)
    filters("<a title=''>", '<a title="">', 0, 0)
  })

  it('counts across a whole document', () => {
    const { html, report } = filterHtml('<html><head><script>x</script><base href="http://e/"></head>' +
      '<body onload="y"><a href="http://e/">a</a><img src="http://e/i.png" srcset="http://e/2.png 2x"></body></html>')
    assert.equal(html, `<html><head></head><body><a href="${out('http://e/')}">a</a><img src="${out('http://e/i.png')}"></body></html>`)
    assert.deepEqual(report, { rewritten: 2, removed: 4 })
  })

  it('escapes text for element content and attributes', () => {
    assert.equal(escapeHtml(`<a href="x" title='y'>&amp;</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;')
    assert.equal(escapeHtml('plain text'), 'plain text')
  })
})

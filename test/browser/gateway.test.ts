/**
 * The gateway in a real headless Chromium (the npm package's, see test/helpers/browser.ts): upload a file through the home page form and fetch it by its key,
 * upload a folder as a site, open a site and follow relative links, and prove that a
 * site's attempts to load external resources are blocked (a beacon server on another
 * 127.0.0.1 port counts every request it gets; a control page off the gateway shows the
 * same markup does hit it).
 */
import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { putFile, putSite, startGateway } from '../gateway/helpers.js'
import { startBeacon } from '../helpers/beacon.js'
import { launchChromium } from '../helpers/browser.js'
import { removeTempDir, tempDir } from '../helpers/temp.js'
import type { GatewayFixture } from '../gateway/helpers.js'
import type { Beacon } from '../helpers/beacon.js'
import type { Browser, BrowserContext, Page } from 'playwright-core'

describe('gateway in headless Chromium', () => {
  let gw: GatewayFixture
  let browser: Browser
  let context: BrowserContext
  let beacon: Beacon

  before(async () => {
    beacon = await startBeacon()
    beacon.serve('/control.html', { type: 'text/html', body: `<html><head><link rel="stylesheet" href="${beacon.base}/evil.css"></head><body><img src="${beacon.base}/img.png"></body></html>` })
    gw = await startGateway()
    browser = await launchChromium()
    context = await browser.newContext()
    context.setDefaultTimeout(15_000)
  })

  after(async () => {
    await browser?.close()
    await gw?.stop()
    await beacon?.close()
  })

  const newPage = async (): Promise<Page> => await context.newPage()

  it('says so when an uploaded file reached no other node (a node without peers)', async () => {
    const lone = await startGateway(1)
    try {
      const page = await newPage()
      await page.goto(lone.base + '/')
      await page.setInputFiles('#file', { name: 'alone.txt', mimeType: 'text/plain', buffer: Buffer.from('only here\n'.repeat(100)) })
      await page.click('#file-form button')
      await page.waitForSelector('#result:not([hidden])', { timeout: 30_000 })
      assert.match((await page.textContent('#result-uri'))!, /^warren:CHK@/)
      assert.equal(await page.isVisible('#result-alone'), true)
      assert.match((await page.textContent('#result-alone'))!, /No other node took this file/)
      await page.close()
    } finally {
      await lone.stop()
    }
  })

  it('uploads a file through the form and fetches it by its key', async () => {
    const page = await newPage()
    await page.goto(gw.base + '/')
    const text = `hello from the browser test ${Date.now()}\n`.repeat(2000)
    await page.setInputFiles('#file', { name: 'hello.txt', mimeType: 'text/plain', buffer: Buffer.from(text) })
    await page.click('#file-form button')
    await page.waitForSelector('#result:not([hidden])', { timeout: 30_000 })
    const uri = (await page.textContent('#result-uri'))!.trim()
    assert.match(uri, /^warren:CHK@/)
    assert.match((await page.textContent('#progress-text'))!, /inserted \d+ blocks/)
    assert.equal(await page.isVisible('#result-alone'), false, 'the file reached the gateway node\'s peers: no warning')

    // Fetch it by key through the fetch form.
    await page.goto(gw.base + '/')
    await page.fill('#key', uri)
    await Promise.all([page.waitForURL(`**/${uri.replace(/^warren:/, '')}`), page.click('#fetch-form button')])
    assert.equal(await page.evaluate(() => document.body.textContent), text)
    await page.close()
  })

  it('uploads a folder as a site through the form', async () => {
    const dir = await tempDir('warren-site-')
    try {
      await mkdir(join(dir, 'mysite', 'sub'), { recursive: true })
      await writeFile(join(dir, 'mysite', 'index.html'), '<html><body><h1 id="t">folder site</h1><a id="go" href="sub/page.html">sub</a></body></html>')
      await writeFile(join(dir, 'mysite', 'sub', 'page.html'), '<html><body><p id="p">sub page</p></body></html>')
      const page = await newPage()
      await page.goto(gw.base + '/')
      await page.setInputFiles('#folder', join(dir, 'mysite'))
      await page.click('#site-form button')
      await page.waitForSelector('#result:not([hidden])', { timeout: 30_000 })
      await Promise.all([page.waitForURL(/\/CHK@[^/]+\/$/), page.click('#result-link')])
      assert.equal(await page.textContent('#t'), 'folder site')
      await Promise.all([page.waitForURL(/\/sub\/page\.html$/), page.click('#go')])
      assert.equal(await page.textContent('#p'), 'sub page')
      await page.close()
    } finally {
      await removeTempDir(dir)
    }
  })

  it('opens a site and follows relative links through nested folders', async () => {
    const site = await putSite(gw.base, {
      'index.html': '<html><body><h1>home</h1><a id="docs" href="docs/">docs</a></body></html>',
      'docs/index.html': '<html><body><h1>docs</h1><a id="intro" href="guide/intro.html">intro</a></body></html>',
      'docs/guide/intro.html': '<html><body><h1>intro</h1><img id="logo" src="../../img/logo.png"><a id="up" href="../index.html">up</a></body></html>',
      'img/logo.png': Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64')
    })
    const page = await newPage()
    await page.goto(gw.base + site)
    assert.equal(await page.textContent('h1'), 'home')
    await Promise.all([page.waitForURL(gw.base + site + 'docs/'), page.click('#docs')])
    assert.equal(await page.textContent('h1'), 'docs')
    await Promise.all([page.waitForURL(gw.base + site + 'docs/guide/intro.html'), page.click('#intro')])
    assert.equal(await page.textContent('h1'), 'intro')
    // The relative image loaded from the gateway (CSP allows 'self').
    assert.equal(await page.$eval('#logo', (img) => (img as HTMLImageElement).naturalWidth), 1)
    await Promise.all([page.waitForURL(gw.base + site + 'docs/index.html'), page.click('#up')])
    assert.equal(await page.textContent('h1'), 'docs')
    await page.close()
  })

  it('shows the node page with live status: location, store, healing', async () => {
    const page = await newPage()
    await page.goto(gw.base + '/node')
    await page.waitForSelector('#summary dt')
    const summary = await page.$$eval('#summary dt', (dts) => Object.fromEntries(dts.map((dt) => [dt.textContent, dt.nextElementSibling?.textContent])))
    const status = await (await fetch(gw.base + '/api/v1/status')).json() as { peerId: string, announcement: unknown }
    assert.equal(summary['peer ID'], status.peerId)
    assert.match(summary.location!, status.announcement === null ? /^none yet/ : /^[0-9a-f]{16}… \(\d+ nodes on its walk/)
    assert.match(summary.healing!, /^\d+ rebuilt blocks inserted again, \d+ pending, \d+ failed, \d+ dropped$/)
    assert.match((await page.textContent('#store-text'))!, /^\d+ blocks, /)
    await page.close()
  })

  it('blocks every attempt of a site to load from outside the gateway', async () => {
    // Control: the same kind of markup served off the gateway does reach the beacon.
    const control = await newPage()
    const hits = beacon.hits
    await control.goto(beacon.base + '/control.html', { waitUntil: 'networkidle' })
    await control.close()
    assert.ok(hits.includes('/img.png') && hits.includes('/evil.css'), `control page hit the beacon: ${hits.join(', ')}`)
    hits.length = 0

    const b = beacon.base
    const site = await putSite(gw.base, {
      'index.html': `<html><head>
<link rel="stylesheet" href="${b}/link.css"><link rel="stylesheet" href="style.css">
<style>@import url("${b}/import.css"); body { background-image: url("${b}/inline-bg.png") }</style>
<meta http-equiv="refresh" content="0;url=${b}/refresh">
<script>fetch("${b}/fetch"); new Image().src = "${b}/script-img.png"</script>
<script src="${b}/script.js"></script>
</head><body><h1 id="t">hostile</h1>
<img src="${b}/img.png"><img srcset="${b}/srcset.png 2x"><iframe src="${b}/frame.html"></iframe>
<video poster="${b}/poster.png"></video><object data="${b}/object"></object>
<svg><image href="${b}/svg-image.png" width="1" height="1"/></svg>
<form action="${b}/form" method="post"><button id="submit">send</button></form>
<a id="out" href="${b}/clicked">out</a>
</body></html>`,
      'style.css': `@import url("${b}/css-import.css"); h1 { background: url("${b}/css-bg.png") } @font-face { font-family: x; src: url("${b}/font.woff") } body { font-family: x }`
    })
    const page = await newPage()
    const violations: string[] = []
    const requested: string[] = []
    page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()) })
    // Requests the browser actually completed (a CSP-blocked one is reported as failed).
    page.on('requestfinished', (r) => { requested.push(r.url()) })
    await page.goto(gw.base + site, { waitUntil: 'networkidle' })
    assert.equal(await page.textContent('#t'), 'hostile')
    // The external link leads to the gateway's warning page, not outside.
    await Promise.all([page.waitForURL(/\/_\/external\?url=/), page.click('#out')])
    assert.match(await page.textContent('code.external') ?? '', /\/clicked$/)
    await page.close()

    assert.deepEqual(hits, [], `the beacon was reached: ${hits.join(', ')}`)
    assert.deepEqual(requested.filter((u) => u.startsWith(b)), [])
    // What the filter left (CSS in <style> and style.css) the Content-Security-Policy blocked.
    for (const what of ['inline-bg.png', 'import.css', 'css-bg.png', 'css-import.css']) {
      assert.ok(violations.some((v) => v.includes(what)), `no CSP violation reported for ${what}:\n${violations.join('\n')}`)
    }
  })

  it('asks before fetching a key another site sent the browser to, and refuses it in a frame (issue 11)', async () => {
    const { uri } = await putFile(gw.base, 'chosen by another site', 'chosen.txt')
    const path = '/' + uri.replace(/^warren:/, '')
    /** Downloads of that key the node has made (the gateway lists every file it served). */
    const fetched = async (): Promise<number> => (await (await fetch(`${gw.base}/api/v1/transfers`)).json() as Array<{ kind: string, name: string }>)
      .filter((t) => t.kind === 'download' && t.name === uri.replace(/^warren:/, '')).length
    beacon.serve('/lure.html', { type: 'text/html', body: `<html><body><a id="lure" href="${gw.base}${path}">a key</a>
<a id="lure-query" href="${gw.base}/?key=${encodeURIComponent(uri)}">the same by ?key=</a><iframe id="frame" src="${gw.base}${path}"></iframe></body></html>` })
    const page = await newPage()
    const framed: number[] = []
    page.on('response', (r) => { if (r.url() === gw.base + path && r.request().frame() !== page.mainFrame()) framed.push(r.status()) })
    await page.goto(`${beacon.base}/lure.html`, { waitUntil: 'networkidle' })
    assert.deepEqual(framed, [403], 'the frame was refused')
    assert.ok(!(await page.frames()[1].content()).includes('chosen by another site'), 'the frame shows nothing of the file')

    for (const lure of ['#lure', '#lure-query']) {
      await page.goto(`${beacon.base}/lure.html`, { waitUntil: 'networkidle' })
      await Promise.all([page.waitForURL(new RegExp(`^${gw.base}/`)), page.click(lure)])
      assert.equal(await page.textContent('h1'), 'Fetch this key?', lure)
      assert.equal(await page.textContent('#from'), beacon.base, lure)
      assert.equal(await page.textContent('#asked'), lure === '#lure' ? path.slice(1) : uri, lure)
    }
    assert.equal(await fetched(), 0, 'nothing was fetched before the reader said so')
    // The reader's own click, from the gateway's page, fetches it.
    await Promise.all([page.waitForURL(gw.base + path), page.click('#confirm')])
    assert.equal(await page.evaluate(() => document.body.textContent), 'chosen by another site')
    assert.equal(await fetched(), 1)
    // Typed into the address bar (Sec-Fetch-Site: none), it is fetched at once.
    await page.goto(gw.base + path)
    assert.equal(await page.evaluate(() => document.body.textContent), 'chosen by another site')
    await page.close()
  })
})

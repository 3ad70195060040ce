/**
 * The gateway as a newcomer's main UI, in a real headless Chromium (issue 16): the fetch form
 * takes gateway links and answers mistakes with HTML pages, never putting what was typed (an
 * insert URI, perhaps) in the address bar or history; a signed key is made in the browser and a
 * file published under it as editions, the name always showing the newest; the node page shows
 * this node's own address and connects to a peer from its add-peer form.
 */
import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { tempDir } from '../helpers/temp.js'
import { putFile, startGateway } from '../gateway/helpers.js'
import { launchChromium } from '../helpers/browser.js'
import { start, stop } from '../cli/helpers.js'
import type { Running } from '../cli/helpers.js'
import type { GatewayFixture } from '../gateway/helpers.js'
import type { Browser, BrowserContext, Page } from 'playwright-core'

describe('the gateway as the main UI, in headless Chromium', () => {
  let gw: GatewayFixture
  let browser: Browser
  let context: BrowserContext

  before(async () => {
    gw = await startGateway()
    browser = await launchChromium()
    context = await browser.newContext()
    context.setDefaultTimeout(20_000)
  })
  after(async () => {
    await browser?.close()
    await gw?.stop()
  })

  /** Submit the home page's fetch form with `typed`; returns the page it lands on. */
  const fetchTyped = async (typed: string): Promise<Page> => {
    const page = await context.newPage()
    await page.goto(gw.base + '/')
    await page.fill('#key', typed)
    await Promise.all([page.waitForLoadState('load'), page.waitForNavigation(), page.click('#fetch-form button')])
    return page
  }

  it('answers a word that is not a key with an HTML error page', async () => {
    const page = await fetchTyped('hello world')
    assert.equal(await page.textContent('h1'), 'Error 400')
    assert.match((await page.textContent('p.error'))!, /"hello world" is not a warren key: paste a URI such as warren:CHK@/)
    assert.ok(!page.url().includes('hello'), page.url())
    // A mistyped page address is an HTML page too, not JSON.
    await page.goto(gw.base + '/no-such-page')
    assert.equal(await page.textContent('h1'), 'Not found')
    await page.close()
  })

  it('takes a link copied from a gateway', async () => {
    const r = await putFile(gw.base, 'copied from a link', 'note.txt')
    const link = `${gw.base}/${r.uri.replace(/^warren:/, '')}`
    const page = await fetchTyped(link)
    assert.equal(await page.evaluate(() => document.body.textContent), 'copied from a link')
    assert.equal(page.url(), link)
    await page.close()
  })

  it('creates a signed key, publishes editions under it, and the name shows the newest', async () => {
    const page = await context.newPage()
    await page.goto(gw.base + '/')
    await Promise.all([page.waitForNavigation(), page.click('#keygen-form button')])
    assert.equal(new URL(page.url()).pathname, '/keygen')
    const insertUri = (await page.textContent('#insert-uri'))!.trim()
    const requestUri = (await page.textContent('#request-uri'))!.trim()
    assert.match(insertUri, /^warren:SSK-INSERT@/)
    assert.match(requestUri, /^warren:SSK@/)

    for (const [edition, text] of ['first edition', 'second edition'].entries()) {
      await page.goto(gw.base + '/')
      await page.selectOption('#target-kind', 'update')
      await page.fill('#target', insertUri + 'notes')
      await page.setInputFiles('#file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from(text) })
      await page.click('#file-form button')
      await page.waitForSelector('#result:not([hidden])', { timeout: 30_000 })
      assert.equal((await page.textContent('#result-uri'))!.trim(), requestUri + 'notes', `edition ${edition}`)
    }
    const history: string[] = []
    page.on('framenavigated', (f) => { if (f === page.mainFrame()) history.push(f.url()) })
    await page.goto(`${gw.base}/${requestUri.replace(/^warren:/, '')}notes`)
    assert.equal(await page.evaluate(() => document.body.textContent), 'second edition')
    assert.ok(page.url().endsWith('notes/1'), `redirected to edition 1: ${page.url()}`)
    // Both publications are on the uploads and downloads page, with the name they went under.
    await page.goto(gw.base + '/transfers')
    await page.waitForSelector('#transfers tbody tr a.uri')
    const rows = await page.$$eval('#transfers tbody tr', (trs) => trs.map((tr) => [tr.getAttribute('data-state'), tr.querySelector('a.uri')?.textContent ?? '']))
    assert.deepEqual(rows.filter(([, u]) => u === requestUri + 'notes').map(([s]) => s), ['done', 'done'])
    // Bookmarked, the name shows the edition it leads to now, and opens the newest.
    await page.goto(gw.base + '/bookmarks')
    await page.fill('#bookmark-uri', requestUri + 'notes')
    await page.fill('#bookmark-title', 'my notes')
    await Promise.all([page.waitForNavigation(), page.click('#bookmark-form button')])
    await page.waitForSelector('#bookmarks tbody tr a.bookmark')
    assert.deepEqual(await page.$$eval('#bookmarks tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 2).map((td) => td.textContent))), [['my notes', 'edition 1']])
    await Promise.all([page.waitForNavigation(), page.click('#bookmarks a.bookmark')])
    assert.equal(await page.evaluate(() => document.body.textContent), 'second edition')
    // Nothing the browser visited carries the insert URI.
    const secret = insertUri.slice('warren:SSK-INSERT@'.length).split(',')[0]
    for (const u of [...history, page.url()]) assert.ok(!u.includes(secret), u)
    await page.close()

    // Pasting the insert URI into the fetch form by mistake: refused, its request URI named, and the URL stays clean.
    const oops = await fetchTyped(insertUri + 'notes')
    assert.match((await oops.textContent('p.error'))!, new RegExp(`that is an insert URI .* Its request URI, which is safe to share and fetch, is ${requestUri.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}notes`))
    assert.ok(!oops.url().includes(secret), oops.url())
    await oops.close()
  })

  it('publishes a file under a signed name (SSK) and under a keyword (KSK) from the home page', async () => {
    const keys = await (await fetch(gw.base + '/api/v1/keygen')).json() as { insertUri: string, requestUri: string }
    const page = await context.newPage()
    const cases: Array<[string, string, string, string]> = [
      ['ssk', keys.insertUri + 'signed.txt', 'signed text', keys.requestUri + 'signed.txt'],
      ['ksk', 'first/hour/word', 'keyword text', 'warren:KSK@first/hour/word']
    ]
    for (const [kind, target, text, expected] of cases) {
      await page.goto(gw.base + '/')
      await page.selectOption('#target-kind', kind)
      await page.fill('#target', target)
      await page.setInputFiles('#file', { name: 'x.txt', mimeType: 'text/plain', buffer: Buffer.from(text) })
      await page.click('#file-form button')
      await page.waitForSelector('#result:not([hidden])', { timeout: 30_000 })
      assert.equal((await page.textContent('#result-uri'))!.trim(), expected, kind)
      await Promise.all([page.waitForLoadState('load'), page.waitForNavigation(), page.click('#result-link')])
      assert.equal(await page.evaluate(() => document.body.textContent), text, kind)
      // Another node reads it by the same name.
      assert.equal(new TextDecoder().decode(await gw.net.nodes[2].client.get(expected)), text, kind)
    }
    await page.close()
  })

  it('publishes a folder as an updatable site, updates it, and another node sees the new edition', async () => {
    const dir = await tempDir('warren-usk-site-')
    const keys = await (await fetch(gw.base + '/api/v1/keygen')).json() as { insertUri: string, requestUri: string }
    const page = await context.newPage()
    for (const version of ['one', 'two']) {
      await mkdir(join(dir, version), { recursive: true })
      await writeFile(join(dir, version, 'index.html'), `<html><body><h1 id="t">site ${version}</h1><a id="about" href="about.html">about</a></body></html>`)
      await writeFile(join(dir, version, 'about.html'), `<html><body><p id="a">about ${version}</p></body></html>`)
      await page.goto(gw.base + '/')
      await page.selectOption('#target-kind', 'update')
      await page.fill('#target', keys.insertUri + 'mysite')
      await page.setInputFiles('#folder', join(dir, version))
      await page.click('#site-form button')
      await page.waitForSelector('#result:not([hidden])', { timeout: 30_000 })
      assert.equal((await page.textContent('#result-uri'))!.trim(), keys.requestUri + 'mysite')
    }
    // The name opens the newest edition; its relative links work; a single-slash link works too.
    await Promise.all([page.waitForURL(/\/mysite\/1\/\/$/), page.click('#result-link')])
    assert.equal(await page.textContent('#t'), 'site two')
    await Promise.all([page.waitForURL(/\/mysite\/1\/\/about\.html$/), page.click('#about')])
    assert.equal(await page.textContent('#a'), 'about two')
    await page.goto(`${gw.base}/${keys.requestUri.replace(/^warren:/, '')}mysite/about.html`)
    assert.equal(await page.textContent('#a'), 'about two')
    await page.close()
    // Another node of the network finds the same newest edition.
    const other = await gw.net.nodes[2].keys.resolve(keys.requestUri + 'mysite//about.html')
    assert.equal(other.edition, 1)
    assert.equal(new TextDecoder().decode(await gw.net.nodes[2].client.get(keys.requestUri + 'mysite//about.html')), '<html><body><p id="a">about two</p></body></html>')
  })

  it('shows the node\'s own address and adds a peer from the node page', async () => {
    const page = await context.newPage()
    await page.goto(gw.base + '/node')
    await page.waitForSelector('#addresses li')
    const own = gw.net.nodes[0].addresses()
    assert.ok(own.includes((await page.textContent('#addresses li code'))!.trim()))
    const other = gw.net.nodes[2].addresses()[0]
    await page.fill('#peer-address', other)
    await page.click('#peer-form button')
    await page.waitForFunction(() => /connected to|could not/.test(document.getElementById('peer-result')!.textContent!))
    assert.equal(await page.textContent('#peer-result'), `connected to ${gw.net.nodes[2].peerId}`)
    await page.fill('#peer-address', '/ip4/127.0.0.1/tcp/1')
    await page.click('#peer-form button')
    await page.waitForFunction(() => /could not/.test(document.getElementById('peer-result')!.textContent!))
    assert.match((await page.textContent('#peer-result'))!, /has no \/p2p\/<peer ID>/)
    // One row per connected peer: the count and the table agree.
    await page.waitForFunction(() => document.querySelectorAll('#peers tbody tr').length > 0)
    const peers = await page.evaluate(() => document.querySelectorAll('#peers tbody tr').length)
    const summary = await page.evaluate(() => [...document.querySelectorAll('#summary dt')].find((d) => d.textContent === 'peers')!.nextElementSibling!.textContent)
    assert.equal(summary, `${peers} connected`)
    await page.close()
  })
})

/**
 * Issue 16's "done when", as the README tells it (installing is install.slow.ts): two nodes
 * started with `warren start`, the second joining the first with `-b` and
 * `--allow-private-addrs`; in the first node's gateway a signed key is made, a folder published
 * as an updatable site and updated; the second node's gateway then shows the new edition.
 */
describe('the README walkthrough: two nodes, an updatable site published and updated in the browser', () => {
  let first: Running | undefined
  let second: Running | undefined
  let browser: Browser | undefined

  after(async () => {
    await browser?.close()
    for (const n of [second, first]) if (n !== undefined) await stop(n)
  })

  it('shows the second node the edition published last on the first', async () => {
    const dir = await tempDir('warren-walkthrough-')
    first = await start(join(dir, 'node1'), undefined, ['--allow-private-addrs'])
    // The banner's own -b line is what the README says to paste.
    const joinLine = first.output.find((l) => l.includes(' -b '))
    assert.ok(joinLine !== undefined, `the first node printed a -b line: ${first.output.join('\n')}`)
    second = await start(join(dir, 'node2'), `${first.addr}/p2p/${first.peerId}`, ['--allow-private-addrs'])
    const gw1 = `http://${first.api}`
    const gw2 = `http://${second.api}`
    browser = await launchChromium()
    const context = await browser.newContext()
    context.setDefaultTimeout(60_000)
    const page = await context.newPage()

    await page.goto(gw1 + '/')
    await Promise.all([page.waitForURL(`${gw1}/keygen`), page.click('#keygen-form button')])
    const insertUri = (await page.textContent('#insert-uri'))!.trim()
    const requestUri = (await page.textContent('#request-uri'))!.trim()
    for (const version of ['one', 'two']) {
      const site = join(dir, 'site-' + version)
      await mkdir(site, { recursive: true })
      await writeFile(join(site, 'index.html'), `<html><body><h1 id="t">site ${version}</h1></body></html>`)
      await page.goto(gw1 + '/')
      await page.selectOption('#target-kind', 'update')
      await page.fill('#target', insertUri + 'mysite')
      await page.setInputFiles('#folder', site)
      await page.click('#site-form button')
      await page.waitForSelector('#result:not([hidden])', { timeout: 60_000 })
      assert.equal((await page.textContent('#result-uri'))!.trim(), requestUri + 'mysite')
    }
    // The other node, through its own gateway, by the name: the newest edition.
    const other = await context.newPage()
    await other.goto(`${gw2}/${requestUri.replace(/^warren:/, '')}mysite`)
    assert.equal(await other.textContent('#t'), 'site two')
    assert.match(other.url(), /\/mysite\/1\/\/$/)
  })
})

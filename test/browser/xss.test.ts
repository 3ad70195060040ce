/**
 * Script in content never runs in a real browser. A site carrying the classic ways to run
 * script — an inline <script>, event handlers (onload, onerror), a `javascript:` link, a
 * <meta http-equiv=refresh> and SVG with script (inline and as its own document) — is
 * inserted into a real node and opened through the gateway in headless Chromium. Every vector
 * would set its own marker (a localStorage key "xss-NAME") and request its own URL on a
 * beacon server (127.0.0.1, another port); after the visit no marker is set, the beacon got
 * nothing and every request the page made went to the gateway.
 *
 * Control: the very same files served unfiltered by the beacon server set every marker and
 * hit every beacon URL in the same browser, so the test can fail.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { putSite, startGateway } from '../gateway/helpers.js'
import { startBeacon } from '../helpers/beacon.js'
import { launchChromium } from '../helpers/browser.js'
import { until } from '../helpers/network.js'
import type { GatewayFixture } from '../gateway/helpers.js'
import type { Beacon } from '../helpers/beacon.js'
import type { Browser, BrowserContext, Page } from 'playwright-core'

/** Every vector's marker; the page files below set each one where script runs. */
const MARKERS = ['inline', 'onload', 'onerror', 'jslink', 'svg-inline', 'refresh', 'svg-file', 'svg-onload']

/** The site's files: each vector stores its marker and requests /xss-NAME on the beacon. */
function files (beacon: string): Record<string, string> {
  const mark = (name: string): string => `localStorage.setItem('xss-${name}','ran');new Image().src='${beacon}/xss-${name}'`
  return {
    'index.html': `<!doctype html><html><head><title>xss</title></head>
<body onload="${mark('onload')}">
<h1 id="t">xss</h1>
<script>${mark('inline')}</script>
<img id="broken" src="missing.png" onerror="${mark('onerror')}">
<a id="jslink" href="javascript:${mark('jslink')};void 0">run</a>
<svg width="10" height="10"><script>${mark('svg-inline')}</script></svg>
</body></html>`,
    'refresh.html': `<!doctype html><html><head><meta http-equiv="refresh" content="0;url=${beacon}/xss-refresh"></head>
<body><p id="r">stayed</p></body></html>`,
    // Issue 11 finding 7: an SVG animation that sets a link's href once the page is shown
    // (a shape as the link: this Chromium has no fonts to draw text with). Without the
    // animation the link leads to stay.html, so a click always ends somewhere a test can wait for.
    'animate.html': `<!doctype html><html><body><svg width="200" height="40"><a id="anim" href="stay.html"><animate attributeName="href" values="${beacon}/xss-animate"></animate>` +
      `<set attributeName="xlink:href" to="${beacon}/xss-set"></set><rect id="anim-link" width="200" height="40" fill="blue"/></a></svg></body></html>`,
    'image.svg': `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="${mark('svg-onload')}"><script>${mark('svg-file')}</script><rect width="10" height="10"/></svg>`
  }
}

/** The xss-* localStorage keys set in `origin` (read through the browser's storage state). */
async function markersIn (context: BrowserContext, origin: string): Promise<string[]> {
  const state = await context.storageState()
  const items = state.origins.find((o) => o.origin === origin)?.localStorage ?? []
  return items.map((i) => i.name).filter((n) => n.startsWith('xss-')).map((n) => n.slice(4)).sort()
}

/** A real mouse click in the middle of `selector` (Playwright's own click judges an SVG shape in a link "not visible"). */
async function clickAt (page: Page, selector: string): Promise<void> {
  const box = await page.locator(selector).boundingBox()
  assert.ok(box !== null, `${selector} is on the page`)
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2)
}

describe('content script in headless Chromium', () => {
  let gw: GatewayFixture
  let browser: Browser
  let beacon: Beacon

  before(async () => {
    beacon = await startBeacon()
    for (const [path, body] of Object.entries(files(beacon.base))) {
      if (path === 'animate.html') continue // its control is its own test below
      beacon.serve(`/control/${path}`, { type: path.endsWith('.svg') ? 'image/svg+xml' : 'text/html', body })
    }
    gw = await startGateway()
    browser = await launchChromium()
  })

  after(async () => {
    await browser?.close()
    await gw?.stop()
    await beacon?.close()
  })

  it('control: the same files served off the gateway run every vector', async () => {
    const context = await browser.newContext()
    context.setDefaultTimeout(15_000)
    const page = await context.newPage()
    await page.goto(`${beacon.base}/control/index.html`, { waitUntil: 'networkidle' })
    await page.click('#jslink')
    await page.waitForFunction(() => ['inline', 'onload', 'onerror', 'jslink', 'svg-inline'].every((m) => localStorage.getItem(`xss-${m}`) === 'ran'))
    await Promise.all([page.waitForURL(`${beacon.base}/xss-refresh`), page.goto(`${beacon.base}/control/refresh.html`)])
    await page.goto(`${beacon.base}/control/image.svg`)
    await page.waitForFunction(() => ['svg-file', 'svg-onload'].every((m) => localStorage.getItem(`xss-${m}`) === 'ran'))
    // The refresh navigates instead of storing a marker; the beacon saw every vector.
    assert.deepEqual(await markersIn(context, beacon.base), MARKERS.filter((m) => m !== 'refresh').sort())
    for (const m of MARKERS) await until(() => beacon.hits.includes(`/xss-${m}`), 10_000, `the control's request for /xss-${m}`)
    await context.close()
  })

  it('through the gateway: no vector runs and the page requests nothing outside the gateway', async () => {
    beacon.hits.length = 0
    const site = gw.base + await putSite(gw.base, files(beacon.base))
    const context = await browser.newContext()
    context.setDefaultTimeout(15_000)
    const requested: string[] = []
    context.on('request', (r) => { requested.push(r.url()) })
    const page = await context.newPage()

    await page.goto(site, { waitUntil: 'networkidle' })
    assert.equal(await page.textContent('#t'), 'xss')
    // The broken image was tried (from the gateway), so its onerror would have fired.
    assert.ok(requested.includes(site + 'missing.png'), `the page's own image was requested: ${requested.join(', ')}`)
    await page.click('#jslink')
    await page.waitForLoadState('networkidle')

    await page.goto(site + 'refresh.html', { waitUntil: 'networkidle' })
    const refreshed = page.url() !== site + 'refresh.html'

    await page.goto(site + 'image.svg', { waitUntil: 'networkidle' })

    const ran = [...await markersIn(context, gw.base), ...(refreshed ? ['refresh'] : [])]
    assert.deepEqual(ran, [], `vectors that ran through the gateway: ${ran.join(', ')}`)
    const outside = requested.filter((u) => !u.startsWith(gw.base + '/'))
    assert.deepEqual(outside, [], `requests outside the gateway: ${outside.join(', ')}`)
    assert.deepEqual(beacon.hits, [], `the beacon was reached: ${beacon.hits.join(', ')}`)
    await context.close()
  })

  it('an SVG animation cannot turn a link into one that leaves the gateway (issue 11 finding 7)', async () => {
    beacon.hits.length = 0
    beacon.serve('/control/animate.html', { type: 'text/html', body: files(beacon.base)['animate.html'] })
    const context = await browser.newContext()
    context.setDefaultTimeout(15_000)
    const page = await context.newPage()
    // Control: served unfiltered, a click on the text follows the animated href to the beacon.
    await page.goto(`${beacon.base}/control/animate.html`, { waitUntil: 'networkidle' })
    await Promise.all([page.waitForURL(`${beacon.base}/xss-animate`), clickAt(page, '#anim-link')])
    assert.ok(beacon.hits.includes('/xss-animate'), `the control reached the beacon: ${beacon.hits.join(', ')}`)

    beacon.hits.length = 0
    const site = gw.base + await putSite(gw.base, { 'index.html': files(beacon.base)['animate.html'], 'stay.html': '<p id="stayed">stayed</p>' })
    const requested: string[] = []
    context.on('request', (r) => { requested.push(r.url()) })
    await page.goto(site, { waitUntil: 'networkidle' })
    await Promise.all([page.waitForURL((u) => u.href !== site), clickAt(page, '#anim-link')])
    assert.equal(page.url(), site + 'stay.html', 'the click followed the link\'s own href')
    assert.equal(await page.textContent('#stayed'), 'stayed')
    const outside = requested.filter((u) => !u.startsWith(gw.base + '/'))
    assert.deepEqual(outside, [], `requests outside the gateway: ${outside.join(', ')}`)
    assert.deepEqual(beacon.hits, [], `the beacon was reached: ${beacon.hits.join(', ')}`)
    await context.close()
  })
})

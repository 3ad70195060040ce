/**
 * The settings page in a real headless Chromium (issue 16): the node's config.json shown with
 * the values the node runs with, changed through the form with the command line's rules (a
 * refused value leaves the file untouched and the form as typed), written so that the next
 * `warren start` reads it back, naming the settings that need a restart; and a form posted
 * from another site is refused (CSRF).
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { CONFIG_FILE, resolveConfig } from '../../src/config.js'
import { startGateway } from '../gateway/helpers.js'
import { startBeacon } from '../helpers/beacon.js'
import { launchChromium } from '../helpers/browser.js'
import type { GatewayFixture } from '../gateway/helpers.js'
import type { Beacon } from '../helpers/beacon.js'
import type { Browser, Page } from 'playwright-core'

describe('settings page in headless Chromium', () => {
  let gw: GatewayFixture
  let browser: Browser
  let beacon: Beacon
  let page: Page
  let file: string
  const onDisk = async (): Promise<string | undefined> => await readFile(file, 'utf8').catch(() => undefined)

  before(async () => {
    beacon = await startBeacon()
    gw = await startGateway(2)
    file = join(gw.net.nodes[0].config.dataDir, CONFIG_FILE)
    browser = await launchChromium()
    const context = await browser.newContext()
    context.setDefaultTimeout(15_000)
    page = await context.newPage()
  })
  after(async () => {
    await browser?.close()
    await gw?.stop()
    await beacon?.close()
  })

  /** Submit the form; the page it lands on and its status. */
  const submit = async (): Promise<number> => {
    const [res] = await Promise.all([page.waitForResponse((r) => r.url() === `${gw.base}/settings` && r.request().method() === 'POST'), page.click('#settings-form button')])
    await page.waitForLoadState('load')
    return res.status()
  }

  it('shows the file\'s values and the ones the node runs with, and saves changes for the next start', async () => {
    await page.goto(gw.base + '/')
    await Promise.all([page.waitForURL(`${gw.base}/settings`), page.click('nav a[href="/settings"]')])
    assert.equal(await page.inputValue('#setting-htl'), '20')
    assert.equal(await page.inputValue('#setting-storeSize'), '1GiB')
    // The test node was started with a 64 MiB store, not from the file: the page says so.
    assert.match((await page.textContent('#running-storeSize'))!, /Running now with 64MiB/)

    const other = gw.net.nodes[1].addresses()[0]
    await page.fill('#setting-htl', '12')
    await page.fill('#setting-storeSize', '2 GiB')
    await page.fill('#setting-bootstrap', `${other}\n`)
    await page.fill('#setting-announce', '/ip4/203.0.113.5/tcp/7400')
    await page.check('#setting-allowPrivateAddrs')
    assert.equal(await submit(), 200)
    assert.match((await page.textContent('#saved'))!, /^Saved default hops-to-live, store size, bootstrap nodes, announced addresses, dial private addresses to .*config\.json\. Restart the node for them to take effect/)
    assert.equal(await page.inputValue('#setting-htl'), '12')
    assert.equal(await page.inputValue('#setting-storeSize'), '2GiB')

    const saved = JSON.parse((await onDisk())!) as Record<string, unknown>
    assert.deepEqual(saved, { htl: 12, storeBytes: '2GiB', bootstrap: [other], announce: ['/ip4/203.0.113.5/tcp/7400'], allowPrivateAddrs: true })
    // What `warren start -d <dir>` would run with.
    const next = await resolveConfig({ dataDir: gw.net.nodes[0].config.dataDir }, {})
    assert.deepEqual([next.htl, next.storeBytes, next.bootstrap, next.announce, next.allowPrivateAddrs], [12, 2 * 1024 ** 3, [other], ['/ip4/203.0.113.5/tcp/7400'], true])

    // Saving again unchanged writes nothing new.
    assert.equal(await submit(), 200)
    assert.equal(await page.textContent('#saved'), 'Nothing changed.')
  })

  it('refuses a value the command line refuses, keeping the file and what was typed', async () => {
    const before = await onDisk()
    await page.goto(gw.base + '/settings')
    const cases: Array<[string, string, RegExp]> = [
      ['#setting-htl', '99', /^default hops-to-live: htl must be an integer from 1 to 20, got "99"$/],
      ['#setting-storeSize', '10 parsecs', /^store size: invalid size "10 parsecs"/],
      ['#setting-bootstrap', '/ip4/127.0.0.1/tcp/7400', /^invalid bootstrap address "\/ip4\/127\.0\.0\.1\/tcp\/7400" \(expected a multiaddr with the node's peer ID/],
      ['#setting-api', '0.0.0.0:7480', /^refusing to bind the client API to 0\.0\.0\.0: it has no authentication/]
    ]
    for (const [field, value, message] of cases) {
      await page.goto(gw.base + '/settings')
      await page.fill(field, value)
      assert.equal(await submit(), 400, field)
      assert.match((await page.textContent('#settings-error'))!, message)
      assert.equal(await page.inputValue(field), value, 'the form keeps what was typed')
      assert.equal(await onDisk(), before, 'the file is untouched')
    }
  })

  it('refuses a settings form posted from another site', async () => {
    const before = await onDisk()
    beacon.serve('/csrf.html', { type: 'text/html', body: `<html><body><form id="f" method="post" action="${gw.base}/settings"><input name="htl" value="1"><button id="go">go</button></form></body></html>` })
    await page.goto(`${beacon.base}/csrf.html`)
    const [res] = await Promise.all([page.waitForResponse(`${gw.base}/settings`), page.click('#go')])
    assert.equal(res.status(), 403)
    assert.equal(await onDisk(), before)
  })
})

/**
 * Node flags reach the config the node runs with: `warren init` writes what `warren start`
 * would use to config.json, so each flag can be checked there without starting a network.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { run } from './helpers.js'
import { tempDir } from '../helpers/temp.js'
import { defaultConfig, envConfig } from '../../src/config.js'
import { natSettings } from '../../src/nat.js'

describe('node flags', () => {
  it('--announce-addr sets the advertised addresses, repeatable, over WARREN_ANNOUNCE, and is validated', async () => {
    const dir = await tempDir()
    const out = await run(['init', '-d', dir, '--announce-addr', '/ip4/203.0.113.5/tcp/7400', '--announce-addr', '/dns4/node.example/tcp/7401'],
      { WARREN_ANNOUNCE: '/ip4/198.51.100.1/tcp/1' })
    assert.equal(out.code, 0, out.stderr)
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as { announce: string[] }
    assert.deepEqual(config.announce, ['/ip4/203.0.113.5/tcp/7400', '/dns4/node.example/tcp/7401'])

    const bad = await run(['init', '-d', join(dir, 'other'), '--announce-addr', '203.0.113.5:7400'])
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /invalid announce address "203\.0\.113\.5:7400" \(expected a multiaddr such as \/ip4\/203\.0\.113\.5\/tcp\/7400\)/)
    const help = await run(['start', '--help'])
    assert.match(help.stdout, /--announce-addr <multiaddr>/)
  })

  it('--upnp (and WARREN_UPNP, and config `upnp`) turns UPnP port mapping on; off by default', async () => {
    const readUpnp = async (dir: string): Promise<boolean> => (JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as { upnp: boolean }).upnp
    const base = await tempDir()
    const cases: Array<{ args: string[], env: Record<string, string>, want: boolean }> = [
      { args: [], env: {}, want: false },
      { args: ['--upnp'], env: {}, want: true },
      { args: [], env: { WARREN_UPNP: '1' }, want: true },
      { args: [], env: { WARREN_UPNP: 'false' }, want: false }
    ]
    for (const [i, c] of cases.entries()) {
      const dir = join(base, String(i))
      const out = await run(['init', '-d', dir, ...c.args], c.env)
      assert.equal(out.code, 0, out.stderr)
      assert.equal(await readUpnp(dir), c.want, `${c.args.join(' ')} ${JSON.stringify(c.env)}`)
    }
    assert.equal(envConfig({ WARREN_UPNP: 'true' }).upnp, true)
    assert.match((await run(['start', '--help'])).stdout, /--upnp/)
    // The node runs @libp2p/upnp-nat as the config says, in production and in a local test
    // network alike; an explicit nat.upnp still wins.
    assert.equal(natSettings(defaultConfig(), {}).upnp, false)
    assert.equal(natSettings({ upnp: true }, {}).upnp, true)
    assert.equal(natSettings({ upnp: true }, { localTestnet: true }).upnp, true)
    assert.equal(natSettings({ upnp: true }, { nat: { upnp: false } }).upnp, false)
    assert.equal(natSettings({ upnp: false }, { localTestnet: true }).traversal, false)
  })
})

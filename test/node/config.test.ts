import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import assert from 'node:assert/strict'
import { readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { parseApiAddress, parseSize, resolveConfig, writeConfigFile } from '../../src/config.js'
import { DEFAULT_API_PORT, DEFAULT_STORE_BYTES } from '../../src/constants.js'
import { IDENTITY_FILE, loadOrCreateIdentity } from '../../src/identity.js'
import { tempDir } from '../helpers/temp.js'

describe('configuration', () => {
  let dir: string
  before(async () => { dir = await tempDir('warren-cfg-') })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('parses sizes and API addresses, rejecting nonsense with the expected form', () => {
    assert.equal(parseSize('512MiB'), 512 * 2 ** 20)
    assert.equal(parseSize('2g'), 2 * 2 ** 30)
    assert.equal(parseSize('1048576'), 1048576)
    assert.throws(() => parseSize('lots'), /invalid size "lots" \(examples/)
    assert.deepEqual(parseApiAddress('127.0.0.1:7480'), { apiHost: '127.0.0.1', apiPort: 7480 })
    assert.deepEqual(parseApiAddress('7481'), { apiPort: 7481 })
    assert.deepEqual(parseApiAddress('[::1]:9'), { apiHost: '::1', apiPort: 9 })
    assert.throws(() => parseApiAddress('host:99999'), /invalid API port/)
    // A URL is what most users paste.
    for (const url of ['http://127.0.0.1:7480', 'http://127.0.0.1:7480/', ' http://127.0.0.1:7480/ ']) {
      assert.deepEqual(parseApiAddress(url), { apiHost: '127.0.0.1', apiPort: 7480 }, url)
    }
    assert.deepEqual(parseApiAddress('http://[::1]:9/'), { apiHost: '::1', apiPort: 9 })
    assert.deepEqual(parseApiAddress('http://localhost'), { apiHost: 'localhost', apiPort: 80 })
    assert.throws(() => parseApiAddress('https://127.0.0.1:7480'), /speaks http:\/\/, not https:\/\//)
    assert.throws(() => parseApiAddress('http://127.0.0.1:7480/api/v1'), /only the scheme, host and port/)
    assert.throws(() => parseApiAddress('http://127.0.0.1:99999'), /expected HOST:PORT or http:\/\/HOST:PORT/)
  })

  it('layers defaults < config file < environment < flags', async () => {
    const d = join(dir, 'layers')
    const none = await resolveConfig({ dataDir: d }, {})
    assert.equal(none.storeBytes, DEFAULT_STORE_BYTES)
    assert.equal(none.apiPort, DEFAULT_API_PORT)
    await writeConfigFile({ ...none, storeBytes: 100 * 2 ** 20, apiPort: 9000, htl: 7 })
    const file = await resolveConfig({ dataDir: d }, {})
    assert.equal(file.storeBytes, 100 * 2 ** 20)
    assert.equal(file.apiPort, 9000)
    const env = await resolveConfig({ dataDir: d }, { WARREN_API: '127.0.0.1:9100', WARREN_BOOTSTRAP: '/ip4/127.0.0.1/tcp/1/p2p/x, /ip4/127.0.0.1/tcp/2/p2p/y' })
    assert.equal(env.apiPort, 9100)
    assert.equal(env.htl, 7)
    assert.deepEqual(env.bootstrap, ['/ip4/127.0.0.1/tcp/1/p2p/x', '/ip4/127.0.0.1/tcp/2/p2p/y'])
    const flags = await resolveConfig({ dataDir: d, apiPort: 9200, htl: 3 }, { WARREN_API: '127.0.0.1:9100' })
    assert.equal(flags.apiPort, 9200)
    assert.equal(flags.htl, 3)
  })

  it('refuses a non-loopback API bind unless explicitly allowed', async () => {
    const d = join(dir, 'remote')
    await assert.rejects(resolveConfig({ dataDir: d, apiHost: '0.0.0.0' }, {}), /refusing to bind the client API to 0\.0\.0\.0/)
    const ok = await resolveConfig({ dataDir: d, apiHost: '0.0.0.0', apiAllowRemote: true }, {})
    assert.equal(ok.apiHost, '0.0.0.0')
  })

  it('reports a broken config file with its path', async () => {
    const d = join(dir, 'broken')
    await writeConfigFile(await resolveConfig({ dataDir: d }, {}))
    await writeFile(join(d, 'config.json'), '{ not json')
    await assert.rejects(resolveConfig({ dataDir: d }, {}), (e: Error) => e.message.includes(join(d, 'config.json')) && /fix or delete it/.test(e.message))
  })
})

describe('identity', () => {
  let dir: string
  before(async () => { dir = await tempDir('warren-id-') })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('creates an Ed25519 key in libp2p protobuf format, private to the user, and keeps it', async () => {
    const first = await loadOrCreateIdentity(dir)
    assert.equal(first.created, true)
    assert.equal(first.key.type, 'Ed25519')
    const file = join(dir, IDENTITY_FILE)
    assert.equal((await stat(file)).mode & 0o777, 0o600)
    const parsed = privateKeyFromProtobuf(await readFile(file))
    assert.equal(peerIdFromPrivateKey(parsed).toString(), peerIdFromPrivateKey(first.key).toString())
    const again = await loadOrCreateIdentity(dir)
    assert.equal(again.created, false)
    assert.equal(peerIdFromPrivateKey(again.key).toString(), peerIdFromPrivateKey(first.key).toString())
  })

  it('refuses a corrupt identity file instead of silently replacing it', async () => {
    const d = join(dir, 'bad')
    await loadOrCreateIdentity(d)
    await writeFile(join(d, IDENTITY_FILE), 'garbage')
    await assert.rejects(loadOrCreateIdentity(d), /not a libp2p protobuf private key/)
  })
})

/**
 * The CLI end to end, as a user runs it: three `warren start` processes on 127.0.0.1
 * joined through bootstrap, `warren put` of a multi-block file on one, `warren get` on
 * another returning identical bytes, `warren status`/`peers`, and clean SIGTERM shutdown.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { randomBytes } from '../helpers/seed.js'
import { tempDir } from '../helpers/temp.js'
import { run, start } from './helpers.js'
import type { Running } from './helpers.js'

async function status (api: string): Promise<any> {
  const res = await fetch(`http://${api}/api/v1/status`)
  return await res.json()
}

async function untilPeers (api: string, n: number): Promise<void> {
  const deadline = Date.now() + 20_000
  while ((await status(api)).routingTable.peers < n) {
    if (Date.now() > deadline) throw new Error(`node at ${api} did not reach ${n} peers`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** The node's announcement, once its walk agreed on a location. */
async function untilAnnounced (api: string): Promise<{ key: string, participants: number, at: number, restored: boolean }> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const a = (await status(api)).announcement
    if (a !== null) return a
    if (Date.now() > deadline) throw new Error(`node at ${api} did not announce itself`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('warren CLI end to end', () => {
  const nodes: Running[] = []
  let dir: string

  before(async () => {
    dir = await tempDir('warren-cli-')
    const first = await start(join(dir, 'n1'))
    nodes.push(first)
    nodes.push(await start(join(dir, 'n2'), first.addr))
    nodes.push(await start(join(dir, 'n3'), first.addr))
    await untilPeers(first.api, 2)
    await untilPeers(nodes[1].api, 1)
    await untilPeers(nodes[2].api, 1)
  })

  after(async () => {
    for (const n of nodes) if (n.proc.exitCode === null) n.proc.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  it('puts a multi-block file on one node and gets identical bytes on another', async () => {
    const data = randomBytes(300_000) // ~10 CHK blocks plus a manifest
    const file = join(dir, 'in.bin')
    await writeFile(file, data)
    const put = await run(['put', file, '-a', nodes[1].api])
    assert.equal(put.code, 0, put.stderr)
    const uri = put.stdout.trim()
    assert.match(uri, /^warren:CHK@[1-9A-HJ-NP-Za-km-z]+,[1-9A-HJ-NP-Za-km-z]+\/in\.bin$/)

    const out = join(dir, 'out.bin')
    const get = await run(['get', uri, '-a', nodes[2].api, '-o', out])
    assert.equal(get.code, 0, get.stderr)
    assert.ok((await readFile(out)).equals(data), 'identical bytes')
  })

  it('reports status and peers, and explains errors', async () => {
    const st = await run(['status', '-a', nodes[0].api])
    assert.equal(st.code, 0, st.stderr)
    assert.match(st.stdout, new RegExp(`peer ID\\s+${nodes[0].peerId}`))
    assert.match(st.stdout, /routing table\s+\d+\/250 entries/)
    const peers = await run(['peers', '--json', '-a', nodes[0].api])
    const list = JSON.parse(peers.stdout) as Array<{ peerId: string }>
    assert.deepEqual(new Set(list.map((p) => p.peerId)), new Set([nodes[1].peerId, nodes[2].peerId]))

    const bad = await run(['get', 'warren:CHK@nonsense', '-a', nodes[0].api])
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /warren: .*CHK/)
    const down = await run(['status', '-a', '127.0.0.1:1'])
    assert.equal(down.code, 1)
    assert.match(down.stderr, /cannot reach the warren node API/)
  })

  it('takes the API address as HOST:PORT or as a URL (flag and WARREN_API)', async () => {
    const file = join(dir, 'small.txt')
    await writeFile(file, 'addressed')
    for (const api of [`http://${nodes[0].api}`, `http://${nodes[0].api}/`]) {
      const put = await run(['put', file, '--api', api])
      assert.equal(put.code, 0, `${api}: ${put.stderr}`)
      assert.match(put.stdout, /^warren:CHK@/)
      const get = await run(['get', put.stdout.trim(), '-a', api])
      assert.equal(get.stdout, 'addressed')
    }
    const st = await run(['status'], { WARREN_API: `http://${nodes[0].api}/` })
    assert.equal(st.code, 0, st.stderr)
    assert.match(st.stdout, new RegExp(`peer ID\\s+${nodes[0].peerId}`))
  })

  it('rejects a bad --htl with a clear message before contacting the node', async () => {
    const file = join(dir, 'small.txt')
    await writeFile(file, 'x')
    for (const [args, bads] of [[['put', file], ['abc', '-1', '21', '1000']], [['get', 'warren:CHK@x'], ['abc', '200']], [['redirect', 'warren:CHK@x'], ['-1']], [['put-site', dir], ['1000']]]) {
      for (const bad of bads) {
        // Port 1 has no node: the flag is refused before any connection is tried.
        const r = await run([...args, '--htl', bad, '-a', '127.0.0.1:1'])
        assert.equal(r.code, 1, `${args[0]} --htl ${bad}`)
        assert.equal(r.stderr.trim(), `warren: --htl must be an integer from 0 to 20, got "${bad}"`)
      }
    }
    for (const bad of ['abc', '21']) {
      const init = await run(['init', '-d', join(dir, 'never'), '--htl', bad])
      assert.equal(init.code, 1)
      assert.equal(init.stderr.trim(), `warren: --htl must be an integer from 1 to 20, got "${bad}"`)
    }
    const env = await run(['init', '-d', join(dir, 'never')], { WARREN_HTL: '200' })
    assert.equal(env.stderr.trim(), 'warren: WARREN_HTL must be an integer from 1 to 20, got "200"')
  })

  it('shuts down cleanly on SIGTERM and keeps its identity and location across restarts', async () => {
    const n = nodes[2]
    const announced = await untilAnnounced(n.api)
    assert.equal(announced.restored, false)
    n.proc.kill('SIGTERM')
    const [code] = await once(n.proc, 'exit') as [number | null]
    assert.equal(code, 0, n.output.join(''))
    assert.ok(n.output.some((l) => l.includes('stopped')))
    const again = await start(join(dir, 'n3'), nodes[0].addr)
    nodes[2] = again
    assert.equal(again.peerId, n.peerId, 'same identity after restart')
    // Its store survived the restart: the blocks it held are still served locally.
    const s = await status(again.api)
    assert.ok(s.store.count > 0, 'store persisted across restart')
    // It kept the location its announcement agreed on instead of announcing again.
    assert.deepEqual(s.announcement, { ...announced, restored: true })
    const shown = await run(['status', '-a', again.api])
    assert.equal(shown.code, 0)
    assert.match(shown.stdout, new RegExp(`location +${announced.key.slice(0, 16)}… agreed by ${announced.participants} nodes .*kept from an earlier run`))
  })
})

/**
 * Installing warren as a new user does, with the machine's own Node and npm (Debian's Node 20
 * here, which cannot run libp2p): `npm ci` is quiet (no EBADENGINE), and `npm install -g .` from
 * the clone gives a `warren` command that runs on the bundled Node 24, passes exit codes through
 * and stops the node cleanly on SIGTERM.
 */
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { copyFile, mkdir } from 'node:fs/promises'
import { delimiter, dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { tempDir } from '../helpers/temp.js'
import { exec } from './helpers.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..')

/** PATH without any node_modules/.bin: what a shell outside the project has. */
const SYSTEM_PATH = (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '' && !d.includes('node_modules')).join(delimiter)

function which (cmd: string): string | undefined {
  return SYSTEM_PATH.split(delimiter).map((d) => join(d, cmd)).find((p) => existsSync(p))
}

const systemNode = which('node')
const systemNpm = which('npm')
const systemMajor = systemNode === undefined ? undefined : Number(execFileSync(systemNode, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).trim())

describe('installing warren with the system Node and npm', () => {
  let dir: string
  before(async () => {
    assert.ok(systemNode !== undefined && systemNpm !== undefined, `no node and npm on the PATH outside node_modules (${SYSTEM_PATH})`)
    dir = await tempDir('warren-install-')
  })

  it('npm ci prints no EBADENGINE warnings (the project .npmrc)', async () => {
    const project = join(dir, 'project')
    await mkdir(project)
    for (const f of ['package.json', 'package-lock.json', '.npmrc']) await copyFile(join(ROOT, f), join(project, f))
    const args = ['ci', '--dry-run', '--ignore-scripts', '--offline', '--no-audit', '--no-fund']
    const quiet = await exec(systemNpm!, args, { PATH: SYSTEM_PATH }, project)
    assert.equal(quiet.code, 0, quiet.stderr)
    assert.doesNotMatch(quiet.stderr, /EBADENGINE|npm warn/)
    if (systemMajor! < 22) {
      // The same install with warnings on shows what the .npmrc keeps quiet on this old Node.
      const loud = await exec(systemNpm!, [...args, '--loglevel=warn'], { PATH: SYSTEM_PATH }, project)
      assert.match(loud.stderr, /EBADENGINE/)
    }
  })

  describe('npm install -g . from the clone', () => {
    let prefix: string
    let bin: string
    const env = (): NodeJS.ProcessEnv => ({ PATH: [join(prefix, 'bin'), SYSTEM_PATH].join(delimiter) })

    before(async () => {
      prefix = join(dir, 'global')
      const r = await exec(systemNpm!, ['install', '-g', '--prefix', prefix, '--ignore-scripts', '--no-audit', '--no-fund', ROOT], { PATH: SYSTEM_PATH })
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stderr, '', 'a quiet global install')
      bin = join(prefix, 'bin', 'warren')
    })

    it('puts a warren command on PATH that runs on Node 22 or later whatever the system node is', async () => {
      const v = await exec('warren', ['--version'], env())
      assert.equal(v.code, 0, v.stderr)
      const m = /^(\d+\.\d+\.\d+) \(Node\.js v(\d+)\./.exec(v.stdout)
      assert.ok(m !== null, v.stdout)
      assert.ok(Number(m[2]) >= 22, `ran on Node ${m[2]}`)
      assert.equal(m[1], JSON.parse(execFileSync(systemNode!, ['-p', 'JSON.stringify(require(process.argv[1]).version)', join(ROOT, 'package.json')], { encoding: 'utf8' })))
      // Exit codes and error messages pass through.
      const bad = await exec('warren', ['put', dir, '-a', '127.0.0.1:1'], env())
      assert.equal(bad.code, 1)
      assert.match(bad.stderr, /is a folder: use put-site/)
    })

    it('passes SIGTERM to the node, which stops cleanly', async () => {
      const proc = spawn(bin, ['start', '-d', join(dir, 'node'), '-l', '/ip4/127.0.0.1/tcp/0', '-a', '127.0.0.1:0', '--log-level', 'warn'], { env: { ...process.env, ...env() }, stdio: ['ignore', 'pipe', 'pipe'] })
      const lines: string[] = []
      proc.stderr.on('data', (d) => { lines.push(String(d)) })
      const exited = once(proc, 'exit') as Promise<[number | null, string | null]>
      // Read every line (the output stays open: the node prints "stopped" at the end).
      await new Promise<void>((resolve) => {
        createInterface({ input: proc.stdout }).on('line', (line) => {
          lines.push(line)
          if (line.startsWith('gateway ')) resolve()
        })
        void exited.then(() => { resolve() })
      })
      assert.ok(lines.some((l) => l.startsWith('gateway http://127.0.0.1:')), lines.join('\n'))
      proc.kill('SIGTERM')
      const [code] = await exited
      assert.equal(code, 0, lines.join('\n'))
      assert.equal(lines.at(-1), 'stopped')
      assert.equal(existsSync(join(dir, 'node', 'node.lock')), false, 'the node removed its lock')
    })

    after(async () => {
      if (prefix !== undefined) await exec(systemNpm!, ['uninstall', '-g', '--prefix', prefix, 'warren'], { PATH: SYSTEM_PATH })
    })
  })
})

/**
 * The systemd unit shipped in docs/examples/warren.service (docs/operations.md): systemd accepts
 * it, and its ExecStart, run as systemd would with the clone where the unit expects it, starts a
 * node that its KillSignal stops cleanly within TimeoutStopSec.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { tempDir } from '../helpers/temp.js'
import { exec } from './helpers.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..')

describe('the systemd unit', () => {
  it('passes systemd-analyze verify, and its ExecStart runs a node that SIGTERM stops cleanly', async () => {
    const dir = await tempDir('warren-service-')
    const unitText = (await readFile(join(ROOT, 'docs/examples/warren.service'), 'utf8'))
      .replaceAll('/opt/warren', ROOT).replaceAll('/var/lib/warren', dir)
    const unit = join(dir, 'warren.service')
    await writeFile(unit, unitText)
    const verify = await exec('systemd-analyze', ['verify', unit])
    assert.equal(verify.code, 0, verify.stderr)
    assert.equal(verify.stderr.trim(), '', 'no warnings')

    const setting = (k: string): string[] => unitText.split('\n').filter((l) => l.startsWith(`${k}=`)).map((l) => l.slice(k.length + 1))
    const [cmd, ...args] = setting('ExecStart')[0].split(' ')
    assert.ok(existsSync(cmd), cmd)
    const env = Object.fromEntries(setting('Environment').map((e) => e.split('=', 2) as [string, string]))
    assert.equal(setting('KillSignal')[0], 'SIGTERM')
    const proc = spawn(cmd, [...args, '-l', '/ip4/127.0.0.1/tcp/0', '-a', '127.0.0.1:0'], { cwd: setting('WorkingDirectory')[0], env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = once(proc, 'exit') as Promise<[number | null]>
    const lines: string[] = []
    proc.stderr.on('data', (d) => { lines.push(String(d)) })
    await new Promise<void>((resolve) => {
      createInterface({ input: proc.stdout }).on('line', (l) => { lines.push(l); if (l.startsWith('gateway ')) resolve() })
      void exited.then(() => { resolve() })
    })
    assert.equal(proc.exitCode, null, `exited ${proc.exitCode} ${proc.signalCode}: ${lines.join('\n')}`)
    assert.ok(existsSync(join(dir, 'node', 'node.lock')), lines.join('\n'))
    const stopAt = Date.now()
    proc.kill('SIGTERM')
    const [code] = await exited
    assert.equal(code, 0, lines.join('\n'))
    assert.ok(Date.now() - stopAt < Number(setting('TimeoutStopSec')[0]) * 1000)
    assert.ok(!existsSync(join(dir, 'node', 'node.lock')))
    assert.ok(existsSync(join(dir, 'node', 'identity.key')))
  })
})

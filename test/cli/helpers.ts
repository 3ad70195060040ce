/**
 * Running the `warren` command as a user does, for the CLI tests: one-shot commands (`run`) and
 * `warren start` processes that resolve once their banner named the peer ID, address and API.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { ChildProcess } from 'node:child_process'

export const CLI = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/index.js')

export interface Running {
  proc: ChildProcess
  peerId: string
  addr: string
  api: string
  output: string[]
}

/** Run `warren args` to its end. */
export async function run (args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return await exec(process.execPath, [CLI, ...args], env)
}

/** Run a program to its end with `env` added to this process's, collecting its output. */
export async function exec (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const proc = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  let stdout = ''
  let stderr = ''
  proc.stdout.on('data', (d) => { stdout += String(d) })
  proc.stderr.on('data', (d) => { stderr += String(d) })
  const [code] = await once(proc, 'exit') as [number | null]
  return { code, stdout, stderr }
}

/** Start `warren start` and resolve once it has printed its banner (peer ID, address, API URL, gateway). */
export async function start (dir: string, bootstrap?: string, extra: string[] = []): Promise<Running> {
  const args = ['start', '-d', dir, '-l', '/ip4/127.0.0.1/tcp/0', '-a', '127.0.0.1:0', '--log-level', 'warn', ...extra]
  if (bootstrap !== undefined) args.push('-b', bootstrap)
  const proc = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const output: string[] = []
  proc.stderr!.on('data', (d) => { output.push(String(d)) })
  const r: Partial<Running> = { proc, output }
  const lines = createInterface({ input: proc.stdout! })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`node did not start: ${output.join('')}`)) }, 30_000)
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`node exited with ${code}: ${output.join('')}`)) })
    lines.on('line', (line) => {
      output.push(line)
      const [k, v] = [line.split(' ').slice(0, -1).join(' '), line.split(' ').at(-1)!]
      if (k === 'warren node') r.peerId = v
      if (k === 'listening') r.addr = v
      if (k === 'client API') r.api = v.replace('http://', '')
      // The gateway line follows the others: the whole banner has been printed.
      if (line.startsWith('gateway ') && r.peerId !== undefined && r.addr !== undefined && r.api !== undefined) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  return r as Running
}

/** Stop a started node with SIGTERM and wait for it to exit. */
export async function stop (n: Running): Promise<number | null> {
  if (n.proc.exitCode !== null) return n.proc.exitCode
  n.proc.kill('SIGTERM')
  const [code] = await once(n.proc, 'exit') as [number | null]
  return code
}

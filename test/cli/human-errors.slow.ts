/**
 * The common mistakes of a first hour with warren, each answered in one human line (issue 16):
 * a second node or `verify` on a running node's data dir, a port already taken, `put` of a
 * folder, a mistyped `-d`, Ctrl-C in the middle of a put or get (the terminal is given back:
 * cursor shown, line wrap on), and what `warren start` says to a newcomer.
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { constants, createWriteStream } from 'node:fs'
import { mkdir, open, readFile, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { randomBytes } from '../helpers/seed.js'
import { tempDir } from '../helpers/temp.js'
import { CLI, run, start, stop } from './helpers.js'
import { explainStartError, PortInUseError } from '../../src/cli/ports.js'
import type { Running } from './helpers.js'
import type { Server } from 'node:net'

/** A TCP port held by this process, as another program would hold it. */
async function holdPort (): Promise<{ server: Server, port: number }> {
  const server = createServer()
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const addr = server.address()
  return { server, port: typeof addr === 'object' && addr !== null ? addr.port : 0 }
}

/** The pid of a process that has exited (nothing runs under it now). */
async function deadPid (): Promise<number> {
  const p = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await once(p, 'exit')
  return p.pid!
}

/**
 * Run a `warren` command in a pseudo-terminal (util-linux `script`), so it draws its progress bar
 * as on a user's screen; type Ctrl-C into the terminal once `ready` matches what it printed.
 */
async function interruptInTerminal (args: string[], ready: RegExp, also: () => Promise<boolean> = async () => true): Promise<{ code: number | null, screen: string }> {
  const cmd = [process.execPath, CLI, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ')
  // Its own process group, so that a run that never got ready is ended whole (script and warren).
  const proc = spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], detached: true })
  let screen = ''
  proc.stdout.on('data', (d) => { screen += String(d) })
  proc.stderr.on('data', (d) => { screen += String(d) })
  const exited = once(proc, 'exit') as Promise<[number | null]>
  let typed = false
  const deadline = Date.now() + 30_000
  while (proc.exitCode === null && Date.now() < deadline) {
    if (ready.test(screen) && await also()) {
      typed = true
      proc.stdin.write('\x03')
      break
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  if (!typed && proc.exitCode === null) process.kill(-proc.pid!, 'SIGKILL')
  // A command that does not end after Ctrl-C is a failure, not a suite that hangs: end it whole.
  let hung = false
  const limit = setTimeout(() => { hung = true; process.kill(-proc.pid!, 'SIGKILL') }, 20_000)
  const [code] = await exited
  clearTimeout(limit)
  assert.ok(!hung, `still running 20 s after Ctrl-C: ${JSON.stringify(screen.slice(-300))}`)
  proc.stdin.destroy()
  assert.ok(typed, `never reached ${String(ready)}: ${JSON.stringify(screen)}`)
  return { code, screen }
}

describe('human errors for the common mistakes', () => {
  let dir: string
  let node: Running

  before(async () => {
    dir = await tempDir('warren-first-hour-')
    node = await start(join(dir, 'n1'))
  })
  after(async () => { await stop(node) })

  it('says where to open the gateway and, with no bootstrap peers, the -b line that joins others', async () => {
    const text = node.output.join('\n')
    assert.match(text, new RegExp(`^gateway http://${node.api.replaceAll('.', '\\.')}/ \\(open it in a browser`, 'm'))
    assert.match(text, /warren has no public network yet/)
    const line = /^ {2}warren start -b (\S+)$/m.exec(text)
    assert.ok(line !== null, text)
    assert.equal(line[1], node.addr, 'the -b line names this node\'s address with its peer ID')
    // A node that joins through it is told nothing of the kind.
    const second = await start(join(dir, 'n2'), line[1])
    try {
      assert.match(second.output.join('\n'), /^gateway http:/m)
      assert.doesNotMatch(second.output.join('\n'), /warren start -b/)
    } finally {
      await stop(second)
    }
  })

  it('refuses a second start and a verify on a running node\'s data dir, naming its pid', async () => {
    const pid = node.proc.pid!
    const again = await run(['start', '-d', join(dir, 'n1'), '-l', '/ip4/127.0.0.1/tcp/0', '-a', '127.0.0.1:0'])
    assert.equal(again.code, 1)
    assert.match(again.stderr, new RegExp(`^warren: a node is already running on this data dir \\(pid ${pid}\\)`))
    assert.doesNotMatch(again.stderr, /Database failed to open/)
    const verify = await run(['verify', '-d', join(dir, 'n1')])
    assert.equal(verify.code, 1)
    assert.match(verify.stderr, new RegExp(`^warren: a node is already running on this data dir \\(pid ${pid}\\)`))
  })

  it('takes over a stale lock left by a node that was killed, and removes its lock when stopped', async () => {
    const d = join(dir, 'stale')
    await mkdir(d, { recursive: true })
    await writeFile(join(d, 'node.lock'), `${await deadPid()}\n`)
    const n = await start(d)
    assert.equal((await readFile(join(d, 'node.lock'), 'utf8')).trim(), String(n.proc.pid))
    assert.equal(await stop(n), 0)
    await assert.rejects(stat(join(d, 'node.lock')), { code: 'ENOENT' })
    const verify = await run(['verify', '-d', d])
    assert.equal(verify.code, 0, verify.stderr)
    assert.match(verify.stdout, /^checked \d+ blocks/)
  })

  it('names a port in use and the flag that picks another, for libp2p (-l) and the API (-a)', async () => {
    const { server, port } = await holdPort()
    try {
      const p2p = await run(['start', '-d', join(dir, 'ports'), '-l', `/ip4/127.0.0.1/tcp/${port}`, '-a', '127.0.0.1:0'])
      assert.equal(p2p.code, 1)
      assert.equal(p2p.stderr.split('\n')[0], `warren: port ${port} in use; pick another with -l (e.g. -l /ip4/127.0.0.1/tcp/${port + 1}), or stop the program using it`)
      const api = await run(['start', '-d', join(dir, 'ports'), '-l', '/ip4/127.0.0.1/tcp/0', '-a', `127.0.0.1:${port}`])
      assert.equal(api.code, 1)
      assert.match(api.stderr, new RegExp(`^warren: port ${port} in use; pick another with -a`))
      assert.doesNotMatch(p2p.stderr + api.stderr, /faultTolerance|at .*\(node:/)
    } finally {
      server.close()
    }
    // Nothing was left locked: the same data dir starts now.
    const n = await start(join(dir, 'ports'))
    await stop(n)
  })

  it('words libp2p\'s listen failure (a port taken after the check) the same way', () => {
    const libp2p = new Error('Some configured addresses failed to be listened on, you may need to remove one or more listen addresses from your configuration or set `transportManager.faultTolerance` to NO_FATAL:\n\n  /ip4/0.0.0.0/tcp/7400: Error: listen EADDRINUSE: address already in use 0.0.0.0:7400\n      at Server.setupListenHandle [as _listen2] (node:net:2328:16)')
    const e = explainStartError(libp2p, ['/ip4/0.0.0.0/tcp/7400'])
    assert.ok(e instanceof PortInUseError)
    assert.equal(e.message, 'port 7400 in use; pick another with -l (e.g. -l /ip4/0.0.0.0/tcp/7401), or stop the program using it')
    const other = new Error('something else')
    assert.equal(explainStartError(other, []), other)
  })

  it('refuses put of a folder (use put-site) and put-site of a file, before contacting a node', async () => {
    const folder = join(dir, 'site')
    await mkdir(folder, { recursive: true })
    await writeFile(join(folder, 'index.html'), '<p>hi</p>')
    const put = await run(['put', folder, '-a', '127.0.0.1:1'])
    assert.equal(put.code, 1)
    assert.equal(put.stderr.trim(), `warren: ${folder} is a folder: use put-site to insert a folder as a site (warren put-site ${folder})`)
    const site = await run(['put-site', join(folder, 'index.html'), '-a', '127.0.0.1:1'])
    assert.equal(site.code, 1)
    assert.match(site.stderr, /is a file, not a folder: use put/)
    const missing = await run(['put', join(dir, 'nope.txt'), '-a', '127.0.0.1:1'])
    assert.equal(missing.stderr.trim(), `warren: no such file: ${join(dir, 'nope.txt')}`)
  })

  it('names a mistyped -d for status and put instead of using the default node', async () => {
    const file = join(dir, 'small.txt')
    await writeFile(file, 'x')
    const typo = join(dir, 'n1-typo')
    for (const args of [['status', '-d', typo], ['put', file, '-d', typo], ['peers', '-d', typo]]) {
      const r = await run(args)
      assert.equal(r.code, 1, args.join(' '))
      assert.match(r.stderr, new RegExp(`^warren: no data dir at ${typo.replaceAll('.', '\\.')}: check the path`))
    }
    const home = await run(['status'], { WARREN_HOME: typo })
    assert.match(home.stderr, /no data dir at .* \(from WARREN_HOME\)/)
    // An existing -d reaches the node through the API address in its config.json.
    const good = join(dir, 'n1-config')
    assert.equal((await run(['init', '-d', good, '-a', node.api])).code, 0)
    const ok = await run(['status', '-d', good])
    assert.equal(ok.code, 0, ok.stderr)
  })

  it('Ctrl-C during a put restores the terminal and says what was left in the store', async () => {
    // The file is a pipe fed by the test: the put cannot finish before Ctrl-C.
    const fifo = join(dir, 'upload.fifo')
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0)
    const feed = createWriteStream(fifo)
    feed.on('error', () => {}) // the reader goes away at Ctrl-C
    feed.write(randomBytes(9 * 1024 * 1024))
    // A node's own put keeps its blocks in its client cache (issue 11, finding 6).
    const stored = async (): Promise<number> => (await (await fetch(`http://${node.api}/api/v1/status`)).json() as { clientCache: { count: number } }).clientCache.count
    const storedBefore = await stored()
    // Ctrl-C once the node has inserted blocks of this file (it inserts a whole FEC segment at a time).
    // The bar counts blocks whose insert completed; the client cache is written before that.
    const { code, screen } = await interruptInTerminal(['put', fifo, '-a', node.api], /put .* [1-9]\d* blocks/, async () => await stored() > storedBefore)
    feed.destroy()
    assert.equal(code, 130, screen)
    const m = /cancelled: the node had inserted (\d+) blocks \(([\d.]+ (?:KiB|MiB))\); they stay in its own cache/.exec(screen)
    assert.ok(m !== null, screen)
    assert.ok(Number(m[1]) > 0)
    const tail = screen.slice(screen.lastIndexOf('put '))
    assert.ok(tail.includes('\x1b[?25h'), 'cursor shown again')
    assert.ok(tail.includes('\x1b[?7h'), 'line wrap on again')
    assert.ok(await stored() - storedBefore >= Number(m[1]), 'the blocks reported are in the client cache')
  })

  it('Ctrl-C during a get restores the terminal, says how far it got and removes the partial file', async () => {
    const file = join(dir, 'big.bin')
    await writeFile(file, randomBytes(6 * 1024 * 1024))
    const put = await run(['put', file, '-q', '-a', node.api])
    assert.equal(put.code, 0, put.stderr)
    const out = join(dir, 'partial.bin')
    const slow = await interruptInTerminal(['get', put.stdout.trim(), '-o', out, '-a', node.api], /get \[/)
    // Either it was cancelled (and the partial file removed, the terminal restored) or it had
    // already finished whole.
    if (slow.code === 130) {
      await assert.rejects(stat(out), { code: 'ENOENT' })
      assert.match(slow.screen, /cancelled after [\d.]+ (B|KiB|MiB)( of 6\.0 MiB)?; removed the incomplete/)
      const tail = slow.screen.slice(slow.screen.lastIndexOf('get '))
      assert.ok(tail.includes('\x1b[?25h') && tail.includes('\x1b[?7h'), 'terminal restored')
    } else {
      assert.equal((await stat(out)).size, 6 * 1024 * 1024)
    }
  })

  it('Ctrl-C during a get into a named pipe whose reader stalls ends the command at once', async () => {
    const file = join(dir, 'stall.bin')
    await writeFile(file, randomBytes(4 * 1024 * 1024))
    const put = await run(['put', file, '-q', '-a', node.api])
    assert.equal(put.code, 0, put.stderr)
    const fifo = join(dir, 'out.fifo')
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0)
    // The reader opens the pipe and never reads: once the pipe's buffer is full, every write waits.
    const reader = await open(fifo, constants.O_RDONLY | constants.O_NONBLOCK)
    try {
      // Ready once well over a pipe buffer (64 KiB) went through the bar: a write is waiting then.
      const got = await interruptInTerminal(['get', put.stdout.trim(), '-o', fifo, '-a', node.api], /get \[.*\| ([1-9]\d{2,}\.\d KiB|[\d.]+ MiB) of 4\.0 MiB/)
      assert.equal(got.code, 130, got.screen)
      assert.match(got.screen, /cancelled after [\d.]+ (KiB|MiB) of 4\.0 MiB; the blocks fetched so far stay in the node's own cache/)
      // A pipe is not a partial file: it is left where it was.
      assert.ok((await stat(fifo)).isFIFO())
    } finally {
      await reader.close()
    }
  })
})

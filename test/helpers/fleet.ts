/**
 * A fleet of real warren nodes, each in a process of its own (test/helpers/node-runner.ts) on
 * its own data folder under `root`: started, wired to each other, killed with SIGKILL and
 * restarted on the same folder. The churn and crash-under-load tests and benches of issue 11
 * (test/helpers/churn.ts, test/helpers/crash-load.ts) drive it.
 */
import { fork } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { OpenReport } from '../../src/store/layout.js'
import type { Rng } from '../../src/routing/random.js'
import type { ChildProcess } from 'node:child_process'

const RUNNER = join(dirname(fileURLToPath(import.meta.url)), 'node-runner.js')

export interface Reply {
  id: number
  ok: boolean
  error?: string
  /** When the operation settled, in the node's own clock (ms after it received the request). */
  ms: number
  [k: string]: unknown
}

export interface NodeStats { rss: number, heapUsed: number, table: number, peers: number, blocks: number, operations: number }

export interface FleetNode {
  index: number
  dir: string
  proc?: ChildProcess
  addr: string
  peerId: string
  alive: boolean
  starts: number
  /** The store's open report at the latest start (what a kill left to repair). */
  openReport?: OpenReport
  pending: Map<number, { resolve: (r: Reply) => void, timer: NodeJS.Timeout }>
}

export class Fleet {
  readonly nodes: FleetNode[] = []
  private nextId = 0
  /** Starts in progress: `stop` waits for them, so a start that fails cannot leave the others running. */
  private readonly starting = new Set<Promise<unknown>>()

  constructor (readonly root: string) {}

  /** Start node `i` (a new folder, or the one it had before a kill) and wait until it listens. */
  async start (i: number): Promise<FleetNode> {
    const p = this.startNode(i)
    this.starting.add(p)
    try {
      return await p
    } finally {
      this.starting.delete(p)
    }
  }

  private async startNode (i: number): Promise<FleetNode> {
    const n = this.nodes[i] ?? { index: i, dir: join(this.root, `node-${i}`), addr: '', peerId: '', alive: false, starts: 0, pending: new Map() }
    this.nodes[i] = n
    await mkdir(n.dir, { recursive: true })
    const proc = fork(RUNNER, [n.dir], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], execArgv: ['--expose-gc', '--max-semi-space-size=2'] })
    let stderr = ''
    proc.stderr!.setEncoding('utf8')
    proc.stderr!.on('data', (s: string) => { stderr = (stderr + s).slice(-4000) })
    const ready = await new Promise<any>((resolve, reject) => {
      const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`node ${i} did not start in 120 s: ${stderr}`)) }, 120_000)
      proc.once('message', (m) => { clearTimeout(timer); resolve(m) })
      proc.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`node ${i} exited before it was ready (${signal ?? code}): ${stderr}`)) })
    })
    proc.removeAllListeners('exit')
    Object.assign(n, { proc, addr: ready.addr, peerId: ready.peerId, openReport: ready.openReport, alive: true, starts: n.starts + 1 })
    // A send to a node killed a moment ago fails with EPIPE: the exit handler answers its requests.
    proc.on('error', () => {})
    proc.on('message', (m: Reply) => {
      const p = n.pending.get(m.id)
      if (p === undefined) return
      clearTimeout(p.timer)
      n.pending.delete(m.id)
      p.resolve(m)
    })
    proc.on('exit', (code, signal) => {
      n.alive = false
      // Requests in flight at a kill never settle: they are answered "killed".
      for (const [id, p] of n.pending) {
        clearTimeout(p.timer)
        p.resolve({ id, ok: false, error: `killed (node exited: ${signal ?? code})`, ms: -1, killed: true })
      }
      n.pending.clear()
    })
    return n
  }

  /**
   * Ask node `i` to do `op`. Never rejects: a node that is dead or dies meanwhile answers
   * `killed`, one that has not answered after `waitMs` answers `noReply` (an operation that
   * outlived its deadline by far).
   */
  async request (i: number, op: string, payload: Record<string, unknown> = {}, waitMs = 120_000): Promise<Reply> {
    const n = this.nodes[i]
    const id = this.nextId++
    if (!n.alive || n.proc === undefined) return { id, ok: false, error: 'killed (node not running)', ms: -1, killed: true }
    return await new Promise((resolve) => {
      const timer = setTimeout(() => {
        n.pending.delete(id)
        resolve({ id, ok: false, error: `no answer within ${waitMs} ms`, ms: waitMs, noReply: true })
      }, waitMs)
      n.pending.set(id, { resolve, timer })
      n.proc!.send({ id, op, ...payload }, (err) => {
        if (err === null || !n.pending.has(id)) return
        clearTimeout(timer)
        n.pending.delete(id)
        resolve({ id, ok: false, error: `killed (${err.message})`, ms: -1, killed: true })
      })
    })
  }

  /** Dial `degree` random running nodes other than `i` from `i`. */
  async wire (i: number, degree: number, rng: Rng): Promise<void> {
    const others = this.alive().filter((j) => j !== i)
    const picked: number[] = []
    while (picked.length < Math.min(degree, others.length)) {
      const j = others[Math.floor(rng() * others.length)]
      if (!picked.includes(j)) picked.push(j)
    }
    await this.request(i, 'connect', { addrs: picked.map((j) => this.nodes[j].addr) })
  }

  kill (i: number): void {
    this.nodes[i].proc?.kill('SIGKILL')
    this.nodes[i].alive = false
  }

  /** Resolves once node `i`'s process has exited (after a kill). */
  async exited (i: number): Promise<void> {
    const p = this.nodes[i].proc
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return
    await new Promise((resolve) => p.once('exit', resolve))
  }

  alive (): number[] {
    return this.nodes.filter((n) => n.alive).map((n) => n.index)
  }

  async stats (i: number): Promise<NodeStats | undefined> {
    const r = await this.request(i, 'stats', {}, 60_000)
    return r.ok ? r as unknown as NodeStats : undefined
  }

  /** Stop every running node cleanly (SIGKILL after 20 s), and wait for all to exit. */
  async stop (): Promise<void> {
    await Promise.allSettled(this.starting)
    await Promise.all(this.nodes.map(async (n) => {
      if (n.proc === undefined || n.proc.exitCode !== null || n.proc.signalCode !== null) return
      const gone = new Promise((resolve) => n.proc!.once('exit', resolve))
      const force = setTimeout(() => n.proc!.kill('SIGKILL'), 20_000)
      if (n.alive) void this.request(n.index, 'stop', {}, 20_000)
      else n.proc.kill('SIGKILL')
      await gone
      clearTimeout(force)
    }))
  }
}

/** Run `fn` over `items` with at most `limit` in flight. */
export async function pool<T, R> (items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = []
  let next = 0
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i], i)
    }
  }))
  return out
}

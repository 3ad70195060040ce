/**
 * The fuzz campaign of issue 11:
 *
 *   npm run fuzz -- --seed N (--count N | --seconds N) [--protocol request|insert|announce|join|link|tunnel|api]
 *                   [--concurrency 32] [--peers 8] [--progress SECONDS]
 *
 * Forks bench/fuzz/target.ts (three real nodes on 127.0.0.1 and node 0's client API, in their
 * own process), then drives node 0's protocol handlers from raw libp2p peers (no warren code)
 * with structure-aware malformed frames: the per-operation protocols with bench/fuzz/cases.ts
 * (a new stream per case), the link protocol with bench/fuzz/link.ts (many cases on one link
 * stream per identity), the tunnel protocol with bench/fuzz/tunnel.ts, and the HTTP API with
 * bench/fuzz/api.ts, each protocol for `count` cases or `seconds`. Every answer is classified:
 * a typed ERROR (by code), a valid reply (by frame type), an HTTP status, a clean end the
 * protocol prescribes, or none (the stream ended without an answer: a finding). Prints one JSON
 * report: per protocol the frames sent, the answers, the unanswered cases with their bytes; for
 * the target, crashes (it exited), unhandled rejections, RSS and heap (after a full GC) before
 * and after, operations, slots and tunnels left over.
 */
import { fork } from 'node:child_process'
import { request as httpRequest, Agent } from 'node:http'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { ANNOUNCE_PROTOCOL, INSERT_PROTOCOL, JOIN_PROTOCOL, REQUEST_PROTOCOL } from '../../src/constants.js'
import { seededRng } from '../../src/routing/random.js'
import { createRawPeer } from '../../test/helpers/raw-peer.js'
import { makeApiCase } from './api.js'
import { makeCase, material, PROTOCOLS } from './cases.js'
import { LinkPool, runLinkCase } from './link.js'
import { ANSWER_TIMEOUT_MS, classifyFrame, conn, finalFrame, runStreamCase } from './streams.js'
import { makeTunnelCase, runTunnelCase, tunnelMaterial } from './tunnel.js'
import type { ApiCase } from './api.js'
import type { Material, Protocol } from './cases.js'
import type { Conn } from './streams.js'
import type { TunnelMaterial } from './tunnel.js'
import type { TargetStats } from './target.js'
import type { ChildProcess } from 'node:child_process'

export type FuzzProtocol = Protocol | 'link' | 'tunnel' | 'api'
export const FUZZ_PROTOCOLS: FuzzProtocol[] = [...PROTOCOLS, 'link', 'tunnel', 'api']

const PROTOCOL_ID: Record<Protocol, string> = { request: REQUEST_PROTOCOL, insert: INSERT_PROTOCOL, announce: ANNOUNCE_PROTOCOL, join: JOIN_PROTOCOL }

export interface FuzzOptions {
  seed: number
  count?: number
  seconds?: number
  protocols: FuzzProtocol[]
  concurrency?: number
  peers?: number
  /** Print a progress line (JSON, to stderr) this often, so a long run that is stopped still leaves figures. */
  progressSeconds?: number
  /** Aborted: the protocol in progress ends as if its count or time were reached and the report is made. */
  signal?: AbortSignal
}

export interface ProtocolReport {
  cases: number
  frames: number
  seconds: number
  framesPerSecond: number
  /**
   * CPU seconds the fuzzer and the target spent on this protocol, and frames per CPU second:
   * on a machine shared with other work the wall-clock rate says more about the neighbours than
   * about the fuzzer, this one does not.
   */
  cpuSeconds: number
  framesPerCpuSecond: number
  /** 'ERROR <CODE>', a reply's frame type, 'HTTP <status>', or 'none: <why>' (unanswered). */
  answers: Record<string, number>
  unanswered: number
  /** HTTP answers with a 5xx status (the API only). */
  serverErrors: number
  /** The first few unanswered cases (hex of the frames, or the HTTP request) for replay. */
  examples: Array<{ kind: string, answer: string, first: string, second?: string }>
}

export interface FuzzReport {
  seed: number
  command: string
  protocols: Partial<Record<FuzzProtocol, ProtocolReport>>
  target: {
    crashed: boolean
    exit?: string
    unhandledRejections: number
    rejections: string[]
    rssBefore: number
    rssAfter: number
    heapBefore: number
    heapAfter: number
    activeOperationsAfter: number[]
    slotsHeldAfter: number[]
    tunnelsActiveAfter: number[]
  }
}

interface Target {
  child: ChildProcess
  addr: string
  api: string
  /** The nodes' tunnel cards (node 0 first). */
  cards: string[]
  exited: () => string | undefined
  stats: () => Promise<TargetStats>
  stop: () => Promise<void>
}

async function startTarget (): Promise<Target> {
  const child = fork(join(dirname(fileURLToPath(import.meta.url)), 'target.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--expose-gc'] })
  let exit: string | undefined
  const exited = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exit = signal !== null ? `signal ${signal}` : `code ${code}`
      resolve()
    })
  })
  const ready = await new Promise<any>((resolve, reject) => {
    child.once('message', resolve)
    child.once('exit', () => { reject(new Error(`the fuzz target exited before it was ready (${exit})`)) })
  })
  const stats = async (): Promise<TargetStats> => await new Promise((resolve, reject) => {
    if (exit !== undefined) { reject(new Error(`target exited (${exit})`)); return }
    const on = (m: any): void => {
      if (m?.stats !== undefined) {
        child.off('message', on)
        resolve(m.stats)
      }
    }
    child.on('message', on)
    child.send('stats')
  })
  return {
    child,
    addr: ready.addrs[0],
    api: ready.api,
    cards: ready.cards,
    exited: () => exit,
    stats,
    stop: async () => {
      if (exit === undefined) child.send('stop')
      await exited
    }
  }
}

/** Hex of a frame for the report's examples (the first 600 bytes: an oversized frame would swamp it). */
const hex = (b: Uint8Array): string => Buffer.from(b.subarray(0, 600)).toString('hex') + (b.byteLength > 600 ? `... (${b.byteLength} bytes)` : '')

/**
 * A connection per request, said so (`Connection: close`), and a body always framed by its
 * Content-Length: node's client sends a DELETE's or OPTIONS's body with neither framing nor a
 * length, so the server read it as the next request on the connection, and the agent reused that
 * connection for another case: the 9.9 % ECONNRESET of the 1,000 s API run (docs/reliability.md).
 * The server's side of it (its answer lost when it gave up on such a connection) is fixed in
 * src/api/client-error.ts and tested with raw bytes in test/api/http-edges.test.ts.
 */
const apiAgent = new Agent({ keepAlive: false, maxSockets: 64 })

async function runApiCase (base: URL, c: ApiCase): Promise<string> {
  const headers = { ...c.headers, connection: 'close', ...(c.body === undefined ? {} : { 'content-length': String(c.body.byteLength) }) }
  return await new Promise((resolve) => {
    const req = httpRequest({ host: base.hostname, port: base.port, method: c.method, path: c.path, headers, agent: apiAgent, timeout: ANSWER_TIMEOUT_MS }, (res) => {
      res.resume()
      res.on('end', () => { resolve(`HTTP ${res.statusCode ?? 0}`) })
      res.on('error', (err) => { resolve(`none: ${err.name}`) })
    })
    req.on('timeout', () => { req.destroy(new Error('timeout')) })
    req.on('error', (err: any) => { resolve(`none: ${err.code ?? err.name}`) })
    if (c.body !== undefined) req.write(c.body)
    req.end()
  })
}

function ownCpu (): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}

function newReport (): ProtocolReport {
  return { cases: 0, frames: 0, seconds: 0, framesPerSecond: 0, cpuSeconds: 0, framesPerCpuSecond: 0, answers: {}, unanswered: 0, serverErrors: 0, examples: [] }
}

function record (r: ProtocolReport, answer: string, example: () => ProtocolReport['examples'][number]): void {
  r.answers[answer] = (r.answers[answer] ?? 0) + 1
  const bad = answer.startsWith('none') || answer.startsWith('HTTP 5')
  if (answer.startsWith('none')) r.unanswered++
  if (answer.startsWith('HTTP 5')) r.serverErrors++
  // Up to three examples of each kind of bad answer.
  if (bad && r.examples.filter((e) => e.answer === answer).length < 3) r.examples.push(example())
}

export async function runFuzz (o: FuzzOptions): Promise<FuzzReport> {
  if (o.count === undefined && o.seconds === undefined) throw new Error('give --count N or --seconds N')
  const concurrency = o.concurrency ?? 32
  const target = await startTarget()
  const cleanup: Array<() => void> = []
  const peers = await Promise.all(Array.from({ length: o.peers ?? 8 }, async () => await createRawPeer()))
  const report: FuzzReport = {
    seed: o.seed,
    command: `npm run fuzz -- --seed ${o.seed}${o.count !== undefined ? ` --count ${o.count}` : ''}${o.seconds !== undefined ? ` --seconds ${o.seconds}` : ''}${o.protocols.length === 1 ? ` --protocol ${o.protocols[0]}` : ''}${o.concurrency !== undefined ? ` --concurrency ${o.concurrency}` : ''}${o.peers !== undefined ? ` --peers ${o.peers}` : ''}`,
    protocols: {},
    target: { crashed: false, unhandledRejections: 0, rejections: [], rssBefore: 0, rssAfter: 0, heapBefore: 0, heapAfter: 0, activeOperationsAfter: [], slotsHeldAfter: [], tunnelsActiveAfter: [] }
  }
  try {
    for (const p of peers) await p.start()
    const conns: Conn[] = peers.map((p) => conn(p, target.addr))
    const linkPools = conns.map((c) => new LinkPool(c))
    cleanup.push(() => { for (const l of linkPools) l.close() })
    const tm: TunnelMaterial = await tunnelMaterial(target.cards)
    const before = await target.stats()
    report.target.rssBefore = before.rss
    report.target.heapBefore = before.heapUsed
    for (const [pi, proto] of o.protocols.entries()) {
      const r = newReport()
      report.protocols[proto] = r
      const started = Date.now()
      const cpuBefore = ownCpu() + (await target.stats()).cpuSeconds
      const deadline = o.seconds === undefined ? Infinity : started + o.seconds * 1000
      let next = 0
      const more = (): boolean => target.exited() === undefined && o.signal?.aborted !== true && Date.now() < deadline && (o.count === undefined || next < o.count)
      const progress = o.progressSeconds === undefined
        ? undefined
        : setInterval(() => {
          const s = (Date.now() - started) / 1000
          console.error(JSON.stringify({ progress: proto, at: new Date().toISOString(), frames: r.frames, seconds: Math.round(s), framesPerSecond: Math.round(r.frames / s), unanswered: r.unanswered, serverErrors: r.serverErrors, crashed: target.exited() }))
        }, o.progressSeconds * 1000)
      await Promise.all(Array.from({ length: concurrency }, async (_, w) => {
        const rng = seededRng(o.seed * 1_000_003 + pi * 1009 + w)
        const peer = peers[w % peers.length]
        const to = conns[w % peers.length]
        const m: Material | undefined = proto === 'api' || proto === 'tunnel' ? undefined : material({ peerId: peer.peerId.toMultihash().bytes, multiaddrs: [] }, rng)
        const apiBase = new URL(target.api)
        while (more()) {
          next++
          r.cases++
          if (proto === 'api') {
            const c = makeApiCase(apiBase.host, rng)
            const answer = await runApiCase(apiBase, c)
            r.frames++
            record(r, answer, () => ({ kind: c.kind, answer, first: `${c.method} ${c.path} ${JSON.stringify(c.headers)} body ${c.body?.length ?? 0} B` }))
          } else if (proto === 'link') {
            const { labels, frames, example } = await runLinkCase(linkPools[w % peers.length], m!, rng)
            r.frames += frames
            for (const answer of labels) record(r, answer, () => ({ kind: 'link', answer, first: example }))
          } else if (proto === 'tunnel') {
            const c = await makeTunnelCase(tm, rng)
            const { labels, frames } = await runTunnelCase(to, c)
            r.frames += frames
            for (const answer of labels) record(r, answer, () => ({ kind: c.kind, answer, first: hex(c.first), second: c.second === undefined ? undefined : hex(c.second) }))
          } else {
            const c = makeCase(proto, m!, rng)
            const { labels, frames } = await runStreamCase(to, PROTOCOL_ID[proto], c.first, c.second, classifyFrame, finalFrame)
            r.frames += frames
            for (const answer of labels) record(r, answer, () => ({ kind: c.kind, answer, first: hex(c.first), second: c.second === undefined ? undefined : hex(c.second) }))
          }
        }
      }))
      clearInterval(progress)
      r.seconds = (Date.now() - started) / 1000
      r.framesPerSecond = Math.round(r.frames / r.seconds)
      if (target.exited() === undefined) {
        r.cpuSeconds = Math.round((ownCpu() + (await target.stats()).cpuSeconds - cpuBefore) * 10) / 10
        r.framesPerCpuSecond = Math.round(r.frames / r.cpuSeconds)
      }
      if (target.exited() !== undefined) break
    }
    if (target.exited() === undefined) {
      // Let relayed operations end (hop deadlines), then read the leftovers and the memory.
      let after = await target.stats()
      const until = Date.now() + 30_000
      while ([...after.activeOperations, ...after.slotsHeld, ...after.tunnelsActive].some((n) => n > 0) && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 250))
        after = await target.stats()
      }
      Object.assign(report.target, {
        unhandledRejections: after.unhandledRejections,
        rejections: after.rejections,
        rssAfter: after.rss,
        heapAfter: after.heapUsed,
        activeOperationsAfter: after.activeOperations,
        slotsHeldAfter: after.slotsHeld,
        tunnelsActiveAfter: after.tunnelsActive
      })
    }
  } finally {
    for (const f of cleanup) f()
    report.target.crashed = target.exited() !== undefined
    report.target.exit = target.exited()
    for (const p of peers) await Promise.resolve(p.stop()).catch(() => {})
    await target.stop()
    apiAgent.destroy()
  }
  return report
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      count: { type: 'string' },
      seconds: { type: 'string' },
      protocol: { type: 'string' },
      concurrency: { type: 'string' },
      peers: { type: 'string' },
      progress: { type: 'string' }
    }
  })
  const num = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined
    const n = Number(v)
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number, not "${v}"`)
    return n
  }
  const protocols = values.protocol === undefined ? FUZZ_PROTOCOLS : [values.protocol as FuzzProtocol]
  if (!protocols.every((p) => FUZZ_PROTOCOLS.includes(p))) {
    console.error(`unknown --protocol ${values.protocol} (one of ${FUZZ_PROTOCOLS.join(', ')})`)
    process.exit(2)
  }
  // SIGTERM or SIGINT ends the run early with a report of what was done.
  const stop = new AbortController()
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => { stop.abort() })
  const report = await runFuzz({
    signal: stop.signal,
    progressSeconds: num('progress', values.progress),
    seed: num('seed', values.seed) ?? Math.floor(Math.random() * 2 ** 31),
    count: num('count', values.count),
    seconds: num('seconds', values.seconds),
    protocols,
    concurrency: num('concurrency', values.concurrency),
    peers: num('peers', values.peers)
  })
  console.log(JSON.stringify(report, null, 2))
  const bad = report.target.crashed || report.target.unhandledRejections > 0 || Object.values(report.protocols).some((r) => r.unanswered > 0 || r.serverErrors > 0)
  process.exit(bad ? 1 : 0)
}

/**
 * Crash safety under load (issue 11, item 4), shared by test/integration/crash-load.slow.ts and
 * bench/crash-load.ts. test/store/crash.test.ts kills a process that only writes to a BlockStore;
 * here the victim is a whole warren node (test/helpers/fleet.ts) serving peers: node 0 takes
 * local puts (small and multi-block files) and gets, while its `peers` neighbours insert through
 * it (their inserts are stored along the way) and fetch from it, all at once. At a random moment
 * of each round node 0 is killed with SIGKILL; then, with the node down, `warren verify` checks
 * every stored block against its key; then the node starts again on its folder and must:
 *
 * - open its store without anything to repair (the open report),
 * - hold every block of every put it had acknowledged, in this round and all before,
 * - serve those files (a get on node 0) and the files its peers had inserted.
 */
import { execFile } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { seededRng } from '../../src/routing/random.js'
import { Fleet, pool } from './fleet.js'
import type { OpenReport } from '../../src/store/layout.js'
import type { Reply } from './fleet.js'

const CLI = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/index.js')

export interface CrashLoadOptions {
  root: string
  seed: number
  rounds: number
  peers: number
  /** Operations in flight at once, over node 0 and its peers. */
  concurrency: number
  /** The kill comes after a random time in [minKillMs, maxKillMs) of load. */
  minKillMs: number
  maxKillMs: number
  smallBytes: number
  multiBytes: number
  log?: (line: string) => void
}

interface FileRecord { uri: string, sha256: string, keys: string[], by: number }

export interface RoundReport {
  round: number
  killAfterMs: number
  /** Operations that completed before the kill, by kind. */
  completed: Record<string, number>
  inFlightAtKill: number
  verify: { checked: number, deleted: number, code: number | null }
  openReport?: OpenReport
  /** Blocks of acknowledged local puts, all rounds so far: held after the restart / expected. */
  blocksHeld: number
  blocksExpected: number
  localFilesRead: number
  localFilesExpected: number
  peerFilesRead: number
  peerFilesExpected: number
  problems: string[]
}

export interface CrashLoadReport {
  options: Omit<CrashLoadOptions, 'root' | 'log'>
  seconds: number
  kills: number
  blocksVerified: number
  badBlocks: number
  repairs: number
  localPutsAcknowledged: number
  peerPutsAcknowledged: number
  problems: string[]
  rounds: RoundReport[]
}

async function verify (dir: string): Promise<{ checked: number, deleted: number, code: number | null, output: string }> {
  return await new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'verify', '-d', dir, '-s', '64MiB', '--log-level', 'warn'], { timeout: 120_000 }, (err, stdout, stderr) => {
      const m = /checked (\d+) blocks, deleted (\d+)/.exec(stdout)
      resolve({ checked: Number(m?.[1] ?? -1), deleted: Number(m?.[2] ?? -1), code: err === null ? 0 : (err as { code?: number }).code ?? null, output: stdout + stderr })
    })
  })
}

export async function runCrashLoad (o: CrashLoadOptions): Promise<CrashLoadReport> {
  const rng = seededRng(o.seed)
  const log = o.log ?? (() => {})
  const started = Date.now()
  const fleet = new Fleet(o.root)
  const local: FileRecord[] = []
  const remote: FileRecord[] = []
  const rounds: RoundReport[] = []
  const peers = Array.from({ length: o.peers }, (_, i) => i + 1)
  const wire0 = async (): Promise<void> => {
    await fleet.request(0, 'connect', { addrs: peers.map((p) => fleet.nodes[p].addr) })
  }
  const matches = (r: Reply, f: FileRecord): boolean => r.ok && r.sha256 === f.sha256

  try {
    await pool([0, ...peers], 4, async (i) => { await fleet.start(i) })
    await wire0()
    // The peers also know each other (a ring), so their traffic has routes besides node 0.
    for (const p of peers) await fleet.request(p, 'connect', { addrs: [fleet.nodes[1 + (p % o.peers)].addr] })
    log(`node 0 and ${o.peers} peers up after ${Math.round((Date.now() - started) / 1000)} s`)

    for (let round = 0; round < o.rounds; round++) {
      const r: RoundReport = { round, killAfterMs: 0, completed: {}, inFlightAtKill: 0, verify: { checked: 0, deleted: 0, code: null }, blocksHeld: 0, blocksExpected: 0, localFilesRead: 0, localFilesExpected: 0, peerFilesRead: 0, peerFilesExpected: 0, problems: [] }
      rounds.push(r)
      // Set by the kill below while the load loops run (an object: the loops read it after each await).
      const state = { killed: false }
      let inFlight = 0
      const count = (kind: string): void => { r.completed[kind] = (r.completed[kind] ?? 0) + 1 }
      // One operation of the mix: what it is depends on a draw; on node 0 or from a peer.
      const operation = async (): Promise<void> => {
        const x = rng()
        const seed = Math.floor(rng() * 2 ** 31)
        const size = rng() < 0.8 ? o.smallBytes : o.multiBytes
        const peer = peers[Math.floor(rng() * peers.length)]
        inFlight++
        try {
          if (x < 0.35) {
            const a = await fleet.request(0, 'put', { size, seed, deadlineMs: 60_000 })
            if (a.ok) { local.push({ uri: a.uri as string, sha256: a.sha256 as string, keys: a.keys as string[], by: 0 }); count('local put') }
          } else if (x < 0.6) {
            const a = await fleet.request(peer, 'put', { size, seed, deadlineMs: 60_000 })
            // Acknowledged by the network only if another node stored every block: the
            // inserter's own copy sits in its client cache, which no peer reads (minStored 1:
            // node 0 went down mid-insert and the peer kept the block alone).
            if (a.ok && (a.minStored as number) >= 2) { remote.push({ uri: a.uri as string, sha256: a.sha256 as string, keys: a.keys as string[], by: peer }); count('peer insert') } else if (a.ok) count('peer insert kept by the inserter alone')
          } else {
            const all = [...local, ...remote]
            if (all.length === 0) return
            const f = all[Math.floor(rng() * all.length)]
            const on = x < 0.8 ? 0 : peer
            const a = await fleet.request(on, 'get', { uri: f.uri, deadlineMs: 20_000 })
            if (matches(a, f)) count(on === 0 ? 'local get' : 'peer get')
          }
        } finally {
          inFlight--
        }
      }
      r.killAfterMs = Math.round(o.minKillMs + rng() * (o.maxKillMs - o.minKillMs))
      const killAt = Date.now() + r.killAfterMs
      const load = Promise.all(Array.from({ length: o.concurrency }, async () => {
        while (!state.killed) await operation()
      }))
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, killAt - Date.now())))
      r.inFlightAtKill = inFlight
      state.killed = true
      fleet.kill(0)
      await fleet.exited(0)
      await load

      const v = await verify(fleet.nodes[0].dir)
      r.verify = { checked: v.checked, deleted: v.deleted, code: v.code }
      if (v.code !== 0 || v.deleted !== 0 || v.checked < 0) r.problems.push(`warren verify: ${v.output.trim()}`)

      await fleet.start(0)
      r.openReport = fleet.nodes[0].openReport
      const { loaded: _loaded, ...repairs } = r.openReport ?? {}
      if (Object.values(repairs).some((n) => n !== 0)) r.problems.push(`the store had to repair ${JSON.stringify(repairs)}`)
      await wire0()

      const keys = [...new Set(local.flatMap((f) => f.keys))]
      const has = await fleet.request(0, 'has', { keys })
      r.blocksExpected = keys.length
      r.blocksHeld = has.ok ? (has.has as boolean[]).filter(Boolean).length : 0
      if (r.blocksHeld !== r.blocksExpected) r.problems.push(`${r.blocksExpected - r.blocksHeld} blocks of acknowledged local puts missing after the restart`)
      r.localFilesExpected = local.length
      r.peerFilesExpected = remote.length
      const gets = await pool([...local, ...remote], 4, async (f) => ({ f, ok: matches(await fleet.request(0, 'get', { uri: f.uri, deadlineMs: 20_000 }), f) }))
      r.localFilesRead = gets.filter((g) => g.ok && g.f.by === 0).length
      r.peerFilesRead = gets.filter((g) => g.ok && g.f.by !== 0).length
      if (r.localFilesRead !== r.localFilesExpected) r.problems.push(`${r.localFilesExpected - r.localFilesRead} acknowledged local puts not readable after the restart`)
      if (r.peerFilesRead !== r.peerFilesExpected) r.problems.push(`${r.peerFilesExpected - r.peerFilesRead} acknowledged peer inserts not readable through node 0 after the restart`)
      log(`round ${round}: killed after ${r.killAfterMs} ms with ${r.inFlightAtKill} in flight; ${JSON.stringify(r.completed)}; verify ${v.checked} blocks; ${r.problems.length} problems`)
    }
    const { root: _root, log: _log, ...options } = o
    return {
      options,
      seconds: Math.round((Date.now() - started) / 1000),
      kills: rounds.length,
      blocksVerified: rounds.reduce((s, r) => s + Math.max(0, r.verify.checked), 0),
      badBlocks: rounds.reduce((s, r) => s + Math.max(0, r.verify.deleted), 0),
      repairs: rounds.reduce((s, r) => s + Object.entries(r.openReport ?? {}).filter(([k]) => k !== 'loaded').reduce((t, [, n]) => t + n, 0), 0),
      localPutsAcknowledged: local.length,
      peerPutsAcknowledged: remote.length,
      problems: rounds.flatMap((r) => r.problems.map((p) => `round ${r.round}: ${p}`)),
      rounds
    }
  } finally {
    await fleet.stop()
  }
}

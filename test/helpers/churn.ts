/**
 * The churn run of issue 11 (item 3), shared by test/integration/churn.slow.ts and bench/churn.ts:
 * `nodes` real warren nodes, each in its own process (test/helpers/fleet.ts), wired at random on
 * 127.0.0.1. Files are inserted (small single-block ones and multi-block split files), then a
 * mixed workload of gets and more inserts runs while `killFraction` of the nodes are killed with
 * SIGKILL one after another and `restartFraction` of those restarted on their folder. Then:
 *
 * - retrievability: every file whose every block is still held by a running node is fetched
 *   from a running node (up to `attempts` nodes, one after another);
 * - deadlines: every operation carries a deadline (AbortSignal.timeout in the node); the node
 *   reports when it settled: none may settle later than the deadline plus `graceMs`, and none
 *   may go unanswered;
 * - memory: RSS and the live heap (after a GC) of every node after the first inserts and at
 *   the end.
 */
import { seededRng } from '../../src/routing/random.js'
import { Fleet, pool } from './fleet.js'
import type { NodeStats, Reply } from './fleet.js'

export interface ChurnOptions {
  root: string
  seed: number
  nodes: number
  /** Links each node dials when it starts (the graph is the union). */
  degree: number
  smallFiles: number
  multiFiles: number
  smallBytes: number
  multiBytes: number
  /** Gets and inserts (one in five) during the churn phase. */
  churnOps: number
  killFraction: number
  /** Of the killed nodes, the fraction started again. */
  restartFraction: number
  getDeadlineMs: number
  putDeadlineMs: number
  /** Hops-to-live of the inserts and requests (the node's default when undefined). */
  htl?: number
  graceMs: number
  attempts: number
  /** Operations in flight at once. */
  concurrency: number
  log?: (line: string) => void
}

interface FileRecord { uri: string, sha256: string, keys: string[], size: number, by: number }

export interface OpRecord { kind: 'put' | 'get', node: number, ok: boolean, ms: number, deadlineMs: number, error?: string, killed: boolean, noReply: boolean }

export interface ChurnReport {
  options: Omit<ChurnOptions, 'root' | 'log'>
  seconds: number
  killed: number[]
  restarted: number[]
  operations: {
    total: number
    ok: number
    failed: number
    killedInFlight: number
    noReply: number
    overDeadline: number
    maxOvershootMs: number
    /** The operation that settled latest after its deadline. */
    worst?: OpRecord
    /** Milliseconds to settle, by kind: median and max. */
    ms: Record<string, { median: number, max: number }>
    failures: Record<string, number>
  }
  files: { inserted: number, insertedSmall: number, insertedMulti: number, withSurvivingReplica: number, retrieved: number, retrievedFirstTry: number, lost: Array<{ uri: string, size: number, errors: string[] }>, noReplica: number }
  churnGets: { total: number, ok: number }
  memory: {
    /** Nodes that ran from the first inserts to the end without a kill. */
    nodes: number
    rssWarmMiB: { median: number, max: number }
    rssEndMiB: { median: number, max: number }
    heapWarmMiB: { median: number, max: number }
    heapEndMiB: { median: number, max: number }
    maxRssGrowthMiB: number
    maxHeapGrowthMiB: number
    maxHeapRatio: number
  }
}

const MiB = 1024 * 1024
const round1 = (x: number): number => Math.round(x * 10) / 10

function summary (xs: number[]): { median: number, max: number } {
  const s = [...xs].sort((a, b) => a - b)
  return { median: round1((s[Math.floor(s.length / 2)] ?? 0) / MiB), max: round1((s.at(-1) ?? 0) / MiB) }
}

export async function runChurn (o: ChurnOptions): Promise<ChurnReport> {
  const rng = seededRng(o.seed)
  const log = o.log ?? (() => {})
  const started = Date.now()
  const fleet = new Fleet(o.root)
  const ops: OpRecord[] = []
  const files: FileRecord[] = []
  const pick = (list: number[]): number => list[Math.floor(rng() * list.length)]

  const put = async (node: number, size: number): Promise<FileRecord | undefined> => {
    const r = await fleet.request(node, 'put', { size, seed: Math.floor(rng() * 2 ** 31), deadlineMs: o.putDeadlineMs, htl: o.htl }, o.putDeadlineMs + 60_000)
    note('put', node, r, o.putDeadlineMs)
    if (!r.ok) return undefined
    const f = { uri: r.uri as string, sha256: r.sha256 as string, keys: r.keys as string[], size, by: node }
    files.push(f)
    return f
  }
  const get = async (node: number, f: FileRecord): Promise<Reply> => {
    const r = await fleet.request(node, 'get', { uri: f.uri, deadlineMs: o.getDeadlineMs, htl: o.htl }, o.getDeadlineMs + 60_000)
    if (r.ok && r.sha256 !== f.sha256) return { ...r, ok: false, error: `wrong content: sha256 ${String(r.sha256)} for ${f.sha256}` }
    return r
  }
  function note (kind: OpRecord['kind'], node: number, r: Reply, deadlineMs: number): void {
    ops.push({ kind, node, ok: r.ok, ms: r.ms, deadlineMs, error: r.error, killed: r.killed === true, noReply: r.noReply === true })
  }

  try {
    // Start a few at a time (each start costs a second or more of CPU), each wired to earlier ones.
    const indices = Array.from({ length: o.nodes }, (_, i) => i)
    await pool(indices, 4, async (i) => { await fleet.start(i) })
    for (const i of indices.slice(1)) await fleet.wire(i, o.degree, rng)
    log(`${o.nodes} nodes up and wired after ${Math.round((Date.now() - started) / 1000)} s`)

    // Inserts before the churn: small files and multi-block ones, from random nodes.
    const sizes = [...Array.from({ length: o.smallFiles }, () => o.smallBytes), ...Array.from({ length: o.multiFiles }, () => o.multiBytes)]
    await pool(sizes, o.concurrency, async (size) => { await put(pick(indices), size) })
    log(`${files.length} of ${sizes.length} files inserted after ${Math.round((Date.now() - started) / 1000)} s`)

    const warm = new Map<number, NodeStats>()
    for (const i of fleet.alive()) {
      const s = await fleet.stats(i)
      if (s !== undefined) warm.set(i, s)
    }

    // Churn: the workload runs while nodes are killed (and some restarted) one after another.
    const victims: number[] = []
    while (victims.length < Math.round(o.nodes * o.killFraction)) {
      const v = pick(indices)
      if (!victims.includes(v)) victims.push(v)
    }
    const restarts = victims.slice(0, Math.round(victims.length * o.restartFraction))
    const restarted: number[] = []
    let done = 0
    const churnGets = { total: 0, ok: 0 }
    const workload = pool(Array.from({ length: o.churnOps }, (_, k) => k), o.concurrency, async (k) => {
      const alive = fleet.alive()
      const node = pick(alive)
      if (k % 5 === 4 || files.length === 0) {
        await put(node, rng() < 0.8 ? o.smallBytes : o.multiBytes)
      } else {
        const r = await get(node, files[Math.floor(rng() * files.length)])
        note('get', node, r, o.getDeadlineMs)
        if (!r.killed) {
          churnGets.total++
          if (r.ok) churnGets.ok++
        }
      }
      done++
    })
    const killer = (async () => {
      for (const [k, v] of victims.entries()) {
        // Spread the kills over the workload.
        while (done < ((k + 1) / (victims.length + 1)) * o.churnOps && done < o.churnOps) await new Promise((resolve) => setTimeout(resolve, 100))
        fleet.kill(v)
        await fleet.exited(v)
        log(`killed node ${v} after ${done} operations`)
        const back = restarts.indexOf(v)
        if (back >= 0 && k % 2 === 1) {
          // Every other victim that comes back does so at once (its peers still hold its old address).
          await fleet.start(v)
          await fleet.wire(v, o.degree, rng)
          restarted.push(v)
          log(`restarted node ${v}`)
        }
      }
    })()
    await Promise.all([workload, killer])
    for (const v of restarts.filter((r) => !restarted.includes(r))) {
      await fleet.start(v)
      await fleet.wire(v, o.degree, rng)
      restarted.push(v)
      log(`restarted node ${v}`)
    }
    log(`churn done after ${Math.round((Date.now() - started) / 1000)} s: ${fleet.alive().length} nodes running`)

    // Which files still have every block on a running node, and can each be fetched.
    const alive = fleet.alive()
    const held = new Set<string>()
    const allKeys = [...new Set(files.flatMap((f) => f.keys))]
    for (const i of alive) {
      const r = await fleet.request(i, 'has', { keys: allKeys })
      if (r.ok) (r.has as boolean[]).forEach((h, j) => { if (h) held.add(allKeys[j]) })
    }
    const surviving = files.filter((f) => f.keys.length > 0 && f.keys.every((k) => held.has(k)))
    let retrievedFirstTry = 0
    const lost: ChurnReport['files']['lost'] = []
    await pool(surviving, o.concurrency, async (f) => {
      const errors: string[] = []
      const tried: number[] = []
      for (let a = 0; a < o.attempts; a++) {
        const node = pick(alive.filter((i) => !tried.includes(i)))
        tried.push(node)
        const r = await get(node, f)
        note('get', node, r, o.getDeadlineMs)
        if (r.ok) {
          if (a === 0) retrievedFirstTry++
          return
        }
        errors.push(`node ${node}: ${r.error}`)
      }
      lost.push({ uri: f.uri, size: f.size, errors })
    })

    const end = new Map<number, NodeStats>()
    for (const i of alive) {
      const s = await fleet.stats(i)
      if (s !== undefined) end.set(i, s)
    }
    const steady = [...warm.keys()].filter((i) => end.has(i) && fleet.nodes[i].starts === 1)
    const failures: Record<string, number> = {}
    for (const op of ops.filter((x) => !x.ok && !x.killed)) {
      const why = (op.error ?? '').replace(/[0-9a-f]{16,}…?/g, '…').replace(/\d+/g, 'N').slice(0, 90)
      failures[`${op.kind}: ${why}`] = (failures[`${op.kind}: ${why}`] ?? 0) + 1
    }
    const settled = ops.filter((x) => !x.killed && !x.noReply)
    const { root: _root, log: _log, ...options } = o
    return {
      options,
      seconds: Math.round((Date.now() - started) / 1000),
      killed: victims,
      restarted,
      operations: {
        total: ops.length,
        ok: ops.filter((x) => x.ok).length,
        failed: ops.filter((x) => !x.ok && !x.killed).length,
        killedInFlight: ops.filter((x) => x.killed).length,
        noReply: ops.filter((x) => x.noReply).length,
        overDeadline: settled.filter((x) => x.ms > x.deadlineMs + o.graceMs).length,
        maxOvershootMs: Math.max(0, ...settled.map((x) => x.ms - x.deadlineMs)),
        worst: [...settled].sort((a, b) => (b.ms - b.deadlineMs) - (a.ms - a.deadlineMs)).find((x) => x.ms > x.deadlineMs),
        ms: Object.fromEntries((['put', 'get'] as const).map((k) => {
          const t = settled.filter((x) => x.kind === k).map((x) => x.ms).sort((a, b) => a - b)
          return [k, { median: t[Math.floor(t.length / 2)] ?? 0, max: t.at(-1) ?? 0 }]
        })),
        failures
      },
      files: {
        inserted: files.length,
        insertedSmall: files.filter((f) => f.size === o.smallBytes).length,
        insertedMulti: files.filter((f) => f.size === o.multiBytes).length,
        withSurvivingReplica: surviving.length,
        retrieved: surviving.length - lost.length,
        retrievedFirstTry,
        lost,
        noReplica: files.length - surviving.length
      },
      churnGets,
      memory: {
        nodes: steady.length,
        rssWarmMiB: summary(steady.map((i) => warm.get(i)!.rss)),
        rssEndMiB: summary(steady.map((i) => end.get(i)!.rss)),
        heapWarmMiB: summary(steady.map((i) => warm.get(i)!.heapUsed)),
        heapEndMiB: summary(steady.map((i) => end.get(i)!.heapUsed)),
        maxRssGrowthMiB: round1(Math.max(0, ...steady.map((i) => end.get(i)!.rss - warm.get(i)!.rss)) / MiB),
        maxHeapGrowthMiB: round1(Math.max(0, ...steady.map((i) => end.get(i)!.heapUsed - warm.get(i)!.heapUsed)) / MiB),
        maxHeapRatio: round1(Math.max(0, ...steady.map((i) => end.get(i)!.heapUsed / warm.get(i)!.heapUsed)))
      }
    }
  } finally {
    await fleet.stop()
  }
}

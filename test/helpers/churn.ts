/**
 * The churn run of issue 11 (item 3), shared by test/integration/churn.slow.ts and bench/churn.ts:
 * `nodes` real warren nodes, each in its own process (test/helpers/fleet.ts), wired at random on
 * 127.0.0.1. Files are inserted (small single-block ones and multi-block split files), then a
 * mixed workload of gets and more inserts runs while `killFraction` of the nodes are killed with
 * SIGKILL one after another and `restartFraction` of those restarted on their folder. Then:
 *
 * - retrievability: every file whose every block is still in the store of a running node is
 *   fetched from a running node (up to `attempts` nodes, one after another); a copy in a client
 *   cache does not count (no peer can read it); a file not fetched comes with a diagnosis (who
 *   holds its blocks, what each routing core did with the requests, the routing tables);
 * - deadlines: every operation carries a deadline (AbortSignal.timeout in the node); the node
 *   reports when it settled: none may settle later than the deadline plus `graceMs`, and none
 *   may go unanswered;
 * - memory: RSS and the live heap (after a GC) of every node after the first inserts and at
 *   the end.
 */
import { RoutingKey } from '../../src/keys/routing-key.js'
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

interface FileRecord {
  uri: string
  sha256: string
  keys: string[]
  size: number
  by: number
  /** Per block, the nodes whose store held it just after the insert (the client cache not counted). */
  storedAt: number[][]
  /** Blocks the insert reported stored at its originator only, with what the originator's routing core did. */
  weak: unknown[]
  minStored: number
}

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
    /** Every failed operation that was not killed: which node, what error. */
    failedOps: Array<{ kind: OpRecord['kind'], node: number, error?: string }>
  }
  files: {
    inserted: number
    insertedSmall: number
    insertedMulti: number
    /** Files with a block whose insert reported it stored at its originator only. */
    insertedStoredAtOriginOnly: unknown[]
    /** Stores that held a block just after its insert (over all blocks): min, median, max. */
    storesAfterInsert: { min: number, median: number, max: number }
    /**
     * Every block in the store of a running node: the files fetched afterwards. A copy in a client
     * cache is no replica: a node's client cache answers only its own gets, never a peer's
     * (issue 11, finding 6).
     */
    withSurvivingReplica: number
    /** Files with every block on a running node, some only in client caches (not fetched). */
    heldOnlyInClientCaches: number
    retrieved: number
    retrievedFirstTry: number
    lost: Array<{ uri: string, size: number, errors: string[] }>
    noReplica: number
  }
  /**
   * For each file not fetched: per block, which running nodes hold it (store, client cache), and
   * what the routing cores of the running nodes did with the final check's requests for it
   * (node indices, not peer IDs), with the routing tables of the nodes on those paths.
   */
  diagnosis: unknown[]
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

/** Peer IDs in a trace (fields from, to, forward, source, peer) replaced by fleet indices. */
function renamer (fleet: Fleet): (x: unknown) => unknown {
  const index = new Map(fleet.nodes.map((n) => [n.peerId, n.index]))
  const name = (p: unknown): unknown => typeof p === 'string' ? (index.get(p) ?? `?${p.slice(-6)}`) : p
  const rename = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(rename)
    if (x === null || typeof x !== 'object') return x
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, ['from', 'to', 'forward', 'source', 'peer'].includes(k) ? name(v) : rename(v)]))
  }
  return rename
}

/** ChurnReport.diagnosis for the files in `lost`. */
async function diagnose (fleet: Fleet, alive: number[], lost: FileRecord[], holders: Map<string, { store: number[], client: number[] }>): Promise<unknown[]> {
  const rename = renamer(fleet)
  const out: unknown[] = []
  for (const f of lost) {
    const events: unknown[] = []
    const tables: Record<number, unknown> = {}
    for (const i of alive) {
      const r = await fleet.request(i, 'diagnose', { keys: f.keys })
      if (!r.ok) continue
      const ev = r.events as Array<Record<string, unknown>>
      if (ev.length === 0) continue
      events.push(...ev.map((e) => ({ node: i, ...(rename(e) as object) })))
      tables[i] = { table: rename(r.table), connected: rename(r.connected) }
    }
    events.sort((a, b) => (a as { t: number }).t - (b as { t: number }).t)
    out.push({ uri: f.uri, by: f.by, minStored: f.minStored, weak: rename(f.weak), keys: f.keys.map((k, j) => ({ key: k, loc: RoutingKey.fromHex(k).loc, storedAfterInsert: f.storedAt[j], ...holders.get(k) })), events, tables })
  }
  return out
}

function summaryOf (xs: number[]): { min: number, median: number, max: number } {
  const s = [...xs].sort((a, b) => a - b)
  return { min: s[0] ?? 0, median: s[Math.floor(s.length / 2)] ?? 0, max: s.at(-1) ?? 0 }
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
    const keys = r.keys as string[]
    const storedAt = keys.map((): number[] => [])
    for (const i of fleet.alive()) {
      const h = await fleet.request(i, 'has', { keys })
      if (h.ok) (h.store as boolean[]).forEach((held, j) => { if (held) storedAt[j].push(i) })
    }
    const f = { uri: r.uri as string, sha256: r.sha256 as string, keys, size, by: node, storedAt, weak: r.weak as unknown[], minStored: r.minStored as number }
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
    const holders = new Map<string, { store: number[], client: number[] }>()
    const allKeys = [...new Set(files.flatMap((f) => f.keys))]
    for (const k of allKeys) holders.set(k, { store: [], client: [] })
    for (const i of alive) {
      const r = await fleet.request(i, 'has', { keys: allKeys })
      if (!r.ok) continue
      (r.has as boolean[]).forEach((h, j) => { if (h) held.add(allKeys[j]) });
      (r.store as boolean[]).forEach((h, j) => { if (h) holders.get(allKeys[j])!.store.push(i) });
      (r.client as boolean[]).forEach((h, j) => { if (h) holders.get(allKeys[j])!.client.push(i) })
    }
    const surviving = files.filter((f) => f.keys.length > 0 && f.keys.every((k) => holders.get(k)!.store.length > 0))
    const heldOnlyInClientCaches = files.filter((f) => f.keys.length > 0 && f.keys.every((k) => held.has(k)) && !surviving.includes(f)).length
    for (const i of alive) await fleet.request(i, 'trace', { on: true })
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
    const diagnosis = await diagnose(fleet, alive, files.filter((f) => lost.some((l) => l.uri === f.uri)), holders)
    for (const i of alive) await fleet.request(i, 'trace', { on: false })

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
        failures,
        failedOps: ops.filter((x) => !x.ok && !x.killed).map((x) => ({ kind: x.kind, node: x.node, error: x.error }))
      },
      files: {
        inserted: files.length,
        insertedSmall: files.filter((f) => f.size === o.smallBytes).length,
        insertedMulti: files.filter((f) => f.size === o.multiBytes).length,
        insertedStoredAtOriginOnly: files.filter((f) => f.weak.length > 0).map((f) => ({ uri: f.uri, by: f.by, weak: renamer(fleet)(f.weak) })),
        storesAfterInsert: summaryOf(files.flatMap((f) => f.storedAt.map((s) => s.length))),
        withSurvivingReplica: surviving.length,
        heldOnlyInClientCaches,
        retrieved: surviving.length - lost.length,
        retrievedFirstTry,
        lost,
        noReplica: files.length - surviving.length
      },
      churnGets,
      diagnosis,
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

/**
 * Checkpoints of a growing simulation (`warren sim scalability --checkpoint-every N`, then
 * `--resume DIR`): a run that needs more time than one sitting (growth to 10^6 nodes takes
 * about three hours of a core here) is saved between operations and continued later by another
 * process, with exactly the figures of an uninterrupted run (test/sim/checkpoint.test.ts).
 *
 * What is saved is the state, not the code. Every node's core, store policy and announcement
 * core are written with `v8.serialize`, 10,000 nodes a file, without their functions, frozen
 * shared options and shared parts (set aside while a batch is written, then put back). On resume a fresh `Simulator` builds each node the usual
 * way, with its closures, shared options and the links between its parts (the announcement core
 * shares the routing core's table), and `revive` copies the saved fields into those objects in
 * place. Derived state is rebuilt, not trusted: the store policy's eviction heap is rebuilt
 * from its entries, so a checkpoint also loads into code whose indexes changed.
 *
 * `saveCheckpoint` uses nothing outside its own body but Node's built-ins, so it can also run
 * inside a process that was started without checkpoints: docs/simulation.md ("A million
 * nodes") shows how a running simulation was saved through the inspector protocol.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { deserialize } from 'node:v8'
import { RoutingKey, ROUTING_KEY_BYTES } from '../keys/routing-key.js'
import type { Simulator } from './network.js'
import type { Workload } from './workload.js'
import type { SeededRng } from '../routing/random.js'
import type { GrowthStats } from './scalability.js'

/** Format version written in meta.json. */
export const CHECKPOINT_VERSION = 1

/** Where a growth experiment stood (beside the network itself). */
export interface ExperimentState {
  /** Trial in progress (0-based) and the growth stats of the trials before it. */
  trial: number
  growth: GrowthStats[]
  /** The growth loop's own state at the top of its next iteration. */
  grow: GrowState
  /** Probe results so far: [bucket, { nodes, lengths, found }] pairs. */
  buckets: Array<[number, { nodes: number[], lengths: number[], found: number }]>
  ops: number
  peakHeap: number
  nextSnapshot: number
  nextCheckpoint?: number
  /** Time and peak RSS of the processes before this one. */
  elapsedMs: number
  peakRssBytes: number
}

export interface GrowState {
  s: GrowthStats
  pathSum: number
  rejoins: number
}

export interface CheckpointMeta<P = unknown> {
  version: number
  savedAt: string
  nodes: number
  liveNodes: number
  batch: number
  params: P
  sim: { time: number, storeClock: number, aliveCount: number, learning: boolean, rng: number[], nextSeq: number }
  workload: { timesteps: number }
  experiment: ExperimentState
}

/**
 * Save `st.sim` (a Simulator), `st.w` (its Workload) and the experiment's state to `dir`
 * (written to `dir.tmp`, then renamed: an interrupted save leaves the previous checkpoint).
 * Self-contained on purpose (see the file comment): no imports, no module-level helpers.
 */
export function saveCheckpoint (dir: string, st: { sim: unknown, w: unknown, rng: number[], params: unknown, experiment: unknown }): { nodes: number, bytes: number } {
  const v8 = process.getBuiltinModule('node:v8')
  const fs = process.getBuiltinModule('node:fs')
  const sim = st.sim as Record<string, any>
  const w = st.w as Record<string, any>
  const BATCH = 10_000
  // Fields rebuilt on resume, not saved: the store the core shares with the simulator and the
  // simulator's context, the eviction heap (derived from the entries), and the table the
  // announcement core shares with the core; with every function and frozen (shared) object.
  // They are set to undefined while a batch is serialized and put back right after: the live
  // objects are written as they are. A first version copied each node into plain objects
  // first; that garbage made the save of 362,803 nodes take 436 s, mostly collections.
  const CORE_SKIP = new Set(['store', 'ctx'])
  const POLICY_SKIP = new Set(['heap'])
  const ANN_SKIP = new Set(['table'])
  const detach = (o: Record<string, unknown>, skip: Set<string> | undefined, out: Array<[Record<string, unknown>, string, unknown]>): void => {
    for (const k of Object.keys(o)) {
      const v = o[k]
      if (typeof v === 'function' || skip?.has(k) === true || (v !== null && typeof v === 'object' && Object.isFrozen(v))) {
        out.push([o, k, v])
        o[k] = undefined
      } else if (v !== null && typeof v === 'object' && !ArrayBuffer.isView(v) && !(v instanceof Map) && !(v instanceof Set) && !Array.isArray(v) && Object.getPrototypeOf(v) !== Object.prototype) {
        detach(v as Record<string, unknown>, undefined, out)
      }
    }
  }
  const tmp = `${dir}.tmp`
  fs.rmSync(tmp, { recursive: true, force: true })
  fs.mkdirSync(tmp, { recursive: true })
  let bytes = 0
  const write = (name: string, data: Uint8Array): void => {
    fs.writeFileSync(`${tmp}/${name}`, data)
    bytes += data.length
  }
  const n: number = sim.cores.length
  for (let b = 0; b < n; b += BATCH) {
    const batch: unknown[] = []
    const detached: Array<[Record<string, unknown>, string, unknown]> = []
    try {
      for (let i = b; i < Math.min(n, b + BATCH); i++) {
        const core = sim.cores[i]
        if (core === undefined) {
          batch.push(null)
          continue
        }
        const a = sim.announcers[i]
        const policy = sim.stores[i].policy
        detach(core, CORE_SKIP, detached)
        detach(policy, POLICY_SKIP, detached)
        if (a !== undefined) detach(a, ANN_SKIP, detached)
        batch.push({ core, policy, ann: a ?? null })
      }
      write(`nodes-${b / BATCH}.bin`, v8.serialize(batch))
    } finally {
      // Last set aside, first put back: an object met twice is left as it was found.
      for (let i = detached.length - 1; i >= 0; i--) detached[i][0][detached[i][1]] = detached[i][2]
    }
  }
  write('arrays.bin', v8.serialize({ alive: sim.alive.slice(0, n), locs: sim.locs.slice(0, n), copies: sim.copies.slice(0, sim.keyIndex.size) }))
  const keys: Array<{ bytes: Uint8Array }> = w.keys
  const packed = new Uint8Array(keys.length * 32)
  for (let i = 0; i < keys.length; i++) packed.set(keys[i].bytes, i * 32)
  write('keys.bin', v8.serialize({ workload: packed, keyIndex: [...sim.keyIndex.keys()] }))
  const meta = {
    version: 1,
    savedAt: new Date().toISOString(),
    nodes: n,
    liveNodes: sim.aliveCount,
    batch: BATCH,
    params: st.params,
    sim: { time: sim.time, storeClock: sim.storeClock, aliveCount: sim.aliveCount, learning: sim.ctx.learning, rng: st.rng, nextSeq: sim.queue.nextSeq },
    workload: { timesteps: w.timesteps },
    experiment: st.experiment
  }
  // The state as v8 writes it (JSON would turn the profiles' Infinity into null); meta.json,
  // written last, is for people and marks a complete checkpoint.
  write('state.bin', v8.serialize(meta))
  fs.writeFileSync(`${tmp}/meta.json`, JSON.stringify(meta) + '\n')
  const old = `${dir}.old`
  fs.rmSync(old, { recursive: true, force: true })
  if (fs.existsSync(dir)) fs.renameSync(dir, old)
  fs.renameSync(tmp, dir)
  fs.rmSync(old, { recursive: true, force: true })
  return { nodes: n, bytes }
}

/** The Simulator's internals a checkpoint reads and writes (sim code only). */
interface SimInternals {
  cores: unknown[]
  stores: Array<{ policy: unknown } | undefined>
  announcers: unknown[]
  alive: Uint8Array
  locs: Float64Array
  copies: Int32Array
  aliveCount: number
  keyIndex: Map<string, number>
  time: number
  storeClock: number
  ctx: { learning: boolean }
  queue: { nextSeq: number }
  rng: SeededRng
  announcer: (i: number) => unknown
}

function isInstance (x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== 'object' || ArrayBuffer.isView(x) || x instanceof Map || x instanceof Set || Array.isArray(x)) return false
  return Object.getPrototypeOf(x) !== Object.prototype
}

/** Copy saved fields into the freshly built `fresh`, recursing into its class-typed fields. */
export function revive (fresh: Record<string, unknown>, saved: Record<string, unknown>, path: string): void {
  const cls = saved.__cls as string | undefined
  if (cls !== undefined && cls !== fresh.constructor.name) {
    throw new Error(`checkpoint: ${path} was a ${cls}, the code builds a ${fresh.constructor.name}`)
  }
  for (const k of Object.keys(saved)) {
    if (k === '__cls') continue
    const sv = saved[k]
    const fv = fresh[k]
    // Left out by the save (shared, a function, or derived): the fresh node's own stays.
    if (sv === undefined && fv !== undefined) continue
    if (isInstance(fv)) {
      if (sv === null || typeof sv !== 'object') throw new Error(`checkpoint: ${path}.${k} holds no saved object`)
      revive(fv, sv as Record<string, unknown>, `${path}.${k}`)
    } else {
      if (sv !== null && typeof sv === 'object' && (sv as { __cls?: string }).__cls !== undefined) {
        throw new Error(`checkpoint: ${path}.${k} is a saved ${String((sv as { __cls?: string }).__cls)} the fresh node does not have`)
      }
      // Node's v8.deserialize makes typed arrays views of the whole file's buffer: a copy
      // each, or every node would keep its batch's 85 MB alive (a run resumed at 362,803 nodes
      // held 4.6 GB of ArrayBuffers instead of ~2).
      fresh[k] = ArrayBuffer.isView(sv) ? (sv as Uint8Array).slice() : sv
    }
  }
}

function readMeta<P> (dir: string): CheckpointMeta<P> {
  const { version } = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { version: number }
  if (version !== CHECKPOINT_VERSION) throw new Error(`checkpoint ${dir} has format ${version}, this code reads ${CHECKPOINT_VERSION}`)
  return deserialize(readFileSync(join(dir, 'state.bin'))) as CheckpointMeta<P>
}

/**
 * Load a checkpoint written by `saveCheckpoint`: the simulator (built by `build`, which must
 * make it the way the saved run did: same config and seed), its workload and the experiment's
 * state. `progress` hears of each batch of nodes.
 */
export function loadCheckpoint<P> (dir: string, build: (meta: CheckpointMeta<P>) => { sim: Simulator, w: Workload }, progress?: (nodes: number, of: number) => void): { meta: CheckpointMeta<P>, sim: Simulator, w: Workload } {
  const meta = readMeta<P>(dir)
  const { sim, w } = build(meta)
  if (sim.size !== 0) throw new Error('checkpoint: the simulator to load into must be empty')
  const s = sim as unknown as SimInternals
  const { keyIndex, workload } = deserialize(readFileSync(join(dir, 'keys.bin'))) as { keyIndex: string[], workload: Uint8Array }
  // One string per key: the stores' keys came from batches of their own and would each be a copy.
  const canon = new Map<string, string>()
  for (let i = 0; i < keyIndex.length; i++) {
    s.keyIndex.set(keyIndex[i], i)
    canon.set(keyIndex[i], keyIndex[i])
  }
  const batches = readdirSync(dir).filter((f) => /^nodes-\d+\.bin$/.test(f)).length
  if (batches !== Math.ceil(meta.nodes / meta.batch)) throw new Error(`checkpoint ${dir}: ${batches} node files, expected ${Math.ceil(meta.nodes / meta.batch)}`)
  for (let b = 0; b < batches; b++) {
    const batch = deserialize(readFileSync(join(dir, `nodes-${b}.bin`))) as Array<{ core: Record<string, unknown>, policy: Record<string, unknown>, ann: Record<string, unknown> | null } | null>
    for (const node of batch) {
      const i = sim.addNode()
      if (node === null) {
        s.cores[i] = undefined
        s.stores[i] = undefined
        continue
      }
      revive(s.cores[i] as Record<string, unknown>, node.core, `node ${i} core`)
      const entries = node.policy.entries as Map<string, Record<string, unknown>>
      const interned = new Map<string, Record<string, unknown>>()
      for (const [hex, e] of entries) interned.set(canon.get(hex) ?? hex, e)
      node.policy.entries = interned
      const policy = s.stores[i]!.policy as Record<string, unknown> & { reindex: () => void }
      revive(policy, node.policy, `node ${i} store`)
      policy.reindex()
      if (node.ann !== null) revive(s.announcer(i) as Record<string, unknown>, node.ann, `node ${i} announcer`)
    }
    progress?.(Math.min(meta.nodes, (b + 1) * meta.batch), meta.nodes)
  }
  const { alive, locs, copies } = deserialize(readFileSync(join(dir, 'arrays.bin'))) as { alive: Uint8Array, locs: Float64Array, copies: Int32Array }
  s.alive = grown(s.alive, alive)
  s.locs = grown(s.locs, locs)
  s.copies = grown(s.copies, copies)
  s.aliveCount = meta.sim.aliveCount
  s.time = meta.sim.time
  s.storeClock = meta.sim.storeClock
  s.ctx.learning = meta.sim.learning
  s.queue.nextSeq = meta.sim.nextSeq
  s.rng.setState(meta.sim.rng)
  const keyBytes = workload.slice()
  for (let off = 0; off < keyBytes.length; off += ROUTING_KEY_BYTES) w.keys.push(new RoutingKey(keyBytes.subarray(off, off + ROUTING_KEY_BYTES)))
  w.timesteps = meta.workload.timesteps
  return { meta, sim, w }
}

/** `saved` copied into an array at least as long as `into` (which has room for growth). */
function grown<T extends Uint8Array | Float64Array | Int32Array> (into: T, saved: T): T {
  const out = new (into.constructor as new (n: number) => T)(Math.max(into.length, saved.length * 2, 1024))
  out.set(saved)
  return out
}

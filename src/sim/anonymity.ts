/**
 * `warren sim anonymity`: what an adversary that runs a fraction of the nodes learns about who
 * originated requests and inserts, on a network that runs the node's own routing core and
 * profile (docs/anonymity.md).
 *
 * One trial: the paper's 1000-node ring lattice trained by `train` random inserts and requests
 * (HTL 20), with the profile's HTL rules as the node runs them (maximum HTL 20, probabilistic
 * decrement: not the simulator's HTL-500 plain counting). Then `ops` more operations from
 * random nodes, `targetOps` inserts and requests from each of `targets` chosen nodes, and
 * `tunnels` requests through a trusted peer are recorded: every message and answer each node
 * sees (src/sim/adversary.ts). The adversary is passive: the same trace serves every adversary
 * set, so each placement and fraction is judged on the very same traffic.
 *
 * A target's operations are a third each inserts, requests and requests through a trusted peer.
 *
 * Placements: `random` (a random f of the nodes), `degree` (the f best-linked nodes) and `surround` (for each target: the nodes
 * of its routing table first, then the nodes that have it in theirs, then random nodes, until
 * f of the nodes; only claims about the target count).
 *
 * Tunnels (src/tunnel): requester A opens a tunnel to trusted peer T, routed by the same core
 * toward T's own routing key (found = "this node is T", no caching, no source reset); the
 * middlemen see the header (destination T, HTL, previous hop, timing), never the key. T then
 * originates the real request. The tunnel leg leaves no routes or stores behind here (the node
 * learns "T is behind this neighbour" from a tunnel; not modelled).
 */
import { evaluate, predecessorAttack, protocolFacts, type AdversaryFigures, type Arrival, type FoundSeen, type Trace, type TracedKind, type TracedOp } from './adversary.js'
import { Simulator, type SimObserver } from './network.js'
import { nodeIdKey } from './nodes.js'
import { Workload } from './workload.js'
import { seededRng } from '../routing/random.js'
import { networkProfile } from '../routing/profiles.js'
import type { IncomingMessage, NodeCoreOptions, Response } from '../routing/node-core.js'
import type { SimConfig } from './config.js'
import type { Progress } from './experiments.js'

export interface AnonymityParams {
  seed: number
  trials: number
  nodes: number
  /** Ring-lattice neighbours on each side. */
  neighbours: number
  /** Training operations before the adversary watches. */
  train: number
  /** Operations from random nodes while it watches. */
  ops: number
  /** Nodes the surrounding placement targets, per trial. */
  targets: number
  /** Inserts and requests each target originates while the adversary watches. */
  targetOps: number
  /** Requests through a trusted peer while it watches. */
  tunnels: number
  /** Adversary shares of the nodes. */
  fractions: number[]
  htl: number
  core: Partial<NodeCoreOptions>
  sim: Partial<Omit<SimConfig, 'seed' | 'core'>>
}

export const DEFAULT_ANONYMITY: AnonymityParams = {
  seed: 1,
  trials: 2,
  nodes: 1000,
  neighbours: 2,
  train: 5000,
  ops: 2000,
  targets: 10,
  targetOps: 20,
  tunnels: 200,
  fractions: [0.01, 0.05, 0.1, 0.2],
  htl: 20,
  core: {},
  sim: {}
}

export type Placement = 'random' | 'degree' | 'surround'

export interface AnonymityRow {
  placement: Placement
  fraction: number
  /** Adversary nodes. */
  adversary: number
  figures: AdversaryFigures
  /**
   * The predecessor attack on each target's own operations taken as one linkable stream: share
   * of targets it names (of those whose operations it saw), and share it saw.
   */
  predecessor: { named: number, seen: number }
}

export interface AnonymityResult {
  experiment: 'anonymity'
  params: AnonymityParams
  /** HTL values a relay can send, from the core's rules (anything else proves an originator). */
  relayHtl: number[]
  rows: AnonymityRow[]
  /** Success of the recorded operations (a sanity check that the network routes). */
  success: { request: number, insert: number, tunnel: number }
  elapsedMs: number
}

/** Records the trace; `next` labels the next operation a node's client starts. */
export class Recorder implements SimObserver {
  readonly trace: Trace
  next: { kind?: TracedKind, requester?: number, tunnel?: bigint } = {}
  last?: TracedOp

  constructor (nodes: number, maxHtl: number) {
    this.trace = { ops: new Map(), arrivals: [], found: [], mayReach: Array.from({ length: nodes }, () => new Set<number>()), maxHtl }
  }

  receive (at: number, from: number | null, msg: IncomingMessage<number>, time: number): void {
    if (from === null) {
      if (this.trace.ops.has(msg.id)) return
      const op: TracedOp = { id: msg.id, kind: this.next.kind ?? msg.kind, origin: at, requester: this.next.requester, tunnel: this.next.tunnel }
      this.trace.ops.set(msg.id, op)
      this.last = op
      this.next = {}
      return
    }
    const a: Arrival = { id: msg.id, at, from, htl: msg.htl, time }
    if (msg.source !== undefined) a.source = msg.source
    this.trace.arrivals.push(a)
    this.trace.mayReach[at].add(from)
  }

  response (at: number, from: number, id: bigint, res: Response<number>): void {
    if (res.type !== 'found') return
    const f: FoundSeen = { id, at, from, source: res.source, hops: res.hops }
    this.trace.found.push(f)
    const op = this.trace.ops.get(id)
    if (op !== undefined && op.holder === undefined && res.hops === 0) op.holder = from
  }

  /** Routing-table links both ways at this moment (who may send to whom). */
  addLinks (sim: Simulator): void {
    sim.neighbours().forEach((s, i) => { for (const j of s) this.trace.mayReach[i].add(j) })
  }
}

/** The core options the anonymity runs use: the profile's own HTL rules, then `core`. */
export function anonymityCore (p: AnonymityParams): Partial<NodeCoreOptions> {
  const profile = p.sim.profile ?? networkProfile
  return { maxHtl: profile.core.maxHtl, probabilisticHtl: profile.core.probabilisticHtl, ...p.core }
}

/** Run one trial's network and record its trace. */
export function recordTrial (p: AnonymityParams, seed: number): { sim: Simulator, trace: Trace, targets: number[], success: AnonymityResult['success'] } {
  const sim = new Simulator({ ...p.sim, seed, core: anonymityCore(p) })
  sim.ringLattice(p.nodes, p.neighbours)
  const w = new Workload(sim, { htl: p.htl })
  for (let t = 0; t < p.train; t++) w.step()
  const rec = new Recorder(p.nodes, sim.coreOptions.maxHtl)
  rec.addLinks(sim)
  sim.observer = rec
  const targets: number[] = []
  while (targets.length < Math.min(p.targets, p.nodes)) {
    const t = sim.randomLiveNode()
    if (!targets.includes(t)) targets.push(t)
  }
  // The plan: random operations, the targets' own operations and tunnelled requests, shuffled.
  const plan: Array<number | 'tunnel' | 'random'> = [
    ...Array<'random'>(p.ops).fill('random'),
    ...targets.flatMap((t) => Array<number>(p.targetOps).fill(t)),
    ...Array<'tunnel'>(p.tunnels).fill('tunnel')
  ]
  for (let i = plan.length - 1; i > 0; i--) {
    const j = Math.floor(sim.rng() * (i + 1))
    ;[plan[i], plan[j]] = [plan[j], plan[i]]
  }
  const done = { request: [0, 0], insert: [0, 0], tunnel: [0, 0] }
  const count = (k: keyof typeof done, ok: boolean): void => { done[k][0] += ok ? 1 : 0; done[k][1]++ }
  for (const step of plan) {
    if (step === 'random') {
      const r = w.step()
      count(r.kind, r.success)
    } else if (typeof step === 'number') {
      // A target inserts, requests, or requests through a trusted peer, a third each.
      const u = sim.rng()
      if (u < 1 / 3) count('tunnel', tunnelRequest(sim, w, rec, p.htl, step))
      else {
        const r = u < 2 / 3 || w.keys.length === 0 ? sim.insert(step, pushKey(w, sim), p.htl) : sim.request(step, w.keys[Math.floor(sim.rng() * w.keys.length)], p.htl)
        count(r.kind, r.success)
      }
    } else {
      count('tunnel', tunnelRequest(sim, w, rec, p.htl))
    }
  }
  sim.observer = undefined
  rec.addLinks(sim)
  const rate = ([a, b]: number[]): number => b === 0 ? NaN : a / b
  return { sim, trace: rec.trace, targets, success: { request: rate(done.request), insert: rate(done.insert), tunnel: rate(done.tunnel) } }
}

function pushKey (w: Workload, sim: Simulator): ReturnType<Simulator['randomKey']> {
  const k = sim.randomKey()
  w.keys.push(k)
  return k
}

/**
 * A request through a trusted peer: requester A opens a tunnel to T (a request for T's own
 * key that only T "holds", run as a measurement: no caching, no routes learnt), and T, once
 * reached, originates the request for the data. Returns whether the data came back.
 */
function tunnelRequest (sim: Simulator, w: Workload, rec: Recorder, htl: number, requester?: number): boolean {
  const a = requester ?? sim.randomLiveNode()
  let t = sim.randomLiveNode()
  while (t === a) t = sim.randomLiveNode()
  const tKey = nodeIdKey(t)
  const policy = sim.storeOf(t)
  const has = policy.has.bind(policy)
  // The tunnel core's store view holds exactly the node's own key (src/tunnel/route.ts).
  policy.has = (hex: string): boolean => hex === tKey.hex || has(hex)
  rec.next = { kind: 'tunnel' }
  sim.learning = false
  let opened: boolean
  try {
    opened = sim.request(a, tKey, htl).success
  } finally {
    sim.learning = true
    Reflect.deleteProperty(policy, 'has')
  }
  const leg = rec.last
  if (!opened || leg === undefined || w.keys.length === 0) return false
  rec.next = { requester: a, tunnel: leg.id }
  return sim.request(t, w.keys[Math.floor(sim.rng() * w.keys.length)], htl).success
}

/** The adversary sets of a placement: one for `random`, one per target for `surround`. */
function adversarySets (placement: Placement, size: number, trace: Trace, sim: Simulator, targets: number[], rng: () => number): Array<{ bad: Uint8Array, target?: number }> {
  const n = trace.mayReach.length
  const fill = (order: number[], exclude?: number): Uint8Array => {
    const bad = new Uint8Array(n)
    let k = 0
    for (const i of order) {
      if (k >= size) break
      if (i === exclude || bad[i] === 1) continue
      bad[i] = 1
      k++
    }
    return bad
  }
  const shuffled = (): number[] => {
    const a = Array.from({ length: n }, (_, i) => i)
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1))
      ;[a[i], a[j]] = [a[j], a[i]]
    }
    return a
  }
  if (placement === 'random') return [{ bad: fill(shuffled()) }]
  // Borisov (2005): a targeted attack on high-degree nodes reduces Freenet's anonymity most.
  if (placement === 'degree') return [{ bad: fill(shuffled().sort((a, b) => trace.mayReach[b].size - trace.mayReach[a].size)) }]
  return targets.map((target) => {
    const own = [...sim.core(target).table.peerSet()]
    const theirs = [...trace.mayReach[target]].filter((i) => !own.includes(i))
    return { bad: fill([...own, ...theirs, ...shuffled()], target), target }
  })
}

/** Sum the counts, average the shares (ignoring NaN) of several figures of the same shape. */
export function combineFigures<T> (list: T[]): T {
  const first = list[0] as Record<string, unknown>
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(first)) {
    const vals = list.map((x) => (x as Record<string, unknown>)[k])
    if (typeof v === 'number') {
      if (SUMMED.has(k)) out[k] = (vals as number[]).reduce((s, x) => s + x, 0)
      else {
        const ok = (vals as number[]).filter((x) => !Number.isNaN(x))
        out[k] = ok.length === 0 ? NaN : ok.reduce((s, x) => s + x, 0) / ok.length
      }
    } else out[k] = combineFigures(vals)
  }
  return out as T
}

const SUMMED = new Set(['ops', 'claims', 'requests', 'certainWrong', 'htl', 'source', 'timing'])

export function runAnonymity (p: AnonymityParams, progress?: Progress): AnonymityResult {
  const started = performance.now()
  const perRow = new Map<string, { placement: Placement, fraction: number, adversary: number, figures: AdversaryFigures[], named: number, seen: number, targets: number }>()
  const successes: Array<AnonymityResult['success']> = []
  let relayHtl: number[] = []
  for (let trial = 0; trial < p.trials; trial++) {
    const { sim, trace, targets, success } = recordTrial(p, p.seed + trial)
    successes.push(success)
    const facts = protocolFacts(sim.coreOptions, p.htl)
    relayHtl = [...facts.relayHtl].sort((a, b) => a - b)
    const rng = seededRng((p.seed + trial) * 7919 + 17)
    for (const placement of ['random', 'degree', 'surround'] as Placement[]) {
      for (const fraction of p.fractions) {
        const size = Math.round(fraction * p.nodes)
        const key = `${placement} ${fraction}`
        let row = perRow.get(key)
        if (row === undefined) perRow.set(key, (row = { placement, fraction, adversary: size, figures: [], named: 0, seen: 0, targets: 0 }))
        for (const s of adversarySets(placement, size, trace, sim, targets, rng)) {
          row.figures.push(evaluate(trace, facts, s.bad, s.target))
          for (const t of s.target === undefined ? targets.filter((x) => s.bad[x] !== 1) : [s.target]) {
            const named = predecessorAttack(trace, s.bad, t)
            row.targets++
            if (named !== undefined) row.seen++
            if (named === true) row.named++
          }
        }
      }
    }
    progress?.(`trial ${trial + 1}/${p.trials}`, (trial + 1) / p.trials)
  }
  const rows = [...perRow.values()].map((r) => ({
    placement: r.placement,
    fraction: r.fraction,
    adversary: r.adversary,
    figures: combineFigures(r.figures),
    predecessor: { named: r.seen === 0 ? NaN : r.named / r.seen, seen: r.targets === 0 ? NaN : r.seen / r.targets }
  }))
  return { experiment: 'anonymity', params: p, relayHtl, rows, success: combineFigures(successes), elapsedMs: performance.now() - started }
}

/** The result as a Markdown table (one row per placement and fraction). */
export function anonymityTable (r: AnonymityResult): string {
  const pc = (x: number): string => Number.isNaN(x) ? '-' : (100 * x).toFixed(1)
  const lines = [
    '| placement | f | certain: requests / inserts (wrong) | predecessor attack: named / seen | HTL=max guess: precision / recall (req) | combined guess: precision / recall (req / ins) | holder named / certain | tunnel: opener certain / opener guess p/r / requester guessed / linkable |',
    '|---|---|---|---|---|---|---|---|'
  ]
  for (const row of r.rows) {
    const f = row.figures
    lines.push(`| ${row.placement} | ${pc(row.fraction)} % | ${pc(f.request.certain)} / ${pc(f.insert.certain)} (${f.request.certainWrong + f.insert.certainWrong}) | ${pc(row.predecessor.named)} / ${pc(row.predecessor.seen)} | ${pc(f.request.htlMax.precision)} / ${pc(f.request.htlMax.recall)} | ${pc(f.request.combined.precision)} / ${pc(f.request.combined.recall)} / ${pc(f.insert.combined.precision)} / ${pc(f.insert.combined.recall)} | ${pc(f.holder.named)} / ${pc(f.holder.certain)} | ${pc(f.tunnel.openerCertain)} / ${pc(f.tunnel.opener.precision)} / ${pc(f.tunnel.opener.recall)} / ${pc(f.tunnel.requesterGuessed)} / ${pc(f.tunnel.linkable)} |`)
  }
  return lines.join('\n')
}

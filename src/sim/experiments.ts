/**
 * The three experiments of Clarke et al. (2001, section 5; IEEE Internet Computing 2002),
 * run on the simulator with the real routing core. Each returns a JSON-serialisable result
 * holding our numbers and the paper's beside them.
 */
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js'
import { Simulator } from './network.js'
import { fitLog, fitPower, evalFit, mean, quartiles, type Fit } from './stats.js'
import { Workload, type WorkloadConfig } from './workload.js'
import type { CheckpointMeta, ExperimentState, GrowState } from './checkpoint.js'
import type { SimConfig } from './config.js'
import type { NodeCoreOptions } from '../routing/node-core.js'
import type { SeededRng } from '../routing/random.js'

/** Fig. 2 of the 2001 paper (read off the figure's vector data): quartiles over ten trials. */
export const PAPER_CONVERGENCE = [
  { t: 100, q1: 159, median: 339, q3: 498 },
  { t: 500, q1: 56, median: 185, q3: 358 },
  { t: 1000, q1: 11.5, median: 90, q3: 207 },
  { t: 2000, q1: 4.1, median: 23, q3: 89 },
  { t: 5000, q1: 3.2, median: 6.5, q3: 46.5 }
]

/** IEEE 2002, Fig. 3: median path length grows as N^0.28, 30 hops projected at 10^6 nodes. */
export const PAPER_SCALABILITY = { exponent: 0.28, at1M: 30, medianAt10k: 8 }

/** IEEE 2002, Figs. 4-5: median below 20 with 30 % random failures; targeted attack breaks the network near 60 %. */
export const PAPER_FAULTS = { randomMedianBound: 20, atFraction: 0.3, targetedCollapse: 0.6 }

export type Progress = (message: string, fraction: number) => void

export interface CommonParams {
  seed: number
  trials: number
  /** Core options on top of the simulator's (the "beat them" switches). */
  core: Partial<NodeCoreOptions>
  sim: Partial<Omit<SimConfig, 'seed' | 'core'>>
  workload: Partial<WorkloadConfig>
}

export interface ConvergenceParams extends CommonParams {
  nodes: number
  neighbours: number
  timesteps: number
  probeEvery: number
  probeSize: number
}

export const DEFAULT_CONVERGENCE: ConvergenceParams = {
  seed: 1,
  trials: 10,
  core: {},
  sim: {},
  workload: {},
  nodes: 1000,
  neighbours: 2,
  timesteps: 5000,
  probeEvery: 100,
  probeSize: 300
}

export interface CurvePoint {
  q1: number
  median: number
  q3: number
  /** Fraction of probes that found the data. */
  success: number
}

export interface ConvergenceResult {
  experiment: 'convergence'
  params: ConvergenceParams
  /** Quartiles averaged over trials (as the paper averages), per probe time. */
  series: Array<CurvePoint & { t: number }>
  trials: Array<Array<CurvePoint & { t: number }>>
  paper: typeof PAPER_CONVERGENCE
  elapsedMs: number
  /** Simulated operations (timesteps and probe requests) per wall-clock second. */
  opsPerSecond: number
}

export function runConvergence (p: ConvergenceParams, progress?: Progress): ConvergenceResult {
  const started = performance.now()
  const trials: ConvergenceResult['trials'] = []
  let ops = 0
  for (let trial = 0; trial < p.trials; trial++) {
    const sim = new Simulator({ ...p.sim, seed: p.seed + trial, core: p.core })
    sim.ringLattice(p.nodes, p.neighbours)
    const w = new Workload(sim, p.workload)
    const curve: ConvergenceResult['trials'][number] = []
    for (let t = 1; t <= p.timesteps; t++) {
      w.step()
      ops++
      if (t % p.probeEvery === 0) {
        const r = w.probe(p.probeSize)
        ops += p.probeSize
        curve.push({ t, q1: r.q1, median: r.median, q3: r.q3, success: r.success })
        progress?.(`trial ${trial + 1}/${p.trials} t=${t} median=${r.median}`, (trial + t / p.timesteps) / p.trials)
      }
    }
    trials.push(curve)
  }
  const series = trials[0].map((pt, i) => ({
    t: pt.t,
    q1: mean(trials.map((c) => c[i].q1)),
    median: mean(trials.map((c) => c[i].median)),
    q3: mean(trials.map((c) => c[i].q3)),
    success: mean(trials.map((c) => c[i].success))
  }))
  const elapsedMs = performance.now() - started
  return { experiment: 'convergence', params: p, series, trials, paper: PAPER_CONVERGENCE, elapsedMs, opsPerSecond: ops / (elapsedMs / 1000) }
}

export interface GrowthParams extends CommonParams {
  startNodes: number
  neighbours: number
  /** Grow until this many nodes. */
  nodes: number
  /** A new node joins after every this many operations. */
  joinEvery: number
  announceHtl: number
  /**
   * Every this many operations a random live node that has a location routes a join toward it
   * again (AnnounceCore.rejoin; the node's periodic rejoin), so that nodes which joined early
   * learn the newcomers that have since settled near their location. 0: never; absent: the
   * profile's (`rejoin.everyOps`).
   */
  rejoinEvery?: number
}

export interface ScalabilityParams extends GrowthParams {
  probeEvery: number
  probeSize: number
}

export const DEFAULT_SCALABILITY: ScalabilityParams = {
  seed: 1,
  trials: 1,
  core: {},
  sim: {},
  workload: {},
  startNodes: 20,
  neighbours: 2,
  nodes: 200_000,
  joinEvery: 5,
  announceHtl: 10,
  probeEvery: 100,
  probeSize: 30
}

export interface GrowthStats {
  operations: number
  announcements: number
  announceFailures: number
  /** Mean number of nodes that added each newcomer. */
  meanAnnouncePath: number
  /** Rejoins run (`rejoinEvery`). */
  rejoins?: number
}

/**
 * Grow a network as in the paper's scalability experiment: a ring lattice of `startNodes`,
 * then one operation per timestep and a newcomer announced at `announceHtl` to a random
 * existing node every `joinEvery` operations. `onOp` runs after every operation.
 */
export function grow (sim: Simulator, w: Workload, p: GrowthParams, onOp?: (ops: number, g: GrowState) => void, from?: GrowState): GrowthStats {
  if (sim.size === 0) sim.ringLattice(p.startNodes, p.neighbours)
  // The loop's state in one object, so that a checkpoint taken in `onOp` can save it and a
  // resumed run (`from`) continue it.
  const g: GrowState = from ?? { s: { operations: 0, announcements: 0, announceFailures: 0, meanAnnouncePath: 0 }, pathSum: 0, rejoins: 0 }
  const s = g.s
  const rejoinEvery = p.rejoinEvery ?? sim.config.profile.rejoin.everyOps
  while (sim.liveCount < p.nodes) {
    w.step()
    s.operations++
    if (rejoinEvery > 0 && s.operations % rejoinEvery === 0 && sim.rejoin(sim.randomLiveNode())) g.rejoins++
    if (s.operations % p.joinEvery === 0) {
      const bootstrap = sim.randomLiveNode()
      const r = sim.announce(sim.addNode(), bootstrap, p.announceHtl)
      s.announcements++
      if (r.success) g.pathSum += r.pathLength
      else s.announceFailures++
    }
    onOp?.(s.operations, g)
  }
  s.rejoins = g.rejoins
  s.meanAnnouncePath = g.pathSum / Math.max(1, s.announcements - s.announceFailures)
  return s
}

export interface ScalabilityPoint extends CurvePoint {
  nodes: number
}

export interface ScalabilityResult {
  experiment: 'scalability'
  params: ScalabilityParams
  /** Probe quartiles pooled in logarithmic network-size buckets (all trials). */
  series: ScalabilityPoint[]
  /** Fits of the median against network size, over buckets with at least 1000 nodes. */
  fits: { power: Fit, log: Fit, projectedAt1M: { power: number, log: number } }
  growth: GrowthStats[]
  paper: typeof PAPER_SCALABILITY
  elapsedMs: number
  opsPerSecond: number
  peakHeapBytes: number
  /** Peak resident set of the whole process (the simulator's typed arrays live outside the heap). */
  peakRssBytes: number
}

/** Buckets per decade of network size in the scalability series. */
const BUCKETS_PER_DECADE = 10

/** Checkpoints of a long scalability run (src/sim/checkpoint.ts). */
export interface ScalabilityCheckpoints {
  /** Save to `dir` each time the network has grown by another `every` nodes. */
  every?: number
  dir?: string
  /** Continue the run saved in this directory (its params replace the ones given). */
  resume?: string
  /** Grow the resumed run to this many nodes instead of its saved target. */
  resumeNodes?: number
  /** Told about loading and saving. */
  log?: (message: string) => void
}

/**
 * `snapshot`, if given, receives the result so far each time a trial's network has grown by
 * another `snapshot.every` nodes: a run too long to finish (growth to 10^6 nodes) still leaves
 * its figures, time and memory for every size it reached. `checkpoints` saves the whole run
 * now and then, or resumes a saved one: a resumed run gives the figures of an uninterrupted one.
 */
export function runScalability (p: ScalabilityParams, progress?: Progress, snapshot?: { every: number, write: (r: ScalabilityResult, nodes: number) => void }, checkpoints?: ScalabilityCheckpoints): ScalabilityResult {
  let resumed: { meta: CheckpointMeta<ScalabilityParams>, sim: Simulator, w: Workload } | undefined
  if (checkpoints?.resume !== undefined) {
    const loadStart = performance.now()
    resumed = loadCheckpoint<ScalabilityParams>(checkpoints.resume, (meta) => {
      const sim = new Simulator({ ...meta.params.sim, seed: meta.params.seed + meta.experiment.trial, core: meta.params.core })
      return { sim, w: new Workload(sim, meta.params.workload) }
    }, (n, of) => { progress?.(`loading checkpoint: ${n}/${of} nodes`, n / of) })
    p = { ...resumed.meta.params, nodes: checkpoints.resumeNodes ?? resumed.meta.params.nodes }
    checkpoints.log?.(`resumed ${checkpoints.resume}: ${resumed.meta.liveNodes} live nodes, saved ${resumed.meta.savedAt}, loaded in ${((performance.now() - loadStart) / 1000).toFixed(0)} s`)
  }
  const ex = resumed?.meta.experiment
  const started = performance.now() - (ex?.elapsedMs ?? 0)
  const priorRss = ex?.peakRssBytes ?? 0
  let nextSnapshot = Infinity
  let nextCheckpoint = Infinity
  const buckets: Buckets = new Map(ex?.buckets)
  const growth: GrowthStats[] = ex?.growth ?? []
  let ops = ex?.ops ?? 0
  let peakHeap = ex?.peakHeap ?? 0
  for (let trial = ex?.trial ?? 0; trial < p.trials; trial++) {
    const fresh = resumed === undefined || trial !== ex?.trial
    const sim = fresh ? new Simulator({ ...p.sim, seed: p.seed + trial, core: p.core }) : resumed!.sim
    const w = fresh ? new Workload(sim, p.workload) : resumed!.w
    nextSnapshot = fresh ? snapshot?.every ?? Infinity : ex!.nextSnapshot
    const every = checkpoints?.every
    // A run resumed from a checkpoint without one planned (captured, or saved without
    // --checkpoint-every) saves next at the next multiple of `every`.
    nextCheckpoint = every === undefined || checkpoints?.dir === undefined ? Infinity : fresh ? every : ex?.nextCheckpoint ?? (Math.floor(sim.liveCount / every) + 1) * every
    const probe = (n: number): void => {
      const r = w.probe(p.probeSize)
      ops += p.probeSize
      const b = Math.floor(Math.log10(sim.liveCount) * BUCKETS_PER_DECADE)
      let e = buckets.get(b)
      if (e === undefined) buckets.set(b, (e = { nodes: [], lengths: [], found: 0 }))
      e.nodes.push(sim.liveCount)
      for (const l of r.lengths) e.lengths.push(l)
      e.found += Math.round(r.success * r.lengths.length)
      if (n % (p.probeEvery * 100) === 0) {
        peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)
        progress?.(`trial ${trial + 1}/${p.trials} nodes=${sim.liveCount} median=${r.median}`, (trial + sim.liveCount / p.nodes) / p.trials)
      }
      if (snapshot !== undefined && sim.liveCount >= nextSnapshot) {
        nextSnapshot += snapshot.every
        snapshot.write(scalabilityResult(p, buckets, growth, started, ops, peakHeap, priorRss), sim.liveCount)
      }
    }
    growth.push(grow(sim, w, p, (n, g) => {
      ops++
      if (n % p.probeEvery === 0) probe(n)
      // Last, so that a resumed run starts with the next operation.
      if (sim.liveCount >= nextCheckpoint && checkpoints?.dir !== undefined) {
        nextCheckpoint += every!
        const t = performance.now()
        const experiment: ExperimentState = { trial, growth, grow: g, buckets: [...buckets], ops, peakHeap, nextSnapshot, nextCheckpoint, elapsedMs: performance.now() - started, peakRssBytes: Math.max(priorRss, process.resourceUsage().maxRSS * 1024) }
        const saved = saveCheckpoint(checkpoints.dir, { sim, w, rng: (sim.rng as SeededRng).state(), params: p, experiment })
        checkpoints.log?.(`checkpoint at ${sim.liveCount} nodes: ${(saved.bytes / 2 ** 20).toFixed(0)} MiB in ${((performance.now() - t) / 1000).toFixed(1)} s`)
      }
    }, fresh ? undefined : ex!.grow))
  }
  return scalabilityResult(p, buckets, growth, started, ops, peakHeap, priorRss)
}

type Buckets = Map<number, { nodes: number[], lengths: number[], found: number }>

function scalabilityResult (p: ScalabilityParams, buckets: Buckets, growth: GrowthStats[], started: number, ops: number, peakHeap: number, priorRss = 0): ScalabilityResult {
  const series: ScalabilityPoint[] = [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([, e]) => ({
    nodes: Math.round(mean(e.nodes)),
    ...quartiles(e.lengths),
    success: e.found / e.lengths.length
  }))
  const fitPts = series.filter((s) => s.nodes >= 1000 && s.median > 0)
  const xs = fitPts.map((s) => s.nodes)
  const ys = fitPts.map((s) => s.median)
  const power = fitPower(xs, ys)
  const log = fitLog(xs, ys)
  const elapsedMs = performance.now() - started
  return {
    experiment: 'scalability',
    params: p,
    series,
    fits: { power, log, projectedAt1M: { power: evalFit(power, 1e6), log: evalFit(log, 1e6) } },
    growth,
    paper: PAPER_SCALABILITY,
    elapsedMs,
    opsPerSecond: ops / (elapsedMs / 1000),
    peakHeapBytes: peakHeap,
    peakRssBytes: Math.max(priorRss, process.resourceUsage().maxRSS * 1024)
  }
}

export interface FaultParams extends GrowthParams {
  /** Extra training operations after growth (0: measure the grown network as is, like the paper). */
  trainOps: number
  /** Fractions of nodes removed at which to measure. */
  fractions: number[]
  probeSize: number
}

export const DEFAULT_FAULTS: FaultParams = {
  seed: 1,
  trials: 10,
  core: {},
  sim: {},
  workload: {},
  startNodes: 20,
  neighbours: 2,
  nodes: 1000,
  joinEvery: 5,
  announceHtl: 10,
  trainOps: 0,
  fractions: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
  probeSize: 300
}

export interface FaultPoint extends CurvePoint {
  fraction: number
  /** Success among probes for keys still stored on some live node. */
  successLive: number
  largestComponent: number
  liveNodes: number
}

export interface FaultResult {
  experiment: 'fault-tolerance'
  params: FaultParams
  random: FaultPoint[]
  targeted: FaultPoint[]
  paper: typeof PAPER_FAULTS
  elapsedMs: number
}

export function runFaultTolerance (p: FaultParams, progress?: Progress): FaultResult {
  const started = performance.now()
  const runs: Record<'random' | 'targeted', FaultPoint[][]> = { random: [], targeted: [] }
  const modes = ['random', 'targeted'] as const
  for (let trial = 0; trial < p.trials; trial++) {
    for (const mode of modes) {
      // Both modes start from the very same network: same seed, same growth.
      const sim = new Simulator({ ...p.sim, seed: p.seed + trial, core: p.core })
      const w = new Workload(sim, p.workload)
      grow(sim, w, p)
      for (let i = 0; i < p.trainOps; i++) w.step()
      const order = removalOrder(sim, mode)
      const initial = sim.liveCount
      const points: FaultPoint[] = []
      let removed = 0
      for (const f of p.fractions) {
        while (removed < Math.round(f * initial)) sim.removeNode(order[removed++])
        const all = w.probe(p.probeSize)
        const live = new Workload(sim, { ...w.config, probeKeys: 'live' })
        for (const k of w.keys) live.keys.push(k)
        const lr = live.probe(p.probeSize)
        points.push({
          fraction: f,
          q1: all.q1,
          median: all.median,
          q3: all.q3,
          success: all.success,
          successLive: lr.success,
          largestComponent: sim.largestComponent(),
          liveNodes: sim.liveCount
        })
        progress?.(`trial ${trial + 1}/${p.trials} ${mode} removed=${f} median=${all.median}`, (trial + (mode === 'random' ? 0 : 0.5) + f / 2) / p.trials)
      }
      runs[mode].push(points)
    }
  }
  const average = (rs: FaultPoint[][]): FaultPoint[] => rs[0].map((pt, i) => {
    const avg = (f: (x: FaultPoint) => number): number => mean(rs.map((r) => f(r[i])))
    return {
      fraction: pt.fraction,
      q1: avg((x) => x.q1),
      median: avg((x) => x.median),
      q3: avg((x) => x.q3),
      success: avg((x) => x.success),
      successLive: avg((x) => x.successLive),
      largestComponent: avg((x) => x.largestComponent),
      liveNodes: avg((x) => x.liveNodes)
    }
  })
  return {
    experiment: 'fault-tolerance',
    params: p,
    random: average(runs.random),
    targeted: average(runs.targeted),
    paper: PAPER_FAULTS,
    elapsedMs: performance.now() - started
  }
}

/**
 * Order in which nodes fail: random, or the best connected first (by degree in the
 * undirected link graph of the network before any removal, as the IEEE article's attack).
 */
export function removalOrder (sim: Simulator, mode: 'random' | 'targeted'): number[] {
  const live: number[] = []
  for (let i = 0; i < sim.size; i++) if (sim.isAlive(i)) live.push(i)
  if (mode === 'random') {
    for (let i = live.length - 1; i > 0; i--) {
      const j = Math.floor(sim.rng() * (i + 1))
      const t = live[i]
      live[i] = live[j]
      live[j] = t
    }
    return live
  }
  const adj = sim.neighbours()
  return live.sort((a, b) => adj[b].size - adj[a].size || a - b)
}

/**
 * The scalability experiment of Clarke et al. (IEEE Internet Computing 2002, Fig. 3): a network
 * grown one announced newcomer at a time, probed as it grows. Its growth loop (`grow`) also
 * builds the networks of the fault-tolerance experiment (src/sim/experiments.ts). A long run can
 * be checkpointed and resumed (src/sim/checkpoint.ts), or captured while it runs
 * (src/sim/capture.ts, which pauses `grow` and `runScalability` in this file's compiled script).
 */
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js'
import { Simulator } from './network.js'
import { fitLog, fitPower, evalFit, mean, quartiles, type Fit } from './stats.js'
import { Workload } from './workload.js'
import type { CheckpointMeta, ExperimentState, GrowState } from './checkpoint.js'
import type { CommonParams, CurvePoint, Progress } from './experiments.js'
import type { SeededRng } from '../routing/random.js'

/** IEEE 2002, Fig. 3: median path length grows as N^0.28, 30 hops projected at 10^6 nodes. */
export const PAPER_SCALABILITY = { exponent: 0.28, at1M: 30, medianAt10k: 8 }

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

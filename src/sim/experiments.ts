/**
 * The three experiments of Clarke et al. (2001, section 5; IEEE Internet Computing 2002),
 * run on the simulator with the real routing core: convergence and fault tolerance here, the
 * scalability experiment and the growth it shares with fault tolerance in src/sim/scalability.ts.
 * Each returns a JSON-serialisable result holding our numbers and the paper's beside them.
 */
import { Simulator } from './network.js'
import { grow, type GrowthParams } from './scalability.js'
import { mean } from './stats.js'
import { Workload, type WorkloadConfig } from './workload.js'
import type { SimConfig } from './config.js'
import type { NodeCoreOptions } from '../routing/node-core.js'

/** Fig. 2 of the 2001 paper (read off the figure's vector data): quartiles over ten trials. */
export const PAPER_CONVERGENCE = [
  { t: 100, q1: 159, median: 339, q3: 498 },
  { t: 500, q1: 56, median: 185, q3: 358 },
  { t: 1000, q1: 11.5, median: 90, q3: 207 },
  { t: 2000, q1: 4.1, median: 23, q3: 89 },
  { t: 5000, q1: 3.2, median: 6.5, q3: 46.5 }
]

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

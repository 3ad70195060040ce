/**
 * The paper's workload on a simulated network: timesteps of random inserts and requests,
 * and probes that measure request path length without changing the network.
 *
 * One timestep is one operation: with probability `insertFraction` an insert of a fresh
 * random key at a random node, otherwise a request from a random node for a key chosen
 * uniformly among those inserted so far (the first timestep is always an insert).
 */
import { quartiles, type Quartiles } from './stats.js'
import type { RoutingKey } from '../keys/routing-key.js'
import type { OpResult, Simulator } from './network.js'

export interface WorkloadConfig {
  /** HTL of the training inserts and requests. */
  htl: number
  insertFraction: number
  probeHtl: number
  /** Path length recorded for a probe that fails. */
  failureHops: number
  /** Probe keys: any key ever inserted (the paper), or only keys some live node still stores. */
  probeKeys: 'inserted' | 'live'
  /** Whether probes change the network (false: a snapshot is measured, as the paper says). */
  probesLearn: boolean
}

export const DEFAULT_WORKLOAD: WorkloadConfig = {
  htl: 20,
  insertFraction: 0.5,
  probeHtl: 500,
  failureHops: 500,
  probeKeys: 'inserted',
  probesLearn: false
}

export interface ProbeResult extends Quartiles {
  /** Fraction of probe requests that found their data. */
  success: number
  /** Mean path length of the successful probes. */
  meanHops: number
  /** Path lengths, failures counted as `failureHops`. */
  lengths: number[]
}

export class Workload {
  readonly config: WorkloadConfig
  readonly keys: RoutingKey[] = []
  timesteps = 0

  constructor (readonly sim: Simulator, config: Partial<WorkloadConfig> = {}) {
    this.config = { ...DEFAULT_WORKLOAD, ...config }
  }

  /** One timestep. */
  step (): OpResult {
    const sim = this.sim
    this.timesteps++
    const origin = sim.randomLiveNode()
    if (this.keys.length === 0 || sim.rng() < this.config.insertFraction) {
      const key = sim.randomKey()
      this.keys.push(key)
      return sim.insert(origin, key, this.config.htl)
    }
    const key = this.keys[Math.floor(sim.rng() * this.keys.length)]
    return sim.request(origin, key, this.config.htl)
  }

  /** `n` probe requests at the probe HTL from random live nodes for previously inserted keys. */
  probe (n: number): ProbeResult {
    const sim = this.sim
    const c = this.config
    const lengths: number[] = []
    let found = 0
    let hops = 0
    const wasLearning = sim.learning
    sim.learning = c.probesLearn
    try {
      for (let i = 0; i < n; i++) {
        const key = this.probeKey()
        if (key === undefined) break
        const r = sim.request(sim.randomLiveNode(), key, c.probeHtl)
        if (r.success) {
          found++
          hops += r.hops
        }
        lengths.push(r.success ? r.hops : c.failureHops)
      }
    } finally {
      sim.learning = wasLearning
    }
    return { ...quartiles(lengths), success: lengths.length === 0 ? NaN : found / lengths.length, meanHops: found === 0 ? NaN : hops / found, lengths }
  }

  private probeKey (): RoutingKey | undefined {
    const keys = this.keys
    if (keys.length === 0) return undefined
    if (this.config.probeKeys === 'inserted') return keys[Math.floor(this.sim.rng() * keys.length)]
    for (let tries = 0; tries < 1000; tries++) {
      const k = keys[Math.floor(this.sim.rng() * keys.length)]
      if (this.sim.copiesOf(k) > 0) return k
    }
    return undefined
  }
}

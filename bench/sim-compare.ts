/**
 * Compare core switches on the convergence experiment: `node dist/bench/sim-compare.js
 * '<core json>' [firstSeed] [trials] [timesteps] ['<workload json>']`. Prints per-trial final
 * quartiles and success, and the trial-averaged quartiles (as the paper averages).
 */
import { DEFAULT_CONVERGENCE, runConvergence } from '../src/sim/experiments.js'

const core = JSON.parse(process.argv[2] ?? '{}')
const seed = Number(process.argv[3] ?? 1)
const trials = Number(process.argv[4] ?? 10)
const timesteps = Number(process.argv[5] ?? 5000)
const workload = JSON.parse(process.argv[6] ?? '{}')
const r = runConvergence({ ...DEFAULT_CONVERGENCE, seed, trials, timesteps, core, workload })
const fin = r.trials.map((c) => c[c.length - 1])
const at = (t: number): string => {
  const p = r.series.find((s) => s.t === t)
  return p === undefined ? '-' : `${p.q1.toFixed(1)}/${p.median.toFixed(1)}/${p.q3.toFixed(1)}`
}
console.log(JSON.stringify({
  core,
  seeds: `${seed}..${seed + trials - 1}`,
  perTrialMedian: fin.map((p) => p.median),
  perTrialSuccess: fin.map((p) => +p.success.toFixed(3)),
  final: at(timesteps),
  t1000: at(1000),
  t2000: at(2000),
  success: +(fin.reduce((a, p) => a + p.success, 0) / fin.length).toFixed(4),
  seconds: +(r.elapsedMs / 1000).toFixed(1)
}))

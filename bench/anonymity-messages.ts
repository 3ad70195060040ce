/**
 * Messages per operation under the node's HTL rules: `node dist/bench/anonymity-messages.js [nodes] [seed]`.
 *
 * Records the anonymity experiment's traffic (src/sim/anonymity.ts, no tunnels or targets) with
 * the `network` profile, then with deterministic HTL, then with HTL 1 always ending, and prints
 * the messages each operation took (mean, median, 99th percentile, maximum) as JSON. docs/anonymity.md,
 * "Found along the way": a request held at HTL 1 that backtracks with its unspent HTL wanders
 * far when nothing bounds it in time.
 */
import { DEFAULT_ANONYMITY, recordTrial } from '../src/sim/anonymity.js'
import { networkProfile } from '../src/routing/profiles.js'

const nodes = Number(process.argv[2] ?? 300)
const seed = Number(process.argv[3] ?? 1)
const runs = []
for (const core of [{}, { probabilisticHtl: false }, { decrementAtMinProb: 1 }]) {
  const started = performance.now()
  const p = { ...DEFAULT_ANONYMITY, nodes, train: 5 * nodes, ops: 2 * nodes, targets: 0, targetOps: 0, tunnels: 0, sim: { profile: networkProfile }, core }
  const { trace } = recordTrial(p, seed)
  const per = new Map<bigint, number>()
  for (const a of trace.arrivals) per.set(a.id, (per.get(a.id) ?? 0) + 1)
  const v = [...per.values()].sort((a, b) => a - b)
  const at = (q: number): number => v[Math.min(v.length - 1, Math.floor(q * v.length))]
  runs.push({
    core,
    operations: trace.ops.size,
    messagesPerOperation: { mean: Number((trace.arrivals.length / trace.ops.size).toFixed(1)), median: at(0.5), p99: at(0.99), max: v[v.length - 1] },
    seconds: Number(((performance.now() - started) / 1000).toFixed(1))
  })
}
console.log(JSON.stringify({ setup: { nodes, seed, profile: networkProfile.name }, runs }, null, 2))

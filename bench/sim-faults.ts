/**
 * Fault-tolerance diagnosis at one removal fraction: `node dist/bench/sim-faults.js
 * '<core json>' '<announce json>' [firstSeed] [trials] [trainOps] [fraction] [probes] [storeKeep]`.
 *
 * Grows a 1000-node network as the fault-tolerance experiment does (same seeds, same PRNG
 * stream up to the removal), removes `fraction` of the nodes at random, then sends `probes`
 * measure-only HTL-500 requests for keys some live node still stores. Prints success, the
 * median path, and why probes failed: the requester had no live route at all (every entry
 * pointed at a removed node), the key had one copy left, or otherwise.
 */
import { DEFAULT_FAULTS, removalOrder } from '../src/sim/experiments.js'
import { grow } from '../src/sim/scalability.js'
import { Simulator } from '../src/sim/network.js'
import { Workload } from '../src/sim/workload.js'
import { quartiles } from '../src/sim/stats.js'

const core = JSON.parse(process.argv[2] ?? '{}')
const announce = JSON.parse(process.argv[3] ?? '{}')
const seed = Number(process.argv[4] ?? 1)
const trials = Number(process.argv[5] ?? 10)
const trainOps = Number(process.argv[6] ?? 0)
const fraction = Number(process.argv[7] ?? 0.3)
const probes = Number(process.argv[8] ?? 1000)
const storeKeep = Number(process.argv[9] ?? 0)

let ok = 0
let total = 0
let deadStart = 0
let singleCopy = 0
const outcomes: Record<string, number> = {}
const lengths: number[] = []
const started = performance.now()
for (let t = 0; t < trials; t++) {
  const sim = new Simulator({ seed: seed + t, core, announce, storeKeep })
  const w = new Workload(sim, { probeKeys: 'live' })
  grow(sim, w, { ...DEFAULT_FAULTS, seed: seed + t, core })
  for (let i = 0; i < trainOps; i++) w.step()
  const order = removalOrder(sim, 'random')
  const n = Math.round(fraction * sim.liveCount)
  for (let i = 0; i < n; i++) sim.removeNode(order[i])
  sim.learning = false
  for (let i = 0; i < probes; i++) {
    let key = w.keys[Math.floor(sim.rng() * w.keys.length)]
    while (sim.copiesOf(key) === 0) key = w.keys[Math.floor(sim.rng() * w.keys.length)]
    const origin = sim.randomLiveNode()
    const r = sim.request(origin, key, 500)
    total++
    lengths.push(r.success ? r.hops : 500)
    if (r.success) {
      ok++
      continue
    }
    outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1
    let live = false
    for (const p of sim.core(origin).table.peerSet()) if (sim.isAlive(p)) live = true
    if (!live) deadStart++
    else if (sim.copiesOf(key) === 1) singleCopy++
  }
}
const q = quartiles(lengths)
console.log(JSON.stringify({
  core,
  announce,
  seeds: `${seed}..${seed + trials - 1}`,
  trainOps,
  fraction,
  success: +(ok / total).toFixed(4),
  paths: `${q.q1}/${q.median}/${q.q3}`,
  failures: { total: total - ok, noLiveRoute: deadStart, singleCopy, other: total - ok - deadStart - singleCopy, outcomes },
  seconds: +((performance.now() - started) / 1000).toFixed(1)
}))

/**
 * Convergence diagnostics: `node dist/bench/sim-diag.js [seed] [timesteps] ['<core json>'] ['<workload json>']`.
 *
 * Runs one 1000-node convergence trial and prints, at a few times, why probes fail
 * (HTL exhausted / out of routes), how many messages and loop rejections a probe costs,
 * routing-table fill, in-degree (nodes nobody routes to), how many nodes an insert stores
 * on and how many entries it creates, and whether failed probe keys still exist.
 */
import { Simulator } from '../src/sim/network.js'
import { Workload } from '../src/sim/workload.js'
import { quartiles } from '../src/sim/stats.js'

const seed = Number(process.argv[2] ?? 1)
const steps = Number(process.argv[3] ?? 5000)
const core = JSON.parse(process.argv[4] ?? '{}')
const workload = JSON.parse(process.argv[5] ?? '{}')
const sim = new Simulator({ seed, core })
const N = 1000
sim.ringLattice(N, 2)
const w = new Workload(sim, workload)

function sums (): { recv: number, loops: number, entries: number } {
  let recv = 0
  let loops = 0
  let entries = 0
  for (let i = 0; i < sim.size; i++) {
    if (!sim.isAlive(i)) continue
    const c = sim.core(i)
    recv += c.stats.requestsReceived + c.stats.insertsReceived
    loops += c.stats.loopsRejected
    entries += c.table.size
  }
  return { recv, loops, entries }
}

let insertHops = 0
let insertCopies = 0
let inserts = 0
let insertEntries = 0
let reqOk = 0
let reqs = 0
let reqEntries = 0
for (let t = 1; t <= steps; t++) {
  const before = sums().entries
  const r = w.step()
  const gained = sums().entries - before
  if (r.kind === 'insert') {
    inserts++
    insertHops += r.hops
    insertCopies += sim.copiesOf(w.keys[w.keys.length - 1])
    insertEntries += gained
  } else {
    reqs++
    if (r.success) reqOk++
    reqEntries += gained
  }
  // The experiment's own probe schedule (same PRNG stream as runConvergence).
  if (t % 100 === 0) {
    const r = w.probe(300)
    if (t % 1000 === 0) console.log(`t=${t} probe ${r.q1}/${r.median}/${r.q3} success ${r.success.toFixed(3)}`)
  }
  if (t === steps) {
    // Probe with per-probe accounting.
    const outcomes: Record<string, number> = {}
    const lens: number[] = []
    let recvSum = 0
    let loopSum = 0
    let failExisting = 0
    let fails = 0
    const wasLearning = sim.learning
    sim.learning = false
    for (let i = 0; i < 300; i++) {
      const key = w.keys[Math.floor(sim.rng() * w.keys.length)]
      const s0 = sums()
      const res = sim.request(sim.randomLiveNode(), key, 500)
      const s1 = sums()
      recvSum += s1.recv - s0.recv
      loopSum += s1.loops - s0.loops
      outcomes[res.outcome] = (outcomes[res.outcome] ?? 0) + 1
      lens.push(res.success ? res.hops : 500)
      if (!res.success) {
        fails++
        if (sim.copiesOf(key) > 0) failExisting++
      }
    }
    sim.learning = wasLearning
    const sizes: number[] = []
    const indeg = new Int32Array(sim.size)
    for (let i = 0; i < sim.size; i++) {
      const c = sim.core(i)
      sizes.push(c.table.size)
      for (const p of c.table.peerSet()) indeg[p]++
    }
    const zeroIn = indeg.filter((d) => d === 0).length
    const degs = quartiles(Array.from(indeg))
    let keysAlive = 0
    for (const k of w.keys) if (sim.copiesOf(k) > 0) keysAlive++
    const q = quartiles(lens)
    console.log(JSON.stringify({
      t,
      probe: { q1: q.q1, median: q.median, q3: q.q3, outcomes, msgsPerProbe: +(recvSum / 300).toFixed(1), loopsPerProbe: +(loopSum / 300).toFixed(1), failsWithLiveData: `${failExisting}/${fails}` },
      tables: { ...quartiles(sizes), full: sizes.filter((s) => s >= 250).length },
      indegree: { ...degs, zero: zeroIn, max: Math.max(...indeg) },
      inserts: { meanHops: +(insertHops / inserts).toFixed(1), meanCopies: +(insertCopies / inserts).toFixed(1), entriesPerInsert: +(insertEntries / inserts).toFixed(1) },
      requests: { success: +(reqOk / reqs).toFixed(3), entriesPerRequest: +(reqEntries / reqs).toFixed(1) },
      keysAlive: `${keysAlive}/${w.keys.length}`
    }))
    insertHops = insertCopies = inserts = insertEntries = reqOk = reqs = reqEntries = 0
  }
}

/**
 * Memory per simulated node of a grown network:
 * `node --expose-gc dist/bench/sim-growth-memory.js [--profile NAME] [--snapshot N] sizes...`
 * (default sizes 5000 10000 20000).
 *
 * Grows one network as the scalability experiment does (`grow`, seed 1, the given profile,
 * without probes, which change no state) and, at each size, prints one JSON line: live memory
 * after full collections ((heap used + array buffers) / nodes), RSS, routing-table entries and
 * store items per node. `--snapshot N` also writes a V8 heap snapshot at size N (to see where
 * the bytes go: docs/simulation.md, "A million nodes").
 */
import { writeHeapSnapshot } from 'node:v8'
import { DEFAULT_SCALABILITY, grow } from '../src/sim/scalability.js'
import { Simulator } from '../src/sim/network.js'
import { Workload } from '../src/sim/workload.js'
import { getProfile, type ProfileName } from '../src/routing/profiles.js'

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with node --expose-gc: live memory is measured after full collections')

const args = process.argv.slice(2)
let profile: ProfileName = 'network'
let snapshotAt = NaN
const sizes: number[] = []
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--profile') profile = args[++i] as ProfileName
  else if (args[i] === '--snapshot') snapshotAt = Number(args[++i])
  else sizes.push(Number(args[i]))
}

const sim = new Simulator({ seed: 1, profile: getProfile(profile) })
const w = new Workload(sim, { probeKeys: 'live' })
const started = performance.now()
for (const nodes of sizes.length > 0 ? sizes : [5000, 10_000, 20_000]) {
  grow(sim, w, { ...DEFAULT_SCALABILITY, nodes })
  gc()
  gc()
  const m = process.memoryUsage()
  let entries = 0
  let items = 0
  for (let i = 0; i < sim.size; i++) {
    if (!sim.isAlive(i)) continue
    entries += sim.core(i).table.size
    items += sim.storeOf(i).count
  }
  console.log(JSON.stringify({
    profile,
    nodes,
    seconds: Math.round((performance.now() - started) / 1000),
    liveBytesPerNode: Math.round((m.heapUsed + m.arrayBuffers) / nodes),
    heapMiB: Math.round(m.heapUsed / 2 ** 20),
    arrayBuffersMiB: Math.round(m.arrayBuffers / 2 ** 20),
    rssMiB: Math.round(m.rss / 2 ** 20),
    tableEntriesPerNode: Math.round(entries / nodes * 10) / 10,
    storeItemsPerNode: Math.round(items / nodes * 10) / 10,
    keys: w.keys.length
  }))
  if (nodes === snapshotAt) console.log(JSON.stringify({ heapSnapshot: writeHeapSnapshot() }))
}

/**
 * Simulator speed and memory: `node --expose-gc dist/bench/sim-bench.js [sizes...]`.
 *
 * For each network size N: build N nodes, fill every routing table (250 entries to random
 * peers at random locations) and every store (50 of 2.5 N random keys), the state of a
 * long-trained network, then measure
 *   - memory per simulated node: (heap used + array buffers) / N, after a full GC;
 *   - timesteps per second (HTL 20 random inserts and requests, as in the experiments);
 *   - probe requests per second (HTL 500, measuring only) and messages per second.
 * Prints one JSON object.
 */
import { Simulator } from '../src/sim/network.js'
import { Workload } from '../src/sim/workload.js'

const gc = (globalThis as { gc?: () => void }).gc

function memory (): number {
  gc?.()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

interface SizeResult {
  nodes: number
  bytesPerNode: number
  buildSeconds: number
  timestepsPerSecond: number
  probeRequestsPerSecond: number
  messagesPerSecond: number
  meanProbeHops: number
}

function bench (n: number): SizeResult {
  const base = memory()
  const t0 = performance.now()
  const sim = new Simulator({ seed: 1 })
  sim.ringLattice(n, 2)
  const keys = Array.from({ length: Math.ceil(2.5 * n) }, () => sim.randomKey())
  for (const k of keys) void k.hex
  const rng = sim.rng
  for (let i = 0; i < n; i++) {
    const core = sim.core(i)
    while (core.table.size < core.table.capacity) core.addRoute(rng(), Math.floor(rng() * n))
    const store = sim.storeOf(i)
    while (store.count < 50) store.commitInsert(keys[Math.floor(rng() * keys.length)].hex, 1)
  }
  const buildSeconds = (performance.now() - t0) / 1000
  const bytesPerNode = (memory() - base) / n

  const w = new Workload(sim)
  for (const k of keys) w.keys.push(k)
  const steps = 20_000
  let m0 = sim.messages
  let t = performance.now()
  for (let i = 0; i < steps; i++) w.step()
  const stepSeconds = (performance.now() - t) / 1000
  const stepMessages = sim.messages - m0

  const probes = 2000
  m0 = sim.messages
  t = performance.now()
  const p = w.probe(probes)
  const probeSeconds = (performance.now() - t) / 1000
  const probeMessages = sim.messages - m0
  return {
    nodes: n,
    bytesPerNode: Math.round(bytesPerNode),
    buildSeconds: round(buildSeconds),
    timestepsPerSecond: Math.round(steps / stepSeconds),
    probeRequestsPerSecond: Math.round(probes / probeSeconds),
    messagesPerSecond: Math.round((stepMessages + probeMessages) / (stepSeconds + probeSeconds)),
    meanProbeHops: round(p.meanHops)
  }
}

function round (x: number): number {
  return Math.round(x * 100) / 100
}

const sizes = process.argv.slice(2).map(Number).filter((x) => x > 0)
const results = (sizes.length > 0 ? sizes : [1000, 10_000, 100_000]).map(bench)
console.log(JSON.stringify({
  benchmark: 'simulator',
  node: process.version,
  gc: gc !== undefined,
  results
}, null, 2))

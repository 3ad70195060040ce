import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DEFAULT_CONVERGENCE, DEFAULT_FAULTS, removalOrder, runConvergence } from '../../src/sim/experiments.js'
import { grow } from '../../src/sim/scalability.js'
import { Simulator } from '../../src/sim/network.js'
import { improvedProfile, networkProfile, paperProfile } from '../../src/routing/profiles.js'
import { Workload } from '../../src/sim/workload.js'
import { EventQueue } from '../../src/sim/event-queue.js'

describe('event queue', () => {
  it('pops in time order, FIFO among equal times', () => {
    const q = new EventQueue<{ t: number, seq: number, v: number }>()
    const times = [5, 1, 3, 1, 9, 3, 0, 5]
    times.forEach((t, v) => q.push({ t, seq: 0, v }))
    const out: number[] = []
    for (let e = q.pop(); e !== undefined; e = q.pop()) out.push(e.v)
    assert.deepEqual(out, [6, 1, 3, 2, 5, 0, 7, 4])
  })
})

describe('simulator', () => {
  const small = { ...DEFAULT_CONVERGENCE, nodes: 200, trials: 1, timesteps: 600, probeEvery: 100, probeSize: 50 }

  it('is deterministic: the same seed gives identical results, another seed differs', () => {
    const strip = (r: ReturnType<typeof runConvergence>): string => JSON.stringify(r.trials)
    const a = runConvergence({ ...small, seed: 5 })
    const b = runConvergence({ ...small, seed: 5 })
    const c = runConvergence({ ...small, seed: 6 })
    assert.equal(strip(a), strip(b))
    assert.notEqual(strip(a), strip(c))
  })

  it('converges: a 200-node ring lattice ends with a median path length well below its initial one', () => {
    const sim = new Simulator({ seed: 3 })
    sim.ringLattice(200, 2)
    const w = new Workload(sim)
    for (let t = 0; t < 50; t++) w.step()
    const before = w.probe(200)
    for (let t = 0; t < 2000; t++) w.step()
    const after = w.probe(200)
    assert.ok(before.median >= 20, `initial median ${before.median}`)
    assert.ok(after.median <= before.median / 4, `median ${before.median} -> ${after.median}`)
    assert.ok(after.median <= 8, `final median ${after.median}`)
  })

  it('the paper profile converges where loops that cost a hop and insert dead ends do not; improved converges further', () => {
    // 1000 nodes, 3000 timesteps (docs/simulation.md, "Why paper did not reproduce Fig. 2"): with
    // the previous readings (a loop rejection costs a hop, an insert ends at a dead end) the
    // network is far from converged (median > 100, a quarter of probes fail); with the paper's
    // text (free loops, backtracking inserts) the median is near its final value; the improved
    // switches have every seed at a median of a few hops with every probe found.
    const previous = { loopCostsHop: true, insertBacktrack: false }
    for (const seed of [1, 2]) {
      const probe = (config: ConstructorParameters<typeof Simulator>[0]): ReturnType<Workload['probe']> => {
        const sim = new Simulator({ seed, ...config })
        sim.ringLattice(1000, 2)
        const w = new Workload(sim)
        for (let t = 0; t < 3000; t++) w.step()
        return w.probe(200)
      }
      const old = probe({ profile: paperProfile, core: previous })
      const paper = probe({ profile: paperProfile })
      const improved = probe({ profile: improvedProfile })
      assert.ok(old.median > 100 && old.success < 0.8, `seed ${seed}: previous readings median ${old.median}, success ${old.success}`)
      assert.ok(paper.median <= 20 && paper.success >= 0.95, `seed ${seed}: paper median ${paper.median}, success ${paper.success}`)
      assert.ok(improved.median <= 5 && improved.success >= 0.99, `seed ${seed}: improved median ${improved.median}, success ${improved.success}`)
    }
  })

  it('probes measure without changing the network', () => {
    const sim = new Simulator({ seed: 4 })
    sim.ringLattice(100, 2)
    const w = new Workload(sim)
    for (let t = 0; t < 300; t++) w.step()
    const snapshot = (): string => JSON.stringify(Array.from({ length: sim.size }, (_, i) => [[...sim.core(i).table.entries()], [...sim.storeOf(i)]]))
    const before = snapshot()
    w.probe(100)
    assert.equal(snapshot(), before)
  })

  it('announces newcomers: each gets a location and is known by the nodes of its walk', () => {
    const sim = new Simulator({ seed: 8 })
    sim.ringLattice(20, 2)
    const w = new Workload(sim)
    const stats = grow(sim, w, { ...DEFAULT_FAULTS, nodes: 120 })
    assert.equal(sim.liveCount, 120)
    assert.equal(stats.announceFailures, 0)
    assert.ok(stats.meanAnnouncePath > 5, `mean walk ${stats.meanAnnouncePath}`)
    for (let i = 20; i < 120; i++) {
      const loc = sim.locationOf(i)
      assert.ok(loc >= 0 && loc < 1)
      let knownBy = 0
      for (let j = 0; j < sim.size; j++) if ([...sim.core(j).table.entries()].some((e) => e.peer === i && e.loc === loc)) knownBy++
      // Later operations may evict some entries, but the newcomer must have been recorded.
      assert.ok(knownBy >= 1, `node ${i} unknown`)
    }
  })

  it('the improved announcement (shared walks, routed join) starts newcomers with several links, so none is cut off by random failures', () => {
    // Same seed, same growth: without shared walks some young nodes know only their
    // bootstrap and lose every route when 30 % of the nodes fail; with them none does.
    const cutOff: number[] = []
    const newcomerPeers: number[] = []
    for (const announce of [paperProfile.announce, {}]) {
      const sim = new Simulator({ seed: 4, profile: improvedProfile, storeKeep: 0, announce })
      const w = new Workload(sim)
      grow(sim, w, { ...DEFAULT_FAULTS, nodes: 600 })
      newcomerPeers.push(sim.core(sim.size - 1).table.peerSet().size)
      for (const i of removalOrder(sim, 'random').slice(0, 180)) sim.removeNode(i)
      let n = 0
      for (let i = 0; i < sim.size; i++) {
        if (sim.isAlive(i) && ![...sim.core(i).table.peerSet()].some((p) => sim.isAlive(p))) n++
      }
      cutOff.push(n)
    }
    assert.equal(newcomerPeers[0], 1)
    assert.ok(newcomerPeers[1] >= 5, `newest node knows ${newcomerPeers[1]} peers`)
    assert.ok(cutOff[0] > 0, `without: ${cutOff[0]} nodes cut off`)
    assert.equal(cutOff[1], 0)
  })

  it('rejoin: an early node routes a join toward its location again; the nodes now near it learn it, and it them', () => {
    const sim = new Simulator({ seed: 5, profile: networkProfile })
    const w = new Workload(sim)
    const stats = grow(sim, w, { ...DEFAULT_FAULTS, nodes: 400, rejoinEvery: 50 })
    assert.ok(stats.rejoins !== undefined && stats.rejoins >= 30, `rejoins ${stats.rejoins}`)
    const i = 25
    const loc = sim.locationOf(i)
    const knowers = (): Set<number> => {
      const s = new Set<number>()
      for (let j = 0; j < sim.size; j++) if ([...sim.core(j).table.entries()].some((e) => e.peer === i && e.loc === loc)) s.add(j)
      return s
    }
    const before = knowers()
    const entries = (): Set<string> => new Set([...sim.core(i).table.entries()].map((e) => `${e.peer}@${e.loc}`))
    const entriesBefore = entries()
    assert.equal(sim.rejoin(i), true)
    assert.equal(sim.pendingOps(), 0)
    const after = knowers()
    const learnt = [...after].filter((j) => !before.has(j))
    assert.ok(learnt.length >= 1, 'no node learnt the rejoining node')
    // It learns routes near its location: the route's nodes and their entries nearest it.
    assert.ok([...entries()].some((e) => !entriesBefore.has(e)), 'the rejoining node learnt no route')
    // Nothing to rejoin without a location, or with joins off (joinHtl 0).
    assert.equal(sim.rejoin(sim.addNode()), false)
    const paper = new Simulator({ seed: 5, profile: paperProfile })
    grow(paper, new Workload(paper), { ...DEFAULT_FAULTS, nodes: 60 })
    assert.equal(paper.rejoin(30), false)
  })

  it('stays consistent when nodes fail', () => {
    const sim = new Simulator({ seed: 9 })
    const w = new Workload(sim)
    grow(sim, w, { ...DEFAULT_FAULTS, nodes: 300 })
    const order = removalOrder(sim, 'targeted')
    for (const i of order.slice(0, 90)) sim.removeNode(i)
    assert.equal(sim.liveCount, 210)
    for (const i of order.slice(0, 90)) assert.equal(sim.isAlive(i), false)
    for (let t = 0; t < 500; t++) {
      const r = w.step()
      assert.ok(Number.isFinite(r.hops) && r.hops >= 0)
    }
    const p = w.probe(100)
    assert.equal(p.lengths.length, 100)
    assert.equal(sim.pendingOps(), 0)
    assert.ok(sim.largestComponent() <= sim.liveCount)
    // Copy counts agree with what the live stores hold; no live store holds more than its capacity.
    let stored = 0
    for (let i = 0; i < sim.size; i++) {
      if (!sim.isAlive(i)) continue
      stored += sim.storeOf(i).count
      assert.ok(sim.storeOf(i).count <= 50)
    }
    const counted = w.keys.reduce((s, k) => s + sim.copiesOf(k), 0)
    assert.equal(counted, stored)
    // Training dropped routes to some removed nodes (found unreachable).
    let dead = 0
    for (let i = 0; i < sim.size; i++) if (sim.isAlive(i)) for (const e of sim.core(i).table.entries()) if (!sim.isAlive(e.peer)) dead++
    assert.ok(dead < 90 * 250)
  })
})

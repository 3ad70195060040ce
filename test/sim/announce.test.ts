import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { AnnounceCore, announceKey, commitmentOf, verifySeeds } from '../../src/routing/announce.js'
import { seededRng } from '../../src/routing/random.js'
import { RoutingTable } from '../../src/routing/routing-table.js'
import { fillRandom } from '../../src/sim/nodes.js'
import type { AnnounceAction } from '../../src/routing/announce-messages.js'
import type { AnnounceOptions } from '../../src/routing/announce-options.js'

/** A synchronous FIFO driver of AnnounceCores over a fixed topology, with a hook to tamper with messages. */
class Harness {
  readonly cores: Array<AnnounceCore<number>> = []
  readonly tables: Array<RoutingTable<number>> = []
  readonly visited = new Set<number>()
  readonly sent: Array<{ from: number, action: AnnounceAction<number> }> = []
  outcome?: AnnounceAction<number>
  /** The join's end at the newcomer (`joined` to null). */
  joinedOutcome?: AnnounceAction<number>
  private readonly rng = seededRng(42)

  /** Node i's own routing location (node 0, the newcomer, has none yet). */
  readonly locs: number[] = []

  constructor (n: number, degree: number, readonly tamper?: (from: number, a: AnnounceAction<number>) => AnnounceAction<number>, options?: Partial<AnnounceOptions>) {
    for (let i = 0; i < n; i++) this.locs.push(i === 0 ? NaN : this.rng())
    for (let i = 0; i < n; i++) {
      const table = new RoutingTable<number>(50)
      this.tables.push(table)
      this.cores.push(new AnnounceCore<number>({
        self: i,
        table,
        addRoute: (loc, peer) => table.add(loc, peer),
        rng: this.rng,
        now: () => 0,
        location: () => this.locs[i],
        options,
        randomSeed: () => fillRandom(new Uint8Array(32), this.rng)
      }))
    }
    // Node 0 is the newcomer: nobody knows it; the others form a ring with chords.
    for (let i = 1; i < n; i++) {
      for (let d = 1; d <= degree; d++) table(this, i).add(this.rng(), 1 + ((i - 1 + d) % (n - 1)))
    }
  }

  run (initial: Array<AnnounceAction<number>>): void {
    const queue = initial.map((action) => ({ from: 0, action }))
    while (queue.length > 0) {
      const { from, action: raw } = queue.shift() as { from: number, action: AnnounceAction<number> }
      const a = this.tamper?.(from, raw) ?? raw
      this.sent.push({ from, action: a })
      if (a.to === null) {
        if (a.type === 'joined') this.joinedOutcome = a
        else this.outcome = a
        continue
      }
      const c = this.cores[a.to]
      let out: Array<AnnounceAction<number>> = []
      switch (a.type) {
        case 'announce':
          this.visited.add(a.to)
          // Honest newcomers sign their announcements (the libp2p driver verifies the signature).
          out = c.receive(from, { id: a.id, htl: a.htl, node: a.node, commitments: a.commitments, signed: true })
          break
        case 'commit': out = c.commit(a.id, from, a.commitments); break
        case 'reveal': out = c.reveal(a.id, from, a.seeds); break
        case 'result': out = c.result(a.id, from, a.key, a.seeds, a.refs); break
        case 'failed': out = c.failed(a.id, from, a.reason); break
        case 'join': out = c.join(from, { id: a.id, htl: a.htl, node: a.node, loc: a.loc }); break
        case 'joined': out = c.joined(a.id, from, a.refs); break
        case 'join-failed': out = c.joinFailed(a.id, from); break
      }
      for (const action of out) queue.push({ from: a.to, action })
    }
  }
}

function table (h: Harness, i: number): RoutingTable<number> {
  return h.tables[i]
}

describe('node announcement (commit and reveal)', () => {
  it('agrees on SHA-256 of the XOR of every seed, and every node on the walk adds the newcomer under it', () => {
    const h = new Harness(40, 4)
    h.run(h.cores[0].start(7n, 5, 8))
    const r = h.outcome
    assert.ok(r !== undefined && r.type === 'result', `announcement failed: ${r?.type === 'failed' ? r.reason : 'no outcome'}`)
    // The walk: the bootstrap plus up to 7 more hops.
    assert.equal(r.seeds.length, h.visited.size + 1)
    assert.equal(h.visited.size, 8)
    assert.ok(r.key.equals(announceKey(r.seeds)))
    const commitments = h.sent.find((s) => s.action.type === 'commit' && s.action.to === 0)
    assert.ok(commitments !== undefined && commitments.action.type === 'commit')
    assert.equal(verifySeeds(commitments.action.commitments, r.seeds), -1)
    for (const n of h.visited) {
      const e = [...h.tables[n].entries()].find((x) => x.peer === 0)
      assert.ok(e !== undefined, `node ${n} did not add the newcomer`)
      assert.equal(e.loc, r.key.loc)
    }
    // Nobody off the walk learnt about the newcomer, and no state is left behind.
    for (let i = 1; i < 40; i++) if (!h.visited.has(i)) assert.equal(h.tables[i].has(0), false)
    for (const c of h.cores) assert.equal(c.activeOps, 0)
  })

  it('detects a participant that reveals a seed other than the one it committed to', () => {
    let liar = -1
    const h = new Harness(40, 4, (from, a) => {
      // The third node on the walk swaps its seed when revealing.
      if (a.type === 'reveal' && liar < 0 && a.seeds.length === 3) {
        liar = from
        const seeds = [...a.seeds]
        seeds[2] = new Uint8Array(32).fill(0xab)
        return { ...a, seeds }
      }
      return a
    })
    h.run(h.cores[0].start(9n, 5, 8))
    assert.ok(liar > 0)
    assert.equal(h.outcome?.type, 'failed')
    assert.equal(h.outcome?.type === 'failed' ? h.outcome.reason : '', 'invalid')
    for (let i = 1; i < 40; i++) assert.equal(h.tables[i].has(0), false, `node ${i} added the newcomer despite the lie`)
    for (const c of h.cores) assert.equal(c.activeOps, 0)
  })

  it('detects a forged key in the result', () => {
    const h = new Harness(40, 4, (_from, a) => {
      if (a.type === 'result' && a.to !== null && a.to !== 0) return { ...a, key: announceKey([new Uint8Array(32)]) }
      return a
    })
    h.run(h.cores[0].start(11n, 5, 6))
    assert.equal(h.outcome?.type, 'failed')
  })

  it('shareWalk: the newcomer learns every node of its walk under that node\'s location (all: the walk learns the nodes below)', () => {
    for (const shareWalk of ['off', 'newcomer', 'all'] as const) {
      const h = new Harness(40, 4, undefined, { shareWalk })
      const before = h.tables.map((t) => [...t.entries()].map((e) => `${e.loc}:${e.peer}`).sort())
      h.run(h.cores[0].start(17n, 5, 8))
      const r = h.outcome
      assert.ok(r !== undefined && r.type === 'result')
      assert.equal(h.visited.size, 8)
      // The walk in path order: the order in which announcements were sent.
      const walk = h.sent.filter((s) => s.action.type === 'announce').map((s) => s.action.to as number)
      const newcomer = [...h.tables[0].entries()]
      if (shareWalk === 'off') {
        assert.equal(newcomer.length, 0)
        assert.equal(r.refs, undefined)
      } else {
        assert.deepEqual(r.refs?.map((x) => x.peer), [...walk].reverse())
        assert.equal(newcomer.length, walk.length)
        for (const n of walk) assert.ok(newcomer.some((e) => e.peer === n && e.loc === h.locs[n]), `newcomer lacks walk node ${n}`)
      }
      // Walk nodes: the newcomer, and with 'all' each node below them on the walk.
      for (let k = 0; k < walk.length; k++) {
        const added = [...h.tables[walk[k]].entries()].map((e) => `${e.loc}:${e.peer}`).filter((x) => !before[walk[k]].includes(x))
        const expected: string[] = [`${r.key.loc}:0`, ...(shareWalk === 'all' ? walk.slice(k + 1).map((n) => `${h.locs[n]}:${n}`) : [])]
        assert.deepEqual(added.sort(), expected.sort(), `walk node ${walk[k]} (${shareWalk})`)
      }
    }
  })

  it('shareNearest: each walk node also passes on its entries closest to the newcomer\'s location', () => {
    const k = 2
    const h = new Harness(40, 6, undefined, { shareWalk: 'newcomer', shareNearest: k })
    const before = h.tables.map((t) => [...t.entries()])
    h.run(h.cores[0].start(19n, 5, 8))
    const r = h.outcome
    assert.ok(r !== undefined && r.type === 'result')
    const walk = h.sent.filter((s) => s.action.type === 'announce').map((s) => s.action.to as number)
    const learnt = new Set([...h.tables[0].entries()].map((e) => `${e.loc}:${e.peer}`))
    let expected = 0
    for (let i = 0; i < walk.length; i++) {
      const upstream = i === 0 ? 0 : walk[i - 1]
      const d = (loc: number): number => Math.min(Math.abs(loc - r.key.loc), 1 - Math.abs(loc - r.key.loc))
      const nearest = before[walk[i]].filter((e) => e.peer !== upstream).sort((x, y) => d(x.loc) - d(y.loc)).slice(0, k)
      assert.equal(nearest.length, k)
      for (const e of nearest) assert.ok(learnt.has(`${e.loc}:${e.peer}`), `newcomer lacks ${e.peer}, near entry of walk node ${walk[i]}`)
      expected += k
    }
    assert.ok(learnt.size > walk.length && learnt.size <= walk.length + expected)
  })

  it('join: routes greedily toward the newcomer\'s location; the route adds the newcomer and the newcomer learns the route', () => {
    const joinHtl = 6
    const h = new Harness(60, 6, undefined, { shareWalk: 'newcomer', joinHtl })
    const before = h.tables.map((t) => [...t.entries()])
    h.run(h.cores[0].start(23n, 5, 4))
    const r = h.outcome
    assert.ok(r !== undefined && r.type === 'result')
    const loc = r.key.loc
    const d = (x: number): number => Math.min(Math.abs(x - loc), 1 - Math.abs(x - loc))
    const walk = new Set(h.sent.filter((s) => s.action.type === 'announce').map((s) => s.action.to as number))
    const joins = h.sent.filter((s) => s.action.type === 'join')
    const refused = new Set(h.sent.filter((s) => s.action.type === 'join-failed').map((s) => s.from))
    const route = joins.map((s) => s.action.to as number).filter((n) => !refused.has(n))
    assert.equal(route.length, joinHtl, 'the join takes joinHtl hops')
    // The first hop is the walk node closest to the location: the newcomer knows only its walk then.
    const first = joins[0].action.to as number
    assert.ok(walk.has(first) && [...walk].every((n) => d(h.locs[n]) >= d(h.locs[first])))
    // Every later hop is the sender's closest entry it had not tried, never its upstream or the newcomer.
    for (let i = 1; i < joins.length; i++) {
      const { from, action } = joins[i]
      const upstream = joins.slice(0, i).reverse().find((s) => s.action.to === from)?.from
      const tried = joins.slice(0, i).filter((s) => s.from === from).map((s) => s.action.to)
      const candidates = before[from].filter((e) => e.peer !== upstream && e.peer !== 0 && e.peer !== from && !tried.includes(e.peer))
      const best = Math.min(...candidates.map((e) => d(e.loc)))
      assert.ok(candidates.some((e) => e.peer === action.to && d(e.loc) === best), `hop ${i}: ${from} -> ${action.to as number} is not its closest entry`)
    }
    // Route nodes off the walk learnt the newcomer only through the join.
    assert.ok(route.some((n) => !walk.has(n)))
    for (const n of route) assert.ok([...h.tables[n].entries()].some((e) => e.peer === 0 && e.loc === loc), `route node ${n} lacks the newcomer`)
    for (let i = 1; i < 60; i++) if (!walk.has(i) && !route.includes(i)) assert.equal(h.tables[i].has(0), false)
    // The newcomer learnt every node of the route under its own location.
    const j = h.joinedOutcome
    assert.ok(j !== undefined && j.type === 'joined')
    for (const n of route) assert.ok([...h.tables[0].entries()].some((e) => e.peer === n && e.loc === h.locs[n]), `newcomer lacks route node ${n}`)
    for (const c of h.cores) assert.equal(c.activeOps, 0)
  })

  it('join: a node refuses a repeated join or a bad location without recording anything', () => {
    const h = new Harness(10, 3, undefined, { joinHtl: 3 })
    const c = h.cores[4]
    assert.deepEqual(c.join(2, { id: 5n, htl: 0, node: 0, loc: 1.5 }), [{ type: 'join-failed', id: 5n, to: 2, reason: 'invalid' }])
    assert.deepEqual(c.join(2, { id: 6n, htl: 0, node: 0, loc: Number.NaN }), [{ type: 'join-failed', id: 6n, to: 2, reason: 'invalid' }])
    assert.equal(h.tables[4].has(0), false)
    const ok = c.join(2, { id: 7n, htl: 0, node: 0, loc: 0.25 })
    assert.equal(ok[0].type, 'joined')
    assert.ok([...h.tables[4].entries()].some((e) => e.peer === 0 && e.loc === 0.25))
    assert.deepEqual(c.join(3, { id: 7n, htl: 0, node: 0, loc: 0.25 }), [{ type: 'join-failed', id: 7n, to: 3, reason: 'loop' }])
    // Answers from anyone but the peer the join went to are ignored.
    assert.deepEqual(c.joined(7n, 9, [{ peer: 8, loc: 0.3 }]), [])
    assert.equal(c.activeOps, 0)
  })

  it('rejoin: a restarted node routes a join toward its kept location, with no new walk and no new key', () => {
    const joinHtl = 5
    const h = new Harness(40, 5, undefined, { joinHtl })
    const kept = 0.6180339887
    // After a restart the node knows only the neighbour it reconnected to.
    h.tables[0].add(h.locs[7], 7)
    h.run(h.cores[0].rejoin(31n, kept))
    assert.equal(h.sent.filter((s) => s.action.type === 'announce').length, 0, 'no announcement walk')
    const refused = new Set(h.sent.filter((s) => s.action.type === 'join-failed').map((s) => s.from))
    const route = h.sent.filter((s) => s.action.type === 'join').map((s) => s.action.to as number).filter((n) => !refused.has(n))
    assert.equal(route[0], 7, 'the join starts at the only neighbour')
    assert.equal(route.length, joinHtl)
    for (const n of route) assert.ok([...h.tables[n].entries()].some((e) => e.peer === 0 && e.loc === kept), `route node ${n} lacks the node under its kept location`)
    const j = h.joinedOutcome
    assert.ok(j !== undefined && j.type === 'joined' && j.refs.length >= route.length)
    for (const n of route) assert.ok(h.tables[0].has(n), `the node did not learn route node ${n}`)
    for (const c of h.cores) assert.equal(c.activeOps, 0)
    // A bad location or a join switched off does nothing.
    assert.deepEqual(h.cores[0].rejoin(32n, Number.NaN), [])
    assert.deepEqual(h.cores[0].rejoin(33n, 1), [])
    assert.deepEqual(new Harness(5, 2, undefined, { joinHtl: 0 }).cores[0].rejoin(34n, 0.5), [])
  })

  it('verifySeeds points at the first dishonest seed', () => {
    const seeds = [1, 2, 3].map((v) => new Uint8Array(32).fill(v))
    const commitments = seeds.map(commitmentOf)
    assert.equal(verifySeeds(commitments, seeds), -1)
    assert.equal(verifySeeds(commitments, [seeds[0], seeds[2], seeds[2]]), 1)
    assert.equal(verifySeeds(commitments, seeds.slice(0, 2)), 2)
  })

  it('rejects a looping announcement and walks on elsewhere', () => {
    const h = new Harness(6, 4)
    h.run(h.cores[0].start(13n, 1, 20))
    // Five other nodes: the walk cannot take 20 hops, it ends early but still succeeds.
    assert.equal(h.outcome?.type, 'result')
    assert.ok(h.sent.some((s) => s.action.type === 'failed' && s.action.reason === 'loop'))
    assert.equal(h.visited.size, 5)
  })
})

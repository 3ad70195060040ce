/**
 * An independent, dependency-free model of the 2001 paper's convergence experiment (Fig. 2),
 * written from section 3 and 5.1 of the paper only, to compare with the simulator driving the
 * real core (docs/simulation.md, "Why `paper` did not reproduce Fig. 2").
 *
 *   npx node dist/bench/sim-minimal.js [seed] [timesteps] [json switches]
 *
 * Switches (defaults follow the `paper` profile's readings):
 *   loops:        'cost'  a rejected (looping) message counts one hop and one HTL
 *                 'free'  it counts one hop, no HTL
 *   seen:         'time'  a node rejects an ID it ever saw; 'path': a node that backtracks forgets it
 *   resetProb:    data-source reset probability (0.1)
 *   insertBacktrack: an insert's dead end backtracks like a request's (false)
 *   htl:          'budget' a child returns the HTL it did not spend and its parent spends that on its
 *                          next candidate (Request.Continue, paper 4.2; the core's semantics)
 *                 'depth'  HTL limits the depth only: every candidate gets the node's HTL - 1
 *                          again; a branch whose HTL runs out ends the request (DataNotFound)
 *                 'depth-bt' like depth, but a branch whose HTL runs out backtracks
 *   tableSize / storeSize / nodes
 *   storeTouchOnHit: a store hit refreshes the item's LRU place (true, like the simulator)
 *   lruAddOnly:    routing entries are refreshed only when (re)added (true)
 */
interface Switches {
  htl: 'budget' | 'depth' | 'depth-bt'
  loops: 'cost' | 'free'
  seen: 'time' | 'path'
  resetProb: number
  insertBacktrack: boolean
  nodes: number
  tableSize: number
  storeSize: number
  storeTouchOnHit: boolean
}

const DEFAULTS: Switches = {
  htl: 'budget',
  loops: 'cost',
  seen: 'time',
  resetProb: 0.1,
  insertBacktrack: false,
  nodes: 1000,
  tableSize: 250,
  storeSize: 50,
  storeTouchOnHit: true
}

/** mulberry32: small, fast, seeded. */
function rng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const dist = (a: number, b: number): number => {
  const d = Math.abs(a - b)
  return d < 0.5 ? d : 1 - d
}

class Node {
  readonly tKey: Float64Array
  readonly tPeer: Int32Array
  readonly tStamp: Float64Array
  tCount = 0
  readonly store = new Map<number, number>() // key -> stamp
  readonly seen = new Set<number>()

  constructor (readonly id: number, tableSize: number) {
    this.tKey = new Float64Array(tableSize)
    this.tPeer = new Int32Array(tableSize)
    this.tStamp = new Float64Array(tableSize)
  }
}

type Res =
  | { t: 'found', source: number, hops: number }
  | { t: 'dnf', hops: number }
  | { t: 'rnf', remaining: number, hops: number }
  | { t: 'loop' }
  | { t: 'clear', hops: number, path: number[] }

export class MinimalModel {
  readonly s: Switches
  readonly rnd: () => number
  readonly nodes: Node[] = []
  readonly keys: number[] = []
  clock = 0
  learning = true
  nextId = 1

  constructor (seed: number, s: Partial<Switches> = {}) {
    this.s = { ...DEFAULTS, ...s }
    this.rnd = rng(seed)
    const n = this.s.nodes
    const loc: number[] = []
    for (let i = 0; i < n; i++) {
      this.nodes.push(new Node(i, this.s.tableSize))
      loc.push(this.rnd())
    }
    for (let i = 0; i < n; i++) {
      for (const d of [1, 2, -1, -2]) {
        const j = (i + d + n) % n
        this.addRoute(this.nodes[i], loc[j], j)
      }
    }
  }

  addRoute (node: Node, key: number, peer: number): void {
    if (!this.learning || peer === node.id) return
    const t = ++this.clock
    for (let i = 0; i < node.tCount; i++) {
      if (node.tKey[i] === key) {
        node.tPeer[i] = peer
        node.tStamp[i] = t
        return
      }
    }
    let slot = node.tCount
    if (slot < node.tKey.length) {
      node.tCount++
    } else {
      slot = 0
      for (let i = 1; i < node.tCount; i++) if (node.tStamp[i] < node.tStamp[slot]) slot = i
    }
    node.tKey[slot] = key
    node.tPeer[slot] = peer
    node.tStamp[slot] = t
  }

  storeAt (node: Node, key: number): void {
    if (!this.learning) return
    const t = ++this.clock
    if (!node.store.has(key) && node.store.size >= this.s.storeSize) {
      let oldK = -1
      let oldT = Infinity
      for (const [k, st] of node.store) if (st < oldT) { oldT = st; oldK = k }
      node.store.delete(oldK)
    }
    node.store.set(key, t)
  }

  closest (node: Node, key: number, skip: Set<number>): number {
    let best = -1
    let bestD = Infinity
    for (let i = 0; i < node.tCount; i++) {
      const d = dist(node.tKey[i], key)
      if (d < bestD && !skip.has(node.tPeer[i])) {
        bestD = d
        best = i
      }
    }
    return best < 0 ? -1 : node.tPeer[best]
  }

  /** A request arrives at `at` from `from` (-1: own client) with `htl` hops left beyond `at`. */
  request (at: number, from: number, key: number, htl: number, id: number): Res {
    const node = this.nodes[at]
    if (node.seen.has(id)) return { t: 'loop' }
    node.seen.add(id)
    if (node.store.has(key)) {
      if (this.s.storeTouchOnHit && this.learning) node.store.set(key, ++this.clock)
      return { t: 'found', source: at, hops: 0 }
    }
    let budget = htl
    let hops = 0
    const skip = new Set<number>([at, from])
    for (;;) {
      if (budget <= 0) return this.s.htl === 'depth-bt' ? { t: 'rnf', remaining: 0, hops } : { t: 'dnf', hops }
      const next = this.closest(node, key, skip)
      if (next < 0) {
        if (this.s.seen === 'path') node.seen.delete(id)
        return { t: 'rnf', remaining: budget, hops }
      }
      skip.add(next)
      const r = this.request(next, at, key, budget - 1, id)
      switch (r.t) {
        case 'found': {
          this.addRoute(node, key, r.source)
          this.storeAt(node, key)
          const source = from >= 0 && this.rnd() < this.s.resetProb ? at : r.source
          return { t: 'found', source, hops: hops + 1 + r.hops }
        }
        case 'dnf':
          return { t: 'dnf', hops: hops + 1 + r.hops }
        case 'rnf':
        case 'loop':
          ({ hops, budget } = this.backtrack(r, hops, budget))
          break
        default:
          throw new Error('unexpected reply to a request')
      }
    }
  }

  /** A child answered "no route" or "loop": the hops it cost and the HTL left to try the next one with. */
  private backtrack (r: { t: 'rnf', remaining: number, hops: number } | { t: 'loop' }, hops: number, budget: number): { hops: number, budget: number } {
    if (r.t === 'rnf') return { hops: hops + 1 + r.hops, budget: this.s.htl === 'budget' ? r.remaining : budget }
    return { hops: hops + 1, budget: this.s.loops === 'cost' && this.s.htl === 'budget' ? budget - 1 : budget }
  }

  /**
   * An insert arrives at `at`: route like a request; the path ends where HTL runs out or (without
   * insertBacktrack) at a dead end. Returns the path below `at` (for the data phase).
   */
  insert (at: number, from: number, key: number, htl: number, id: number, source: number): Res {
    const node = this.nodes[at]
    if (node.seen.has(id)) return { t: 'loop' }
    node.seen.add(id)
    if (node.store.has(key)) return { t: 'found', source: at, hops: 0 }
    const srcOut = from < 0 || this.rnd() < this.s.resetProb ? at : source
    let budget = htl
    let hops = 0
    const skip = new Set<number>([at, from])
    for (;;) {
      if (budget <= 0) return this.settleInsert(node, key, source, [], hops)
      const next = this.closest(node, key, skip)
      if (next < 0) {
        if (this.s.insertBacktrack && from >= 0) {
          if (this.s.seen === 'path') node.seen.delete(id)
          return { t: 'rnf', remaining: budget, hops }
        }
        return this.settleInsert(node, key, source, [], hops)
      }
      skip.add(next)
      const r = this.insert(next, at, key, budget - 1, id, srcOut)
      switch (r.t) {
        case 'found':
          return { t: 'found', source: r.source, hops: hops + 1 + r.hops }
        case 'clear':
          return this.settleInsert(node, key, source, r.path, hops + 1 + r.hops)
        case 'rnf':
        case 'loop':
          ({ hops, budget } = this.backtrack(r, hops, budget))
          break
        default:
          throw new Error('unexpected reply to an insert')
      }
    }
  }

  /** All-clear reached this node: it stores the data and points the key at the source. */
  private settleInsert (node: Node, key: number, source: number, below: number[], hops: number): Res {
    this.storeAt(node, key)
    this.addRoute(node, key, source)
    return { t: 'clear', hops, path: [node.id, ...below] }
  }

  step (): void {
    const origin = Math.floor(this.rnd() * this.nodes.length)
    const id = this.nextId++
    if (this.keys.length === 0 || this.rnd() < 0.5) {
      const key = this.rnd()
      this.keys.push(key)
      this.insert(origin, -1, key, 20, id, origin)
    } else {
      this.request(origin, -1, this.keys[Math.floor(this.rnd() * this.keys.length)], 20, id)
    }
  }

  probe (n: number): { q1: number, median: number, q3: number, success: number } {
    this.learning = false
    const lengths: number[] = []
    let ok = 0
    for (let i = 0; i < n; i++) {
      const key = this.keys[Math.floor(this.rnd() * this.keys.length)]
      const r = this.request(Math.floor(this.rnd() * this.nodes.length), -1, key, 500, this.nextId++)
      if (r.t === 'found') ok++
      lengths.push(r.t === 'found' ? r.hops : 500)
    }
    this.learning = true
    lengths.sort((a, b) => a - b)
    const q = (p: number): number => {
      const x = p * (lengths.length - 1)
      const lo = Math.floor(x)
      return lengths[lo] + (lengths[Math.min(lo + 1, lengths.length - 1)] - lengths[lo]) * (x - lo)
    }
    return { q1: q(0.25), median: q(0.5), q3: q(0.75), success: ok / n }
  }
}

/** Fig. 2's timesteps: quartiles averaged over trials, as the paper does. */
const PAPER_T = [100, 500, 1000, 2000, 5000]

if (process.argv[1]?.endsWith('sim-minimal.js')) {
  const trials = Number(process.argv[2] ?? 10)
  const steps = Number(process.argv[3] ?? 5000)
  const s = JSON.parse(process.argv[4] ?? '{}') as Partial<Switches>
  const t0 = performance.now()
  const sums = new Map<number, { q1: number, median: number, q3: number, success: number }>()
  const finals: number[] = []
  for (let seed = 1; seed <= trials; seed++) {
    const m = new MinimalModel(seed, s)
    for (let t = 1; t <= steps; t++) {
      m.step()
      if (PAPER_T.includes(t) || t === steps) {
        const p = m.probe(300)
        const acc = sums.get(t) ?? { q1: 0, median: 0, q3: 0, success: 0 }
        acc.q1 += p.q1 / trials
        acc.median += p.median / trials
        acc.q3 += p.q3 / trials
        acc.success += p.success / trials
        sums.set(t, acc)
        if (t === steps) finals.push(p.median)
      }
    }
  }
  console.log(`switches ${JSON.stringify({ ...DEFAULTS, ...s })}, ${trials} trials, ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  for (const [t, a] of sums) console.log(`t=${t} q1/median/q3 ${a.q1.toFixed(1)} / ${a.median.toFixed(1)} / ${a.q3.toFixed(1)} success ${(100 * a.success).toFixed(1)} %`)
  console.log(`final medians per trial: ${finals.join(', ')}`)
}

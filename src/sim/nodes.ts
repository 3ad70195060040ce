/**
 * The simulated nodes (src/sim/network.ts adds the messages between them): each node's real
 * routing core, store policy and announcement core, which nodes are alive and where they are,
 * and which keys live stores hold. Nodes are integer indices.
 */
import { RoutingKey } from '../keys/routing-key.js'
import { AnnounceCore, ANNOUNCE_SEED_BYTES } from '../routing/announce.js'
import type { AnnounceOptions } from '../routing/announce-options.js'
import { NodeCore, type NodeCoreOptions, type StoreView } from '../routing/node-core.js'
import { seededRng, type Rng } from '../routing/random.js'
import { StorePolicy } from '../store/store-policy.js'
import { DEFAULT_SIM_CONFIG, SIM_CORE_OVERRIDES, type SimConfig } from './config.js'

/** Shared by every simulated core: whether operations may change durable state. */
interface SimContext {
  learning: boolean
}

/** The real core; every routing-table change it makes is gated by the simulator's measuring mode. */
class SimCore extends NodeCore<number> {
  private readonly ctx: SimContext

  constructor (init: ConstructorParameters<typeof NodeCore<number>>[0], ctx: SimContext) {
    super(init)
    this.ctx = ctx
  }

  override addRoute (loc: number, peer: number, pinned = false, via?: number): void {
    if (this.ctx.learning) super.addRoute(loc, peer, pinned, via)
  }

  override removePeer (peer: number): void {
    if (this.ctx.learning) super.removePeer(peer)
  }

  override forgetUnreachable (peer: number): void {
    if (this.ctx.learning) super.forgetUnreachable(peer)
  }

  override refreshPeer (peer: number): void {
    if (this.ctx.learning) super.refreshPeer(peer)
  }
}

/** A node's store: the real store policy counting items (size 1 each). */
class SimStore implements StoreView {
  readonly policy: StorePolicy

  /** `location`: the node's routing location (its announcement core reads it too: one closure per node). */
  constructor (capacity: number, accessWeightMs: number, now: () => number, keepFraction: number, readonly location: () => number) {
    this.policy = new StorePolicy({ capacityBytes: capacity, accessWeightMs, now, keepFraction, location })
  }

  has (key: RoutingKey): boolean {
    return this.policy.has(key.hex)
  }
}

export class SimNodes {
  readonly config: SimConfig
  readonly coreOptions: Readonly<NodeCoreOptions>
  readonly announceOptions: Readonly<AnnounceOptions>
  readonly storeKeep: number
  readonly rng: Rng
  /** Virtual time. */
  time = 0
  protected readonly ctx: SimContext = { learning: true }
  protected readonly cores: Array<SimCore | undefined> = []
  protected readonly stores: Array<SimStore | undefined> = []
  protected readonly announcers: Array<AnnounceCore<number> | undefined> = []
  protected alive = new Uint8Array(1024)
  protected locs = new Float64Array(1024)
  private aliveCount = 0
  /** Logical clock of the stores: strictly increasing, so LRU order has no ties. */
  private storeClock = 0
  private readonly storeNow = (): number => ++this.storeClock
  protected readonly now = (): number => this.time
  /** Announcement seeds from the one PRNG (shared by every announcement core). */
  private readonly randomSeed = (): Uint8Array => fillRandom(new Uint8Array(ANNOUNCE_SEED_BYTES), this.rng)
  /** Every key ever stored, and how many live stores hold each. */
  private readonly keyIndex = new Map<string, number>()
  private copies = new Int32Array(1024)
  private keyPool = new Uint8Array(0)
  private keyPoolOff = 0

  constructor (config: Partial<SimConfig> = {}) {
    this.config = { ...DEFAULT_SIM_CONFIG, ...config }
    // Frozen: every core shares one merged copy of each (src/routing/shared-options.ts).
    this.coreOptions = Object.freeze({ ...this.config.profile.core, ...SIM_CORE_OVERRIDES, ...this.config.core })
    this.announceOptions = Object.freeze({ ...this.config.profile.announce, maxHtl: this.config.announceMaxHtl, seenCacheSize: 4, ...this.config.announce })
    this.storeKeep = this.config.storeKeep ?? this.config.profile.store.keepFraction
    this.rng = seededRng(this.config.seed)
  }

  /** Nodes ever created (live and removed). */
  get size (): number {
    return this.cores.length
  }

  get liveCount (): number {
    return this.aliveCount
  }

  /** Whether operations change state (false while probing). */
  get learning (): boolean {
    return this.ctx.learning
  }

  set learning (on: boolean) {
    this.ctx.learning = on
  }

  isAlive (i: number): boolean {
    return i >= 0 && i < this.cores.length && this.alive[i] === 1
  }

  /** The routing location of node `i` (NaN until its announcement completes). */
  locationOf (i: number): number {
    return this.locs[i]
  }

  core (i: number): NodeCore<number> {
    const c = this.cores[i]
    if (c === undefined) throw new Error(`node ${i} is not alive`)
    return c
  }

  storeOf (i: number): StorePolicy {
    const s = this.stores[i]
    if (s === undefined) throw new Error(`node ${i} is not alive`)
    return s.policy
  }

  /** Create a node with routing location `loc` (NaN: to be assigned by announcement). */
  addNode (loc = NaN): number {
    const i = this.cores.length
    if (i >= this.alive.length) {
      this.alive = grow(this.alive, this.alive.length * 2)
      this.locs = grow(this.locs, this.locs.length * 2)
    }
    this.cores.push(new SimCore({
      self: i,
      store: (this.stores[i] = new SimStore(this.config.storeCapacity, this.config.storeAccessWeight, this.storeNow, this.storeKeep, () => this.locs[i])),
      rng: this.rng,
      now: this.now,
      options: this.coreOptions,
      intPeers: true
    }, this.ctx))
    this.announcers.push(undefined)
    this.alive[i] = 1
    this.locs[i] = loc
    this.aliveCount++
    return i
  }

  /** The node fails: it vanishes with its store; peers find out when they try to reach it. */
  removeNode (i: number): void {
    if (!this.isAlive(i)) return
    for (const [hex] of this.storeOf(i)) this.copies[this.keyIndex.get(hex) as number]--
    this.alive[i] = 0
    this.cores[i] = undefined
    this.stores[i] = undefined
    this.announcers[i] = undefined
    this.aliveCount--
  }

  /**
   * The paper's starting network: `n` nodes whose keys are hashes of their IDs, each with
   * routing entries for its `k` nearest neighbours on either side of a ring.
   */
  ringLattice (n: number, k = 2): number[] {
    const ids: number[] = []
    for (let j = 0; j < n; j++) ids.push(this.addNode(nodeIdKey(this.size).loc))
    for (let j = 0; j < n; j++) {
      for (let d = 1; d <= k; d++) {
        for (const m of [(j + d) % n, (j - d + n) % n]) {
          if (m !== j) this.cores[ids[j]]?.addRoute(this.locs[ids[m]], ids[m])
        }
      }
    }
    return ids
  }

  /** A uniformly random live node. */
  randomLiveNode (): number {
    if (this.aliveCount === 0) throw new Error('no live nodes')
    for (;;) {
      const i = Math.floor(this.rng() * this.cores.length)
      if (this.alive[i] === 1) return i
    }
  }

  /** A fresh random 256-bit key. */
  randomKey (): RoutingKey {
    if (this.keyPoolOff + 32 > this.keyPool.length) {
      this.keyPool = new Uint8Array(32 * 1024)
      this.keyPoolOff = 0
    }
    const bytes = this.keyPool.subarray(this.keyPoolOff, this.keyPoolOff + 32)
    this.keyPoolOff += 32
    fillRandom(bytes, this.rng)
    return new RoutingKey(bytes)
  }

  /** Live stores holding `key`. */
  copiesOf (key: RoutingKey): number {
    const k = this.keyIndex.get(key.hex)
    return k === undefined ? 0 : this.copies[k]
  }

  /** Live nodes' undirected link graph: each routing entry to a live peer is a link. */
  neighbours (): Array<Set<number>> {
    const adj: Array<Set<number>> = Array.from({ length: this.cores.length }, () => new Set<number>())
    for (let i = 0; i < this.cores.length; i++) {
      const c = this.cores[i]
      if (c === undefined) continue
      for (const p of c.table.peerSet()) {
        if (p !== i && this.alive[p] === 1) {
          adj[i].add(p)
          adj[p].add(i)
        }
      }
    }
    return adj
  }

  /** Size of the largest connected component of the live link graph. */
  largestComponent (): number {
    const parent = new Int32Array(this.cores.length).map((_, i) => i)
    const find = (x: number): number => {
      while (parent[x] !== x) {
        parent[x] = parent[parent[x]]
        x = parent[x]
      }
      return x
    }
    for (let i = 0; i < this.cores.length; i++) {
      const c = this.cores[i]
      if (c === undefined) continue
      for (const p of c.table.peerSet()) {
        if (this.alive[p] === 1) parent[find(i)] = find(p)
      }
    }
    const sizes = new Map<number, number>()
    let best = 0
    for (let i = 0; i < this.cores.length; i++) {
      if (this.alive[i] !== 1) continue
      const r = find(i)
      const s = (sizes.get(r) ?? 0) + 1
      sizes.set(r, s)
      if (s > best) best = s
    }
    return best
  }

  protected announcer (i: number): AnnounceCore<number> {
    let a = this.announcers[i]
    if (a === undefined) {
      const core = this.core(i)
      a = new AnnounceCore<number>({
        self: i,
        table: core.table,
        addRoute: (loc, peer, via) => { core.addRoute(loc, peer, false, via) },
        rng: this.rng,
        now: this.now,
        location: (this.stores[i] as SimStore).location,
        randomSeed: this.randomSeed,
        options: this.announceOptions
      })
      this.announcers[i] = a
    }
    return a
  }

  /** Node `at` stores `key` (a `store` action), keeping count of the live stores that hold each key. */
  protected storeAt (at: number, key: RoutingKey): void {
    const store = this.stores[at]
    if (store === undefined) return
    const hex = key.hex
    const p = store.policy
    if (p.has(hex)) {
      p.touch(hex)
      return
    }
    for (const v of p.planInsert(hex, 1)) {
      p.remove(v)
      this.copies[this.keyIndex.get(v) as number]--
    }
    p.commitInsert(hex, 1)
    let k = this.keyIndex.get(hex)
    if (k === undefined) {
      k = this.keyIndex.size
      this.keyIndex.set(hex, k)
      if (k >= this.copies.length) this.copies = grow(this.copies, this.copies.length * 2)
    }
    this.copies[k]++
  }
}

/** The key of a simulated node's ID (the paper's "hash of the node's address"). */
export function nodeIdKey (i: number): RoutingKey {
  return RoutingKey.hash(new TextEncoder().encode(`warren-sim-node-${i}`))
}

/** Fill `bytes` from `rng`, 32 bits per draw. */
export function fillRandom (bytes: Uint8Array, rng: Rng): Uint8Array {
  for (let i = 0; i < bytes.length; i += 4) {
    const v = Math.floor(rng() * 4294967296)
    bytes[i] = v >>> 24
    if (i + 1 < bytes.length) bytes[i + 1] = (v >>> 16) & 0xff
    if (i + 2 < bytes.length) bytes[i + 2] = (v >>> 8) & 0xff
    if (i + 3 < bytes.length) bytes[i + 3] = v & 0xff
  }
  return bytes
}

function grow<T extends Uint8Array | Float64Array | Int32Array> (a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(n)
  b.set(a)
  return b
}

/**
 * A deterministic discrete-event simulation of a warren network, driving the real routing
 * core (src/routing/node-core.ts) and announcement core (src/routing/announce.ts).
 *
 * Nodes are integer indices. Every message between nodes is an event delivered after
 * `latency` units of virtual time; the simulator executes the cores' actions exactly as the
 * libp2p driver does: `forward` becomes a `receive` at the target (or an immediate
 * `failed/unreachable` response if the target was removed), `reply` becomes a `response`
 * (or `dataStored`) at the upstream node, `store` writes the block into the node's store,
 * `send-data` delivers `insertData` to the child. One seeded PRNG feeds every choice (the
 * workload's and every core's), so a run is a pure function of its seed.
 *
 * Measurement without side effects: while `learning` is false (probe requests), nodes
 * neither learn routes, nor drop peers, nor store or refresh blocks, so a probe observes the
 * network as a snapshot would. Only transient state (loop-detection IDs) and the PRNG
 * stream advance.
 */
import { RoutingKey } from '../keys/routing-key.js'
import { AnnounceCore, ANNOUNCE_SEED_BYTES } from '../routing/announce.js'
import type { AnnounceAction, AnnounceFailure, WalkRef } from '../routing/announce-messages.js'
import type { AnnounceOptions } from '../routing/announce-options.js'
import { NodeCore, type Action, type IncomingMessage, type NodeCoreOptions, type Reply, type Response, type StoreView } from '../routing/node-core.js'
import { randomId, seededRng, type Rng } from '../routing/random.js'
import { paperProfile, type RoutingProfile } from '../routing/profiles.js'
import { StorePolicy } from '../store/store-policy.js'
import { EventQueue, type SimEvent } from './event-queue.js'

/**
 * What the simulator's driver does differently from the libp2p driver, on top of any routing
 * profile (src/routing/profiles.ts): the parts of the node that live in wall-clock time or
 * would blur the paper's plain hop counts (docs/simulation.md, "Profiles").
 */
export const SIM_CORE_OVERRIDES: Partial<NodeCoreOptions> = {
  // Probes use HTL 500: no node may curtail it.
  maxHtl: 500,
  // The paper counts plain hops; Freenet's randomised HTL ends would blur "HTL 20" and "500".
  probabilisticHtl: false,
  // Virtual time has no timeouts: a message is answered or fails as unreachable.
  hopTimeoutMs: null,
  // Not part of the 2001 model; its TTL is wall-clock time, which virtual time does not model.
  failureTableSize: 0,
  // Operations run one at a time, each with a fresh ID: a short memory suffices.
  seenCacheSize: 4,
  // Every reference in the simulator names a real node, and there are no connections to make:
  // verification would only delay each route by nothing.
  verifiedRoutesOnly: false
}

export interface SimConfig {
  seed: number
  /** Items per node store (the paper: 50). */
  storeCapacity: number
  /** Store policy access weight (0: plain LRU, as in the paper). */
  storeAccessWeight: number
  /** Share of each store kept for the keys nearest the node's location (default: the profile's keepFraction). */
  storeKeep?: number
  /** Virtual time per message. */
  latency: number
  /** The routing profile every node runs (src/routing/profiles.ts). */
  profile: RoutingProfile
  /** Core options on top of the profile's and SIM_CORE_OVERRIDES. */
  core: Partial<NodeCoreOptions>
  /** Announcement HTL cap. */
  announceMaxHtl: number
  /** Announcement core options on top of the profile's (e.g. `shareWalk`). */
  announce: Partial<AnnounceOptions>
}

export const DEFAULT_SIM_CONFIG: SimConfig = {
  seed: 1,
  storeCapacity: 50,
  storeAccessWeight: 0,
  latency: 1,
  // The library's default is the paper's model (tests and bench scripts reproduce the paper);
  // the `warren sim` commands default to `network` (src/sim/cli.ts).
  profile: paperProfile,
  core: {},
  announceMaxHtl: 20,
  announce: {}
}

export interface OpResult {
  kind: 'request' | 'insert'
  /** Request: data found. Insert: data stored (no collision). */
  success: boolean
  /** Hops actually taken (messages between nodes, counting backtracking). */
  hops: number
  outcome: 'found' | 'not-found' | 'route-not-found' | 'loop' | 'stored' | 'collision'
}

export interface AnnounceResult {
  success: boolean
  /** Location agreed for the newcomer, NaN on failure. */
  loc: number
  /** Participants after the newcomer (nodes that added it). */
  pathLength: number
  failure?: AnnounceFailure
}

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

const enum Ev { Receive, Response, Data, Stored, Announce, Commit, Reveal, Result, AnnounceFailed, Join, Joined, JoinFailed }

interface NetEvent extends SimEvent {
  type: Ev
  at: number
  /** Sender; -1 for the node's own client. */
  from: number
  id: bigint
  msg?: IncomingMessage<number>
  res?: Response<number>
  stored?: number
  htl?: number
  node?: number
  list?: Uint8Array[]
  key?: RoutingKey
  reason?: AnnounceFailure
  refs?: Array<WalkRef<number>>
  loc?: number
}

interface LocalOp {
  kind: 'request' | 'insert' | 'announce'
  origin: number
  result?: OpResult
  announce?: AnnounceResult
  hops: number
}

const UNREACHABLE: Response<number> = { type: 'failed', reason: 'unreachable' }

/**
 * Sees every request, insert and answer as it is delivered (src/sim/anonymity.ts records what
 * adversary nodes see). `from` null: the node's own client. Undelivered (unreachable) answers
 * are not shown: no message travelled.
 */
export interface SimObserver {
  receive: (at: number, from: number | null, msg: IncomingMessage<number>, time: number) => void
  response: (at: number, from: number, id: bigint, res: Response<number>, time: number) => void
}

export class Simulator {
  readonly config: SimConfig
  readonly coreOptions: Readonly<NodeCoreOptions>
  readonly announceOptions: Readonly<AnnounceOptions>
  readonly storeKeep: number
  readonly rng: Rng
  /** Virtual time. */
  time = 0
  /** Messages sent between nodes, over the whole run. */
  messages = 0
  /** Optional tap on delivered requests, inserts and answers. */
  observer?: SimObserver
  private readonly ctx: SimContext = { learning: true }
  private readonly queue = new EventQueue<NetEvent>()
  private readonly cores: Array<SimCore | undefined> = []
  private readonly stores: Array<SimStore | undefined> = []
  private readonly announcers: Array<AnnounceCore<number> | undefined> = []
  private alive = new Uint8Array(1024)
  private locs = new Float64Array(1024)
  private aliveCount = 0
  private readonly locals = new Map<bigint, LocalOp>()
  /** Logical clock of the stores: strictly increasing, so LRU order has no ties. */
  private storeClock = 0
  private readonly storeNow = (): number => ++this.storeClock
  private readonly now = (): number => this.time
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

  /** Send a request for `key` from node `origin`'s own client and run it to completion. */
  request (origin: number, key: RoutingKey, htl: number): OpResult {
    return this.runLocal(origin, { kind: 'request', id: randomId(this.rng), key, htl }) as OpResult
  }

  /** Insert `key` from node `origin`'s own client (route, then data phase) and run it to completion. */
  insert (origin: number, key: RoutingKey, htl: number): OpResult {
    return this.runLocal(origin, { kind: 'insert', id: randomId(this.rng), key, htl }) as OpResult
  }

  /**
   * Node `newcomer` announces itself through `bootstrap` with hops-to-live `htl`. It knows
   * the bootstrap node out of band (a routing entry under the bootstrap's location); on
   * success it takes the agreed location and every node on the walk has a route to it.
   */
  announce (newcomer: number, bootstrap: number, htl: number): AnnounceResult {
    const core = this.core(newcomer)
    if (!Number.isNaN(this.locs[bootstrap])) core.addRoute(this.locs[bootstrap], bootstrap)
    const id = randomId(this.rng)
    const local: LocalOp = { kind: 'announce', origin: newcomer, hops: 0 }
    this.locals.set(id, local)
    this.execAnnounce(newcomer, this.announcer(newcomer).start(id, bootstrap, htl))
    this.run()
    this.locals.delete(id)
    return local.announce ?? { success: false, loc: NaN, pathLength: 0, failure: 'error' }
  }

  /**
   * Node `i` routes a join toward its own location again (AnnounceCore.rejoin): the nodes now
   * living near it add it, and their references near it come back as its routes. False when
   * it has no location yet or joins are off.
   */
  rejoin (i: number): boolean {
    if (!this.isAlive(i) || Number.isNaN(this.locs[i])) return false
    const actions = this.announcer(i).rejoin(randomId(this.rng), this.locs[i])
    if (actions.length === 0) return false
    this.execAnnounce(i, actions)
    this.run()
    return true
  }

  /** Deliver events until the queue is empty. */
  run (): void {
    for (let e = this.queue.pop(); e !== undefined; e = this.queue.pop()) {
      this.time = e.t
      this.dispatch(e)
    }
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

  /** Operations and announcements still holding state in some core (0 between operations). */
  pendingOps (): number {
    let n = 0
    for (const c of this.cores) if (c !== undefined) n += c.activeOps
    for (const a of this.announcers) if (a !== undefined) n += a.activeOps
    return n + this.queue.size
  }

  private runLocal (origin: number, msg: IncomingMessage<number>): OpResult | undefined {
    if (!this.isAlive(origin)) throw new Error(`node ${origin} is not alive`)
    const local: LocalOp = { kind: msg.kind, origin, hops: 0 }
    this.locals.set(msg.id, local)
    this.push(0, { type: Ev.Receive, at: origin, from: -1, id: msg.id, msg })
    this.run()
    this.locals.delete(msg.id)
    return local.result
  }

  private announcer (i: number): AnnounceCore<number> {
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

  private push (delay: number, e: Omit<NetEvent, 't' | 'seq'>): void {
    const ev = e as NetEvent
    ev.t = this.time + delay
    this.queue.push(ev)
  }

  private dispatch (e: NetEvent): void {
    const at = e.at
    if (e.type >= Ev.Announce) {
      this.dispatchAnnounce(e)
      return
    }
    const core = this.cores[at]
    if (core === undefined) return
    const from = e.from < 0 ? null : e.from
    switch (e.type) {
      case Ev.Receive:
        this.observer?.receive(at, from, e.msg as IncomingMessage<number>, this.time)
        this.execCore(at, core.receive(from, e.msg as IncomingMessage<number>), (e.msg as IncomingMessage<number>).key)
        break
      case Ev.Response:
        if (this.observer !== undefined && e.res !== UNREACHABLE) this.observer.response(at, e.from, e.id, e.res as Response<number>, this.time)
        this.execCore(at, core.response(e.id, e.from, e.res as Response<number>))
        break
      case Ev.Data:
        this.execCore(at, core.insertData(e.id))
        break
      case Ev.Stored:
        this.execCore(at, core.dataStored(e.id, e.from, e.stored as number))
        break
    }
  }

  /** Execute node `at`'s actions; `key` is the key of the message just received (for store hits). */
  private execCore (at: number, actions: Array<Action<number>>, key?: RoutingKey): void {
    const lat = this.config.latency
    for (const a of actions) {
      switch (a.type) {
        case 'forward':
          if (this.alive[a.to] !== 1) {
            this.push(0, { type: Ev.Response, at, from: a.to, id: a.id, res: UNREACHABLE })
          } else {
            this.messages++
            this.push(lat, { type: Ev.Receive, at: a.to, from: at, id: a.id, msg: { kind: a.kind, id: a.id, key: a.key, htl: a.htl, source: a.source } })
          }
          break
        case 'reply': {
          const r = a.reply
          if ((r.type === 'found' || r.type === 'collision') && r.fromStore && key !== undefined && this.ctx.learning) {
            this.stores[at]?.policy.touch(key.hex)
          }
          if (a.to === null) {
            this.completeLocal(at, a.id, r)
          } else if (r.type === 'stored') {
            this.messages++
            this.push(lat, { type: Ev.Stored, at: a.to, from: at, id: a.id, stored: r.stored })
          } else {
            this.messages++
            this.push(lat, { type: Ev.Response, at: a.to, from: at, id: a.id, res: r })
          }
          break
        }
        case 'store':
          // A client-cache write (the node's own request or insert) is invisible to every
          // other node: peers' requests never read it, so it has no place in the network model.
          if (this.ctx.learning && a.client !== true) this.storeAt(at, a.key)
          break
        case 'send-data':
          if (this.alive[a.to] !== 1) {
            this.push(0, { type: Ev.Response, at, from: a.to, id: a.id, res: UNREACHABLE })
          } else {
            this.messages++
            this.push(lat, { type: Ev.Data, at: a.to, from: at, id: a.id })
          }
          break
      }
    }
  }

  private completeLocal (at: number, id: bigint, r: Reply<number>): void {
    const local = this.locals.get(id)
    if (local === undefined || local.origin !== at) return
    if (r.type === 'all-clear') {
      // The client got the go-ahead and sends the data to its own node.
      local.hops = r.hops
      this.push(0, { type: Ev.Data, at, from: -1, id })
      return
    }
    const { outcome, success } = replyOutcome(r)
    const hops = r.type === 'stored' ? local.hops : 'hops' in r ? r.hops : 0
    local.result = { kind: local.kind === 'insert' ? 'insert' : 'request', success, hops, outcome }
  }

  private storeAt (at: number, key: RoutingKey): void {
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

  private dispatchAnnounce (e: NetEvent): void {
    const at = e.at
    if (this.alive[at] !== 1) return
    const a = this.announcer(at)
    switch (e.type) {
      case Ev.Announce:
        this.execAnnounce(at, a.receive(e.from, { id: e.id, htl: e.htl as number, node: e.node as number, commitments: e.list as Uint8Array[], signed: true }))
        break
      case Ev.Commit:
        this.execAnnounce(at, a.commit(e.id, e.from, e.list as Uint8Array[]))
        break
      case Ev.Reveal:
        this.execAnnounce(at, a.reveal(e.id, e.from, e.list as Uint8Array[]))
        break
      case Ev.Result:
        this.execAnnounce(at, a.result(e.id, e.from, e.key as RoutingKey, e.list as Uint8Array[], e.refs))
        break
      case Ev.AnnounceFailed:
        this.execAnnounce(at, a.failed(e.id, e.from, e.reason as AnnounceFailure))
        break
      case Ev.Join:
        this.execAnnounce(at, a.join(e.from, { id: e.id, htl: e.htl as number, node: e.node as number, loc: e.loc as number }))
        break
      case Ev.Joined:
        this.execAnnounce(at, a.joined(e.id, e.from, e.refs as Array<WalkRef<number>>))
        break
      case Ev.JoinFailed:
        this.execAnnounce(at, a.joinFailed(e.id, e.from))
        break
    }
  }

  private execAnnounce (at: number, actions: Array<AnnounceAction<number>>): void {
    const lat = this.config.latency
    for (const a of actions) {
      if (a.to === null) {
        this.completeAnnounce(at, a)
        continue
      }
      if (this.alive[a.to] !== 1) {
        // Nothing reaches a removed node; the sender learns at once.
        if (a.type === 'join') this.push(0, { type: Ev.JoinFailed, at, from: a.to, id: a.id })
        else if (a.type !== 'failed' && a.type !== 'join-failed') this.push(0, { type: Ev.AnnounceFailed, at, from: a.to, id: a.id, reason: 'unreachable' })
        continue
      }
      this.messages++
      switch (a.type) {
        case 'announce':
          this.push(lat, { type: Ev.Announce, at: a.to, from: at, id: a.id, htl: a.htl, node: a.node, list: a.commitments })
          break
        case 'commit':
          this.push(lat, { type: Ev.Commit, at: a.to, from: at, id: a.id, list: a.commitments })
          break
        case 'reveal':
          this.push(lat, { type: Ev.Reveal, at: a.to, from: at, id: a.id, list: a.seeds })
          break
        case 'result':
          this.push(lat, { type: Ev.Result, at: a.to, from: at, id: a.id, key: a.key, list: a.seeds, refs: a.refs })
          break
        case 'failed':
          this.push(lat, { type: Ev.AnnounceFailed, at: a.to, from: at, id: a.id, reason: a.reason })
          break
        case 'join':
          this.push(lat, { type: Ev.Join, at: a.to, from: at, id: a.id, htl: a.htl, node: a.node, loc: a.loc })
          break
        case 'joined':
          this.push(lat, { type: Ev.Joined, at: a.to, from: at, id: a.id, refs: a.refs })
          break
        case 'join-failed':
          this.push(lat, { type: Ev.JoinFailed, at: a.to, from: at, id: a.id })
          break
      }
    }
  }

  private completeAnnounce (at: number, a: AnnounceAction<number>): void {
    const local = this.locals.get(a.id)
    if (local === undefined || local.origin !== at) return
    if (a.type === 'result') {
      this.locs[at] = a.key.loc
      local.announce = { success: true, loc: a.key.loc, pathLength: a.seeds.length - 1 }
    } else if (a.type === 'failed') {
      local.announce = { success: false, loc: NaN, pathLength: 0, failure: a.reason }
    }
  }
}

function replyOutcome (r: Reply<number>): { outcome: OpResult['outcome'], success: boolean } {
  switch (r.type) {
    case 'found': return { outcome: 'found', success: true }
    case 'stored': return { outcome: 'stored', success: true }
    case 'collision': return { outcome: 'collision', success: false }
    case 'not-found': return { outcome: 'not-found', success: false }
    case 'route-not-found': return { outcome: 'route-not-found', success: false }
    default: return { outcome: 'loop', success: false }
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

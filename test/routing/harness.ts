/**
 * A tiny deterministic, synchronous driver for `NodeCore<number>` in tests (not the
 * simulator): N cores with in-memory stores (sets of key hex), one message queue, a manual
 * clock and seeded randomness. It executes the actions the cores return the way a real
 * driver would and records every message it delivers, so tests can assert exact sequences.
 *
 * Messages take no time (but see `slow`). The queue is FIFO, except that a timeout is due at the moment the
 * sender's timer fires (send time + `timeoutMs`); delivering it moves the clock there.
 * A node in `down` is unreachable (forwards to it fail with `unreachable`); a node in
 * `silent` receives and processes messages but every reply it sends to a peer is dropped,
 * so the peer sees `timeout`; replies from a node in `slow` arrive late. Set these before
 * the operation starts.
 */
import { NodeCore, type Action, type NodeCoreOptions, type OpKind, type Reply, type Response } from '../../src/routing/node-core.js'
import { seededRng } from '../../src/routing/random.js'
import { RoutingKey } from '../../src/keys/routing-key.js'

/** Options that make routing exact and easy to follow: no HTL noise, no source reset, no deadlines. */
export const PLAIN: Partial<NodeCoreOptions> = {
  probabilisticHtl: false,
  sourceResetProb: 0,
  cacheProb: 1,
  hopTimeoutMs: null
}

/** A message the harness delivered (or tried to), in delivery order. `t` is the clock then. */
export type Delivery =
  | { type: 'forward', t: number, id: bigint, from: number | null, to: number, kind: OpKind, htl: number, source?: number, timeoutMs: number, down: boolean }
  | { type: 'reply', t: number, id: bigint, from: number, to: number | null, reply: Reply<number>, dropped: boolean }
  | { type: 'failed', t: number, id: bigint, from: number, to: number, reason: 'timeout' | 'unreachable' }
  | { type: 'send-data', t: number, id: bigint, from: number | null, to: number, down: boolean }

type Item =
  | { type: 'forward', from: number | null, to: number, id: bigint, kind: OpKind, key: RoutingKey, htl: number, source?: number, timeoutMs: number }
  | { type: 'reply', from: number, to: number | null, id: bigint, reply: Reply<number> }
  | { type: 'failed', from: number, to: number, id: bigint, reason: 'timeout' | 'unreachable' }
  | { type: 'send-data', from: number | null, to: number, id: bigint, timeoutMs: number }

interface Queued {
  at: number
  seq: number
  item: Item
}

/** A key whose location is exactly `loc` (rounded to 52 bits); `tag` tells keys at one location apart. */
export function keyAt (loc: number, tag = 0): RoutingKey {
  const v = Math.round(loc * 2 ** 52) % 2 ** 52
  const hi = Math.floor(v / 2 ** 20)
  const lo = v % 2 ** 20
  const bytes = new Uint8Array(32)
  const view = new DataView(bytes.buffer)
  view.setUint32(0, hi)
  bytes[4] = lo >>> 12
  bytes[5] = (lo >>> 4) & 0xff
  bytes[6] = (lo & 0xf) << 4
  view.setUint32(28, tag)
  return new RoutingKey(bytes)
}

/** What a response looks like to the node that receives a child's reply. */
function toResponse (r: Reply<number>): Response<number> {
  switch (r.type) {
    case 'found':
    case 'collision':
      return { type: r.type, source: r.source, hops: r.hops }
    case 'stored':
      throw new Error('a stored reply is not a routing response')
    default:
      return r
  }
}

export class Harness {
  readonly cores: Array<NodeCore<number>>
  readonly stores: Array<Set<string>>
  /** The nodes' client caches (`store` actions with `client`): the cores never read them. */
  readonly clientCaches: Array<Set<string>>
  readonly log: Delivery[] = []
  /** Replies to local clients (`to: null`), in order. */
  readonly client: Array<{ node: number, id: bigint, reply: Reply<number> }> = []
  readonly down = new Set<number>()
  readonly silent = new Set<number>()
  /** Replies sent by these nodes arrive this many ms late (a slow peer, not a dead one). */
  readonly slow = new Map<number, number>()
  /** Whether an originator's all-clear makes the client send the insert data at once. */
  autoData = true
  now = 0
  private readonly queue: Queued[] = []
  private seq = 0
  private nextId = 1n

  constructor (init: { nodes: number, seed?: number, options?: Partial<NodeCoreOptions> }) {
    const seed = init.seed ?? 1
    this.stores = Array.from({ length: init.nodes }, () => new Set<string>())
    this.clientCaches = Array.from({ length: init.nodes }, () => new Set<string>())
    this.cores = this.stores.map((store, i) => new NodeCore<number>({
      self: i,
      store: { has: (key) => store.has(key.hex) },
      rng: seededRng(seed * 1_000_003 + i),
      now: () => this.now,
      options: init.options
    }))
  }

  /** `from` thinks `to` holds keys near `loc`. */
  link (from: number, to: number, loc: number): void {
    this.cores[from].addRoute(loc, to)
  }

  /** Each node of `path` routes keys near `loc` to the next one. */
  chain (path: number[], loc: number): void {
    for (let i = 0; i + 1 < path.length; i++) this.link(path[i], path[i + 1], loc)
  }

  put (node: number, key: RoutingKey): void {
    this.stores[node].add(key.hex)
  }

  has (node: number, key: RoutingKey): boolean {
    return this.stores[node].has(key.hex)
  }

  /** The peer `node`'s routing entry at exactly `key`'s location points at, if any. */
  routeFor (node: number, key: RoutingKey): number | undefined {
    for (const e of this.cores[node].table.entries()) if (e.loc === key.loc) return e.peer
    return undefined
  }

  /** Nodes whose store holds `key`. */
  holders (key: RoutingKey): number[] {
    return this.stores.flatMap((s, i) => s.has(key.hex) ? [i] : [])
  }

  /** Queue a client operation at `origin`; returns its ID. */
  start (origin: number, kind: OpKind, key: RoutingKey, htl: number, id = this.nextId++): bigint {
    this.push({ type: 'forward', from: null, to: origin, id, kind, key, htl, timeoutMs: Infinity })
    return id
  }

  /** Queue a message from peer `from` to `to` as if `from` had forwarded it. */
  inject (from: number, to: number, msg: { id: bigint, kind: OpKind, key: RoutingKey, htl: number, source?: number }): void {
    this.push({ type: 'forward', from, to, ...msg, timeoutMs: Infinity })
  }

  /** The client at `origin` sends the data of insert `id` (after its all-clear, when `autoData` is off). */
  data (origin: number, id: bigint): void {
    this.push({ type: 'send-data', from: null, to: origin, id, timeoutMs: Infinity })
  }

  /** Run a client request to completion; returns its final reply. */
  request (origin: number, key: RoutingKey, htl: number, id?: bigint): Reply<number> {
    const replies = this.complete(this.start(origin, 'request', key, htl, id))
    return replies[replies.length - 1]
  }

  /** Run a client insert to completion; returns every reply its client got (all-clear, then stored). */
  insert (origin: number, key: RoutingKey, htl: number, id?: bigint): Array<Reply<number>> {
    return this.complete(this.start(origin, 'insert', key, htl, id))
  }

  /** Deliver the next due message; false when the queue is empty. */
  step (): boolean {
    if (this.queue.length === 0) return false
    let best = 0
    for (let i = 1; i < this.queue.length; i++) {
      const q = this.queue[i]
      const b = this.queue[best]
      if (q.at < b.at || (q.at === b.at && q.seq < b.seq)) best = i
    }
    const { at, item } = this.queue.splice(best, 1)[0]
    this.now = Math.max(this.now, at)
    this.deliver(item)
    return true
  }

  run (maxSteps = 100_000): void {
    for (let i = 0; i < maxSteps; i++) if (!this.step()) return
    throw new Error(`harness did not settle within ${maxSteps} steps`)
  }

  advance (ms: number): void {
    this.now += ms
  }

  /** Forwards of operation `id` that reached a node (what `hops` counts). */
  sent (id: bigint): number {
    return this.log.filter((d) => d.type === 'forward' && d.id === id && d.from !== null && !d.down).length
  }

  /** The log as readable lines, e.g. `a>b request htl=9`, naming nodes with `names`. */
  trace (id?: bigint, names?: string[]): string[] {
    const n = (i: number | null): string => i === null ? 'client' : (names?.[i] ?? String(i))
    return this.log.filter((d) => id === undefined || d.id === id).map((d) => {
      const head = `${n(d.from)}>${n(d.to)}`
      switch (d.type) {
        case 'forward': return `${head} ${d.kind} htl=${d.htl}${d.down ? ' (down)' : ''}`
        case 'failed': return `${head} failed ${d.reason}`
        case 'send-data': return `${head} data${d.down ? ' (down)' : ''}`
        case 'reply': {
          const r = d.reply
          let s = `${head} ${r.type}`
          if (r.type === 'found' || r.type === 'collision') s += ` source=${n(r.source)} hops=${r.hops}`
          else if (r.type === 'not-found') s += ` hops=${r.hops}`
          else if (r.type === 'route-not-found') s += ` remaining=${r.remaining} hops=${r.hops}`
          else if (r.type === 'all-clear') s += ` depth=${r.depth} remaining=${r.remaining} hops=${r.hops}`
          else if (r.type === 'stored') s += ` stored=${r.stored}`
          return s + (d.dropped ? ' (dropped)' : '')
        }
      }
    })
  }

  private complete (id: bigint): Array<Reply<number>> {
    this.run()
    return this.client.filter((c) => c.id === id).map((c) => c.reply)
  }

  private push (item: Item, at = this.now): void {
    this.queue.push({ at, seq: this.seq++, item })
  }

  /** A silent target never answers: its sender's timer fires after `timeoutMs`. */
  private armTimeout (from: number | null, to: number, id: bigint, timeoutMs: number): void {
    if (from === null || !this.silent.has(to)) return
    this.push({ type: 'failed', from: to, to: from, id, reason: 'timeout' }, Number.isFinite(timeoutMs) ? this.now + timeoutMs : this.now)
  }

  private deliver (item: Item): void {
    const t = this.now
    switch (item.type) {
      case 'forward': {
        const down = this.down.has(item.to)
        this.log.push({ type: 'forward', t, id: item.id, from: item.from, to: item.to, kind: item.kind, htl: item.htl, source: item.source, timeoutMs: item.timeoutMs, down })
        if (down && item.from !== null) {
          this.push({ type: 'failed', from: item.to, to: item.from, id: item.id, reason: 'unreachable' })
          return
        }
        this.armTimeout(item.from, item.to, item.id, item.timeoutMs)
        const msg = { kind: item.kind, id: item.id, key: item.key, htl: item.htl, source: item.source }
        this.execute(item.to, this.cores[item.to].receive(item.from, msg))
        return
      }
      case 'send-data': {
        const down = this.down.has(item.to)
        this.log.push({ type: 'send-data', t, id: item.id, from: item.from, to: item.to, down })
        if (down && item.from !== null) {
          this.push({ type: 'failed', from: item.to, to: item.from, id: item.id, reason: 'unreachable' })
          return
        }
        this.armTimeout(item.from, item.to, item.id, item.timeoutMs)
        this.execute(item.to, this.cores[item.to].insertData(item.id))
        return
      }
      case 'failed':
        this.log.push({ type: 'failed', t, id: item.id, from: item.from, to: item.to, reason: item.reason })
        this.execute(item.to, this.cores[item.to].response(item.id, item.from, { type: 'failed', reason: item.reason }))
        return
      case 'reply': {
        const { from, to, id, reply } = item
        const dropped = to !== null && this.silent.has(from)
        this.log.push({ type: 'reply', t, id, from, to, reply, dropped })
        if (dropped) return
        if (to === null) {
          this.client.push({ node: from, id, reply })
          if (reply.type === 'all-clear' && this.autoData) this.push({ type: 'send-data', from: null, to: from, id, timeoutMs: Infinity })
          return
        }
        const core = this.cores[to]
        this.execute(to, reply.type === 'stored' ? core.dataStored(id, from, reply.stored) : core.response(id, from, toResponse(reply)))
      }
    }
  }

  private execute (node: number, actions: Array<Action<number>>): void {
    for (const a of actions) {
      switch (a.type) {
        case 'forward':
          this.push({ type: 'forward', from: node, to: a.to, id: a.id, kind: a.kind, key: a.key, htl: a.htl, source: a.source, timeoutMs: a.timeoutMs })
          break
        case 'reply':
          this.push({ type: 'reply', from: node, to: a.to, id: a.id, reply: a.reply }, this.now + (this.slow.get(node) ?? 0))
          break
        case 'store':
          (a.client === true ? this.clientCaches : this.stores)[node].add(a.key.hex)
          break
        case 'send-data':
          this.push({ type: 'send-data', from: node, to: a.to, id: a.id, timeoutMs: a.timeoutMs })
          break
      }
    }
  }
}

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
import type { RoutingKey } from '../keys/routing-key.js'
import type { AnnounceAction, AnnounceFailure, WalkRef } from '../routing/announce-messages.js'
import type { Action, IncomingMessage, Reply, Response } from '../routing/node-core.js'
import { randomId } from '../routing/random.js'
import { EventQueue, type SimEvent } from './event-queue.js'
import { SimNodes } from './nodes.js'

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

export class Simulator extends SimNodes {
  /** Messages sent between nodes, over the whole run. */
  messages = 0
  /** Optional tap on delivered requests, inserts and answers. */
  observer?: SimObserver
  private readonly queue = new EventQueue<NetEvent>()
  private readonly locals = new Map<bigint, LocalOp>()

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

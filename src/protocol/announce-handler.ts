/**
 * Node announcement over libp2p (Freenet 2001, section 3.5): drives the pure
 * `AnnounceCore` (src/routing/announce.ts, the same code the simulator runs) over one
 * `/warren/announce/1.0.0` stream per hop of the random walk:
 *
 *   A -> B  ANNOUNCE { id, htl, node, commitments }      (walk continues below B)
 *   B -> A  ANNOUNCE_COMMIT { commitments }              (every commitment of the walk)
 *   A -> B  ANNOUNCE_REVEAL { seeds }                    (seeds from the newcomer down to A)
 *   B -> A  ANNOUNCE_RESULT { key, seeds, refs }         (verified by B and everything below)
 *
 * or REJECTED_LOOP / ERROR at any step, after which the stream is closed. Every node on the
 * walk verifies every seed against its commitment and the key before it adds the newcomer to
 * its routing table under the agreed key.
 *
 * `refs` are the walk's references (shareWalk / shareNearest, src/constants.ts): each walk node
 * appends itself at its own announced location and its routing entries nearest the agreed key,
 * with the addresses it knows; the newcomer adds them all as routes. They are unverifiable
 * claims, so a receiver bounds their number, drops malformed ones and learns their addresses
 * only through the service's filtered, bounded address book.
 *
 * The routed join (joinHtl, ANNOUNCE_JOIN_HTL): once its announcement succeeded, the newcomer
 * routes a join greedily toward its agreed location over one `/warren/join/1.0.0` stream per hop:
 *
 *   A -> B  ANNOUNCE_JOIN { id, htl, node, loc }          (B adds the newcomer under loc, routes on)
 *   B -> A  ANNOUNCE_JOINED { refs }                      (the route's references from B down)
 *
 * or REJECTED_LOOP / ERROR, on which A tries its next closest entry. The announcement's result
 * does not wait for the join: `AnnounceResult.joined` settles when the join route has ended.
 * A join carries no proof of its location, so a node refuses one that would repoint a routing
 * entry it holds for another peer; its JOINED references are filtered like the walk's.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { pbStream } from '@libp2p/utils'
import {
  ANNOUNCE_JOIN_HTL, ANNOUNCE_PROTOCOL, ANNOUNCE_SHARE_NEAREST, ANNOUNCE_SHARE_WALK, MAX_ANNOUNCES_PER_PEER, HOP_TIMEOUT_MS,
  JOIN_PROTOCOL, MAX_FRAME_BYTES, MAX_INBOUND_STREAMS, MAX_OUTBOUND_STREAMS
} from '../constants.js'
import { RoutingKey } from '../keys/routing-key.js'
import { AnnounceCore } from '../routing/announce.js'
import { randomId } from '../routing/random.js'
import { errorFrame, expectFrame, Frame, FrameType, ProtocolViolation, violationFrame, WireError } from './messages.js'
import type { PeerRef, WalkRef as WireWalkRef } from '../../proto/warren.js'
import type { AnnounceAction, AnnounceFailure, AnnounceOptions, WalkRef } from '../routing/announce.js'
import type { NodeCore } from '../routing/node-core.js'
import type { Rng } from '../routing/random.js'
import type { Logger, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { ProtobufMessageStream } from '@libp2p/utils'

type PB = ProtobufMessageStream<Frame, Stream>

interface Link { peer: string, stream: Stream, pb: PB }

interface Pending {
  upstream?: Link
  child?: Link
  deadline: number
  local?: { resolve: (r: AnnounceResult) => void, reject: (e: Error) => void }
}

/** A join in progress here: relayed (`upstream`) or our own (`done`). */
interface JoinPending {
  upstream?: Link
  child?: Link
  deadline: number
  done?: (refs: number | undefined) => void
}

type JoinAction = Extract<AnnounceAction<string>, { type: 'join' | 'joined' | 'join-failed' }>

function isJoinAction (a: AnnounceAction<string>): a is JoinAction {
  return a.type === 'join' || a.type === 'joined' || a.type === 'join-failed'
}

export interface AnnounceResult {
  /** The routing key the walk agreed on for this node. */
  key: RoutingKey
  /** Nodes on the walk that verified the result and now route to this node under `key`. */
  participants: number
  /** Walk references this node added as routes (shareWalk). */
  refs: number
  /**
   * Settles once the routed join (joinHtl) has ended, after the result: the references it
   * added as routes, or undefined when no join ran (joinHtl 0) or the node stopped first.
   * Never rejects.
   */
  joined: Promise<number | undefined>
}

export interface AnnounceDriverInit {
  core: NodeCore<string>
  registrar: Registrar
  connectionManager: ConnectionManager
  log: Logger
  rng: Rng
  peerRef: (peer: string) => Promise<PeerRef>
  /** Parse a peer reference from the wire (throws ProtocolViolation) and remember its addresses. */
  learnPeer: (ref: PeerRef) => string
  /** Make learnt addresses of `peer` available to libp2p before dialling it. */
  prepareDial: (peer: string) => Promise<void>
  /** Concurrent announcements one peer may have in progress here. */
  maxPerPeer?: number
  /** Overrides of the announcement options (maxHtl follows the routing core; shareWalk...). */
  options?: Partial<AnnounceOptions>
}

/** Frame bytes kept for the key, the seeds and the framing when the references' addresses are fitted in. */
const RESULT_RESERVE_BYTES = 4096
/** Encoding overhead of one reference besides its peer ID and addresses (tags, lengths, the double). */
const REF_OVERHEAD_BYTES = 24

/**
 * `ref` with only as many of its addresses as fit in `budget` encoded bytes, so that a result
 * with its full list of references always fits in one frame.
 */
function fitRef (ref: PeerRef, budget: number): PeerRef {
  let left = budget - REF_OVERHEAD_BYTES - ref.peerId.length
  const multiaddrs: Array<Uint8Array<ArrayBuffer>> = []
  for (const a of ref.multiaddrs) {
    left -= a.length + 3
    if (left < 0) break
    multiaddrs.push(a)
  }
  return { peerId: ref.peerId, multiaddrs }
}

/** protons types bytes fields as ArrayBuffer-backed; the core's seeds and commitments are. */
function wire (list: Uint8Array[]): Array<Uint8Array<ArrayBuffer>> {
  return list as Array<Uint8Array<ArrayBuffer>>
}

function pb (stream: Stream): PB {
  return pbStream(stream, { maxDataLength: MAX_FRAME_BYTES }).pb(Frame)
}

const FAILURE_CODE: Record<AnnounceFailure, WireError.Code> = {
  loop: WireError.Code.UNEXPECTED,
  unreachable: WireError.Code.INTERNAL,
  invalid: WireError.Code.INVALID_KEY,
  timeout: WireError.Code.TIMEOUT,
  error: WireError.Code.INTERNAL
}

/** How a node refusing an announcement or a join says so. */
function refusal (reason: AnnounceFailure, what: string): Frame {
  return reason === 'loop' ? { type: FrameType.REJECTED_LOOP } : errorFrame(FAILURE_CODE[reason], `${what} refused: ${reason}`)
}

/** Time one hop of a join may take: the join down and the references back. */
const JOIN_HOP_MS = 2 * HOP_TIMEOUT_MS

export class AnnounceDriver {
  readonly core: AnnounceCore<string>
  private readonly init: AnnounceDriverInit
  private readonly pending = new Map<bigint, Pending>()
  private readonly joins = new Map<bigint, JoinPending>()
  /** Announcements and joins each peer has in progress here as our upstream. */
  private readonly perPeer = new Map<string, number>()
  /** This node's routing location: the key of its last successful announcement (NaN before). */
  private loc = NaN

  constructor (init: AnnounceDriverInit) {
    this.init = init
    this.core = new AnnounceCore<string>({
      self: init.core.self,
      table: init.core.table,
      addRoute: (loc, peer) => { init.core.addRoute(loc, peer) },
      rng: init.rng,
      now: Date.now,
      location: () => this.loc,
      options: {
        maxHtl: init.core.options.maxHtl,
        shareWalk: ANNOUNCE_SHARE_WALK,
        shareNearest: ANNOUNCE_SHARE_NEAREST,
        joinHtl: ANNOUNCE_JOIN_HTL,
        ...init.options
      }
    })
  }

  /** This node's routing location, agreed by its last successful announcement (NaN before). */
  get location (): number {
    return this.loc
  }

  async start (): Promise<void> {
    const limits = { maxInboundStreams: MAX_INBOUND_STREAMS, maxOutboundStreams: MAX_OUTBOUND_STREAMS }
    await this.init.registrar.handle(ANNOUNCE_PROTOCOL, (s, c) => this.onInbound(s, c.remotePeer.toString()), limits)
    await this.init.registrar.handle(JOIN_PROTOCOL, (s, c) => this.onJoin(s, c.remotePeer.toString()), limits)
  }

  async stop (): Promise<void> {
    await this.init.registrar.unhandle(ANNOUNCE_PROTOCOL)
    await this.init.registrar.unhandle(JOIN_PROTOCOL)
    const stopping = new Error('node stopping')
    for (const [id, p] of this.pending) {
      p.local?.reject(new Error('the node is shutting down'))
      p.upstream?.stream.abort(stopping)
      p.child?.stream.abort(stopping)
      this.core.abort(id)
    }
    for (const [id, j] of this.joins) {
      j.done?.(undefined)
      j.upstream?.stream.abort(stopping)
      j.child?.stream.abort(stopping)
      this.core.abort(id)
    }
    this.pending.clear()
    this.joins.clear()
    this.perPeer.clear()
  }

  /** Announcements and joins in progress here (driver or core state, whichever holds more: they agree unless one leaks). */
  get active (): number {
    return Math.max(this.pending.size + this.joins.size, this.core.activeOps)
  }

  /** Announce this node through `bootstrap` (a connected peer) with hops-to-live `htl`. */
  async announce (bootstrap: string, htl: number): Promise<AnnounceResult> {
    const id = randomId(this.init.rng)
    const result = new Promise<AnnounceResult>((resolve, reject) => {
      this.pending.set(id, { deadline: Date.now() + this.budget(htl), local: { resolve, reject } })
    })
    this.run(this.core.start(id, bootstrap, htl))
    return await result
  }

  /**
   * Take up `loc`, the location an earlier announcement of this node agreed on (kept across a
   * restart), instead of announcing again.
   */
  restoreLocation (loc: number): void {
    if (!Number.isFinite(loc) || loc < 0 || loc >= 1) throw new RangeError(`not a routing location: ${loc}`)
    this.loc = loc
  }

  /**
   * Route a join toward this node's (restored) location again, through the routing table: the
   * references it added as routes, or undefined when no join ran (joinHtl 0) or the node stopped.
   */
  async rejoin (): Promise<number | undefined> {
    if (!Number.isFinite(this.loc)) throw new Error('this node has no location yet: it must announce itself first')
    const id = randomId(this.init.rng)
    // beginJoin registers the join synchronously, before its first action runs.
    const joined = this.beginJoin(id)
    this.run(this.core.rejoin(id, this.loc))
    return await joined
  }

  /** Time an announcement at `htl` may take here: a walk down and two passes back and forth. */
  private budget (htl: number): number {
    return HOP_TIMEOUT_MS * 3 * (htl + 1)
  }

  private signal (deadline: number): AbortSignal {
    return AbortSignal.timeout(Math.min(2 ** 31 - 1, Math.max(1, deadline - Date.now())))
  }

  /**
   * The first frame of an inbound stream, of type `type` and well formed, with its node's
   * addresses learnt (filtered); undefined once the stream has been answered with an ERROR.
   */
  private async readFirst (link: Link, type: FrameType.ANNOUNCE | FrameType.ANNOUNCE_JOIN): Promise<{ frame: Frame, node: string } | undefined> {
    try {
      const frame = expectFrame(await link.pb.read({ signal: AbortSignal.timeout(HOP_TIMEOUT_MS * 2) }), [type])
      const ref = frame.announce?.node ?? frame.announceJoin?.node
      if (ref === undefined) throw new ProtocolViolation(WireError.Code.MALFORMED, 'announcement without its node')
      return { frame, node: this.init.learnPeer(ref) }
    } catch (err: any) {
      const answer = violationFrame(err)
      if (answer === undefined) link.stream.abort(err)
      else await this.sendClose(link, answer)
      return undefined
    }
  }

  /** Count one more operation of `peer` here, unless it has reached its limit. */
  private acquire (peer: string): boolean {
    const n = this.perPeer.get(peer) ?? 0
    if (n >= (this.init.maxPerPeer ?? MAX_ANNOUNCES_PER_PEER)) return false
    this.perPeer.set(peer, n + 1)
    return true
  }

  private releasePeer (peer: string): void {
    const n = (this.perPeer.get(peer) ?? 1) - 1
    if (n <= 0) this.perPeer.delete(peer)
    else this.perPeer.set(peer, n)
  }

  /**
   * Admission of an inbound announcement or join: `problem` (a refusal of the driver's own),
   * the per-peer limit, then the core's answer to `enter()`. A refusal is answered and the
   * stream closed (undefined); otherwise the peer holds one more slot until the state is released.
   */
  private async admit (link: Link, what: 'announcement' | 'join', problem: Frame | undefined,
    enter: () => Array<AnnounceAction<string>>): Promise<Array<AnnounceAction<string>> | undefined> {
    const refused = problem ?? (this.acquire(link.peer) ? undefined : errorFrame(WireError.Code.OVERLOADED, `too many ${what}s in progress from you`))
    if (refused !== undefined) {
      await this.sendClose(link, refused)
      return undefined
    }
    const actions = enter()
    const f = actions[0]
    if (actions.length === 1 && (f.type === 'failed' || f.type === 'join-failed')) {
      this.releasePeer(link.peer)
      await this.sendClose(link, refusal(f.reason, what))
      return undefined
    }
    return actions
  }

  private async onInbound (stream: Stream, peer: string): Promise<void> {
    const link: Link = { peer, stream, pb: pb(stream) }
    const first = await this.readFirst(link, FrameType.ANNOUNCE)
    if (first === undefined) return
    const a = first.frame.announce!
    // At the first hop (one commitment: the newcomer's own) the sender must be the newcomer:
    // nobody may announce someone else's identity or addresses into routing tables.
    const impostor = a.commitments.length === 1 && first.node !== peer
      ? errorFrame(WireError.Code.MALFORMED, 'a first-hop announcement must come from the node it announces')
      : undefined
    // An ID in use here is a loop even if it left the seen cache: never take over live state.
    const actions = await this.admit(link, 'announcement', impostor, () => this.pending.has(a.id)
      ? [{ type: 'failed', id: a.id, to: peer, reason: 'loop' }]
      : this.core.receive(peer, { id: a.id, htl: a.htl, node: first.node, commitments: a.commitments }))
    if (actions === undefined) return
    this.pending.set(a.id, { upstream: link, deadline: Date.now() + this.budget(Math.min(a.htl, this.core.options.maxHtl)) })
    this.run(actions)
  }

  /** A join arrives: record its newcomer (unless that repoints an entry) and route it on. */
  private async onJoin (stream: Stream, peer: string): Promise<void> {
    const link: Link = { peer, stream, pb: pb(stream) }
    const first = await this.readFirst(link, FrameType.ANNOUNCE_JOIN)
    if (first === undefined) return
    const j = first.frame.announceJoin!
    const node = first.node
    const owner = this.owners().get(j.loc)
    const repoint = owner !== undefined && owner !== node
      ? errorFrame(WireError.Code.INVALID_KEY, 'join location is held here by another peer')
      : undefined
    const actions = await this.admit(link, 'join', repoint, () => this.joins.has(j.id)
      ? [{ type: 'join-failed', id: j.id, to: peer, reason: 'loop' }]
      : this.core.join(peer, { id: j.id, htl: j.htl, node, loc: j.loc }))
    if (actions === undefined) return
    this.joins.set(j.id, { upstream: link, deadline: Date.now() + JOIN_HOP_MS * (Math.min(j.htl, this.core.options.maxHtl) + 1) })
    this.run(actions)
  }

  private run (actions: Array<AnnounceAction<string>>): void {
    // Look the driver state up before executing anything: a failure is reported to both
    // neighbours, and the first report releases the state the second one needs.
    const batch = actions.map((a) => [a, this.pending.get(a.id)] as const)
    for (const [a, p] of batch) {
      // A join's state is looked up when it runs: the newcomer's is created by its result, just before.
      const done = isJoinAction(a) ? this.execJoin(a) : (p === undefined ? undefined : this.exec(a, p))
      done?.catch((err) => { this.init.log.error('announce action %s failed - %e', a.type, err) })
    }
  }

  private async exec (a: Exclude<AnnounceAction<string>, JoinAction>, p: Pending): Promise<void> {
    switch (a.type) {
      case 'announce': {
        const link = await this.open(a.to, ANNOUNCE_PROTOCOL, p.deadline)
        if (link === undefined) {
          this.run(this.core.failed(a.id, a.to, 'unreachable'))
          return
        }
        p.child = link
        const node = await this.init.peerRef(a.node)
        this.settle(a.id, await this.exchange(link, { type: FrameType.ANNOUNCE, announce: { id: a.id, htl: a.htl, node, commitments: wire(a.commitments) } },
          [FrameType.ANNOUNCE_COMMIT], p.deadline, (f) => this.core.commit(a.id, a.to, f.announceCommit!.commitments), (r) => this.core.failed(a.id, a.to, r)))
        return
      }
      case 'commit':
        this.settle(a.id, await this.exchange(p.upstream!, { type: FrameType.ANNOUNCE_COMMIT, announceCommit: { commitments: wire(a.commitments) } },
          [FrameType.ANNOUNCE_REVEAL], p.deadline, (f) => this.core.reveal(a.id, a.to, f.announceReveal!.seeds), (r) => this.core.failed(a.id, a.to, r)))
        return
      case 'reveal':
        this.settle(a.id, await this.exchange(p.child!, { type: FrameType.ANNOUNCE_REVEAL, announceReveal: { seeds: wire(a.seeds) } },
          [FrameType.ANNOUNCE_RESULT], p.deadline, (f) => {
            const r = f.announceResult!
            if (r.key.length !== 32) throw new ProtocolViolation(WireError.Code.INVALID_KEY, 'announce result key must be 32 bytes')
            const { shareWalk } = this.core.options
            const refs = shareWalk === 'off' ? [] : this.readRefs(a.id, a.to, r.refs, p.local !== undefined || shareWalk === 'all')
            return this.core.result(a.id, a.to, new RoutingKey(r.key), r.seeds, refs)
          }, (r) => this.core.failed(a.id, a.to, r)))
        return
      case 'result':
        this.release(a.id)
        if (a.to === null) {
          this.loc = a.key.loc
          // Synchronously, before the join action that follows in this batch runs.
          const joined = this.beginJoin(a.id)
          p.local?.resolve({ key: a.key, participants: a.seeds.length - 1, refs: a.refs?.length ?? 0, joined })
        } else {
          const refs = await this.writeRefs(a.refs ?? [])
          await this.sendClose(p.upstream!, { type: FrameType.ANNOUNCE_RESULT, announceResult: { key: a.key.bytes as Uint8Array<ArrayBuffer>, seeds: wire(a.seeds), refs } })
          await p.child?.stream.close().catch(() => {})
        }
        return
      case 'failed': {
        // The core only reports a failure once the announcement is over at this node.
        this.release(a.id)
        if (a.to === null) {
          p.local?.reject(new Error(`announcement failed: ${a.reason}`))
          return
        }
        const link = a.to === p.upstream?.peer ? p.upstream : p.child
        if (link !== undefined) await this.sendClose(link, errorFrame(FAILURE_CODE[a.reason], `announcement failed: ${a.reason}`))
      }
    }
  }

  /** The newcomer's own join starts (if the core runs one): its driver state, and what the result reports. */
  private async beginJoin (id: bigint): Promise<number | undefined> {
    const htl = this.core.options.joinHtl
    if (htl < 1) return undefined
    return await new Promise<number | undefined>((resolve) => {
      this.joins.set(id, { deadline: Date.now() + JOIN_HOP_MS * (htl + 1), done: resolve })
    })
  }

  private async execJoin (a: JoinAction): Promise<void> {
    const j = this.joins.get(a.id)
    if (j === undefined) return
    switch (a.type) {
      case 'join': {
        // Nested deadlines: the child's budget (from its HTL) must end half a hop before ours.
        const htl = Math.min(a.htl, Math.floor((j.deadline - Date.now() - HOP_TIMEOUT_MS / 2) / JOIN_HOP_MS) - 1)
        const link = htl < 0 ? undefined : await this.open(a.to, JOIN_PROTOCOL, j.deadline)
        if (link === undefined) {
          this.settle(a.id, this.core.joinFailed(a.id, a.to), 'join')
          return
        }
        j.child = link
        const node = await this.init.peerRef(a.node)
        this.settle(a.id, await this.exchange(link, { type: FrameType.ANNOUNCE_JOIN, announceJoin: { id: a.id, htl, node, loc: a.loc } },
          [FrameType.ANNOUNCE_JOINED], j.deadline, (f) => {
            void link.stream.close().catch(() => {})
            return this.core.joined(a.id, a.to, this.readRefs(a.id, a.to, f.announceJoined!.refs, j.done !== undefined))
          }, () => this.core.joinFailed(a.id, a.to)), 'join')
        return
      }
      case 'joined':
        this.release(a.id, 'join')
        if (a.to === null) {
          this.init.log('announce %s: the join route ended; %d references', a.id, a.refs.length)
          j.done?.(a.refs.length)
        } else {
          await this.sendClose(j.upstream!, { type: FrameType.ANNOUNCE_JOINED, announceJoined: { refs: await this.writeRefs(a.refs) } })
        }
        return
      case 'join-failed':
        // The core refuses only an arriving join (answered by onJoin); for completeness.
        if (a.to !== j.upstream?.peer) return
        this.release(a.id, 'join')
        await this.sendClose(j.upstream, refusal(a.reason, 'join'))
    }
  }

  /** A stream to `to` for `protocol`, or undefined if it cannot be reached by `deadline`. */
  private async open (to: string, protocol: string, deadline: number): Promise<Link | undefined> {
    try {
      await this.init.prepareDial(to)
      const stream = await this.init.connectionManager.openStream(peerIdFromString(to), protocol, { signal: this.signal(deadline) })
      return { peer: to, stream, pb: pb(stream) }
    } catch {
      return undefined
    }
  }

  /**
   * Write `frame` on `link` and read the answer: `onAnswer` for one of `expect` (it may throw
   * a ProtocolViolation), `onFail` for a refusal, an error or the deadline passing.
   */
  private async exchange (link: Link, frame: Frame, expect: FrameType[], deadline: number,
    onAnswer: (f: Frame) => Array<AnnounceAction<string>>, onFail: (reason: AnnounceFailure) => Array<AnnounceAction<string>>): Promise<Array<AnnounceAction<string>>> {
    let signal: AbortSignal | undefined
    try {
      signal = this.signal(deadline)
      await link.pb.write(frame, { signal })
      const answer = expectFrame(await link.pb.read({ signal }), [...expect, FrameType.REJECTED_LOOP, FrameType.ERROR])
      if (answer.type === FrameType.REJECTED_LOOP) return onFail('loop')
      if (answer.type === FrameType.ERROR) return onFail('error')
      return onAnswer(answer)
    } catch (err: any) {
      link.stream.abort(err)
      return onFail(signal?.aborted === true ? 'timeout' : (err instanceof ProtocolViolation ? 'invalid' : 'error'))
    }
  }

  /**
   * Run what the core answered. It may end an announcement or join without an action for us
   * (e.g. the last node of the walk when its upstream fails): release our state for it too.
   */
  private settle (id: bigint, actions: Array<AnnounceAction<string>>, kind: 'announce' | 'join' = 'announce'): void {
    if (actions.length === 0 && !(kind === 'announce' ? this.core.has(id) : this.core.hasJoin(id))) this.release(id, kind)
    this.run(actions)
  }

  /** The references for a result or joined frame, each with the addresses we know for it, fitted into one frame. */
  private async writeRefs (refs: Array<WalkRef<string>>): Promise<WireWalkRef[]> {
    const budget = Math.floor((MAX_FRAME_BYTES - RESULT_RESERVE_BYTES) / Math.max(1, refs.length))
    return await Promise.all(refs.map(async (r) => ({ peer: fitRef(await this.init.peerRef(r.peer), budget), loc: r.loc })))
  }

  /** Who each location of our routing table points at. */
  private owners (): Map<number, string> {
    const held = new Map<number, string>()
    for (const e of this.init.core.table.entries()) held.set(e.loc, e.peer)
    return held
  }

  /**
   * The references of a result or joined frame from `from`: hostile input. At most as many as
   * an honest walk or join route can send (the last ones: those of the nodes nearest us, which
   * a node deeper down cannot crowd out), each with a well-formed peer ID and a location in
   * [0, 1); addresses go to the filtered, bounded address book. Where references become
   * `routes` here, one never repoints an entry we hold for another peer (say a neighbour's
   * seed location).
   */
  private readRefs (id: bigint, from: string, refs: WireWalkRef[], routes: boolean): Array<WalkRef<string>> {
    if (refs.length === 0) return []
    const { shareNearest, maxHtl } = this.core.options
    const cap = (1 + shareNearest) * (maxHtl + 1)
    const held = routes ? this.owners() : new Map<number, string>()
    const out: Array<WalkRef<string>> = []
    for (const r of refs.slice(Math.max(0, refs.length - cap))) {
      if (r.peer === undefined || !Number.isFinite(r.loc) || r.loc < 0 || r.loc >= 1) continue
      let peer: string
      try {
        peer = this.init.learnPeer(r.peer)
      } catch {
        continue
      }
      const owner = held.get(r.loc)
      if (owner === undefined || owner === peer) out.push({ peer, loc: r.loc })
    }
    if (out.length < refs.length) this.init.log('announce %s: kept %d of %d references from %s', id, out.length, refs.length, from)
    return out
  }

  /** Forget announcement (or join) `id` here, driver and core state, and free its upstream's slot. */
  private release (id: bigint, kind: 'announce' | 'join' = 'announce'): void {
    const states: Map<bigint, Pending | JoinPending> = kind === 'announce' ? this.pending : this.joins
    const s = states.get(id)
    if (s === undefined) return
    states.delete(id)
    // Only the one: the newcomer's join starts as its announcement ends.
    this.core.abort(id, kind)
    if (s.upstream !== undefined) this.releasePeer(s.upstream.peer)
  }

  private async sendClose (link: Link, frame: Frame): Promise<void> {
    try {
      await link.pb.write(frame, { signal: AbortSignal.timeout(HOP_TIMEOUT_MS) })
      await link.stream.close({ signal: AbortSignal.timeout(HOP_TIMEOUT_MS) })
    } catch (err: any) {
      link.stream.abort(err)
    }
  }
}

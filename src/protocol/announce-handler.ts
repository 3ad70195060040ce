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
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { pbStream } from '@libp2p/utils'
import {
  ANNOUNCE_PROTOCOL, ANNOUNCE_SHARE_NEAREST, ANNOUNCE_SHARE_WALK, MAX_ANNOUNCES_PER_PEER, HOP_TIMEOUT_MS, MAX_FRAME_BYTES,
  MAX_INBOUND_STREAMS, MAX_OUTBOUND_STREAMS
} from '../constants.js'
import { RoutingKey } from '../keys/routing-key.js'
import { AnnounceCore } from '../routing/announce.js'
import { randomId } from '../routing/random.js'
import { errorFrame, expectFrame, Frame, FrameType, ProtocolViolation, WireError } from './messages.js'
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

export interface AnnounceResult {
  /** The routing key the walk agreed on for this node. */
  key: RoutingKey
  /** Nodes on the walk that verified the result and now route to this node under `key`. */
  participants: number
  /** Walk references this node added as routes (shareWalk). */
  refs: number
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

export class AnnounceDriver {
  readonly core: AnnounceCore<string>
  private readonly init: AnnounceDriverInit
  private readonly pending = new Map<bigint, Pending>()
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
      options: { maxHtl: init.core.options.maxHtl, shareWalk: ANNOUNCE_SHARE_WALK, shareNearest: ANNOUNCE_SHARE_NEAREST, ...init.options }
    })
  }

  /** This node's routing location, agreed by its last successful announcement (NaN before). */
  get location (): number {
    return this.loc
  }

  async start (): Promise<void> {
    await this.init.registrar.handle(ANNOUNCE_PROTOCOL, (s, c) => this.onInbound(s, c.remotePeer.toString()),
      { maxInboundStreams: MAX_INBOUND_STREAMS, maxOutboundStreams: MAX_OUTBOUND_STREAMS })
  }

  async stop (): Promise<void> {
    await this.init.registrar.unhandle(ANNOUNCE_PROTOCOL)
    for (const [id, p] of this.pending) {
      p.local?.reject(new Error('the node is shutting down'))
      p.upstream?.stream.abort(new Error('node stopping'))
      p.child?.stream.abort(new Error('node stopping'))
      this.core.abort(id)
    }
    this.pending.clear()
    this.perPeer.clear()
  }

  get active (): number {
    return this.pending.size
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

  /** Time an announcement at `htl` may take here: a walk down and two passes back and forth. */
  private budget (htl: number): number {
    return HOP_TIMEOUT_MS * 3 * (htl + 1)
  }

  private signal (id: bigint): AbortSignal {
    const p = this.pending.get(id)
    return AbortSignal.timeout(Math.min(2 ** 31 - 1, Math.max(1, (p?.deadline ?? Date.now()) - Date.now())))
  }

  private async onInbound (stream: Stream, peer: string): Promise<void> {
    const link: Link = { peer, stream, pb: pb(stream) }
    let frame: Frame
    try {
      frame = expectFrame(await link.pb.read({ signal: AbortSignal.timeout(HOP_TIMEOUT_MS * 2) }), [FrameType.ANNOUNCE])
    } catch (err: any) {
      await this.sendClose(link, errorFrame(err instanceof ProtocolViolation ? err.code : WireError.Code.MALFORMED, err.message))
      return
    }
    const a = frame.announce!
    let node: string
    try {
      if (a.node === undefined) throw new ProtocolViolation(WireError.Code.MALFORMED, 'announcement without its node')
      node = this.init.learnPeer(a.node)
      // At the first hop (one commitment: the newcomer's own) the sender must be the newcomer:
      // nobody may announce someone else's identity or addresses into routing tables.
      if (a.commitments.length === 1 && node !== peer) throw new ProtocolViolation(WireError.Code.MALFORMED, 'a first-hop announcement must come from the node it announces')
    } catch (err: any) {
      await this.sendClose(link, errorFrame(WireError.Code.MALFORMED, err.message))
      return
    }
    const n = this.perPeer.get(peer) ?? 0
    if (n >= (this.init.maxPerPeer ?? MAX_ANNOUNCES_PER_PEER)) {
      await this.sendClose(link, errorFrame(WireError.Code.OVERLOADED, 'too many announcements in progress from you'))
      return
    }
    // An ID in use here is a loop even if it left the seen cache: never take over live state.
    const actions = this.pending.has(a.id)
      ? [{ type: 'failed', id: a.id, to: peer, reason: 'loop' } as const]
      : this.core.receive(peer, { id: a.id, htl: a.htl, node, commitments: a.commitments })
    const first = actions[0]
    if (actions.length === 1 && first.type === 'failed') {
      await this.sendClose(link, first.reason === 'loop' ? { type: FrameType.REJECTED_LOOP } : errorFrame(FAILURE_CODE[first.reason], `announcement refused: ${first.reason}`))
      return
    }
    this.perPeer.set(peer, n + 1)
    this.pending.set(a.id, { upstream: link, deadline: Date.now() + this.budget(Math.min(a.htl, this.core.options.maxHtl)) })
    this.run(actions)
  }

  private run (actions: Array<AnnounceAction<string>>): void {
    // Look the driver state up before executing anything: a failure is reported to both
    // neighbours, and the first report releases the state the second one needs.
    const batch = actions.map((a) => [a, this.pending.get(a.id)] as const)
    for (const [a, p] of batch) {
      if (p === undefined) continue
      this.exec(a, p).catch((err) => { this.init.log.error('announce action %s failed - %e', a.type, err) })
    }
  }

  private async exec (a: AnnounceAction<string>, p: Pending): Promise<void> {
    switch (a.type) {
      case 'announce': {
        let stream: Stream
        try {
          await this.init.prepareDial(a.to)
          stream = await this.init.connectionManager.openStream(peerIdFromString(a.to), ANNOUNCE_PROTOCOL, { signal: this.signal(a.id) })
        } catch {
          this.run(this.core.failed(a.id, a.to, 'unreachable'))
          return
        }
        p.child = { peer: a.to, stream, pb: pb(stream) }
        const node = await this.init.peerRef(a.node)
        await this.exchange(a.id, p.child, { type: FrameType.ANNOUNCE, announce: { id: a.id, htl: a.htl, node, commitments: wire(a.commitments) } },
          [FrameType.ANNOUNCE_COMMIT], (f) => this.core.commit(a.id, a.to, f.announceCommit!.commitments))
        return
      }
      case 'commit':
        await this.exchange(a.id, p.upstream!, { type: FrameType.ANNOUNCE_COMMIT, announceCommit: { commitments: wire(a.commitments) } },
          [FrameType.ANNOUNCE_REVEAL], (f) => this.core.reveal(a.id, a.to, f.announceReveal!.seeds))
        return
      case 'reveal':
        await this.exchange(a.id, p.child!, { type: FrameType.ANNOUNCE_REVEAL, announceReveal: { seeds: wire(a.seeds) } },
          [FrameType.ANNOUNCE_RESULT], (f) => {
            const r = f.announceResult!
            if (r.key.length !== 32) throw new ProtocolViolation(WireError.Code.INVALID_KEY, 'announce result key must be 32 bytes')
            return this.core.result(a.id, a.to, new RoutingKey(r.key), r.seeds, this.readRefs(a.id, a.to, r.refs))
          })
        return
      case 'result':
        this.release(a.id)
        if (a.to === null) {
          this.loc = a.key.loc
          p.local?.resolve({ key: a.key, participants: a.seeds.length - 1, refs: a.refs?.length ?? 0 })
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

  /** Write `frame` on `link`, read the expected answer and feed it to the core. */
  private async exchange (id: bigint, link: Link, frame: Frame, expect: FrameType[], onAnswer: (f: Frame) => Array<AnnounceAction<string>>): Promise<void> {
    let signal: AbortSignal | undefined
    let actions: Array<AnnounceAction<string>>
    try {
      signal = this.signal(id)
      await link.pb.write(frame, { signal })
      const answer = expectFrame(await link.pb.read({ signal }), [...expect, FrameType.REJECTED_LOOP, FrameType.ERROR])
      if (answer.type === FrameType.REJECTED_LOOP) actions = this.core.failed(id, link.peer, 'loop')
      else if (answer.type === FrameType.ERROR) actions = this.core.failed(id, link.peer, 'error')
      else actions = onAnswer(answer)
    } catch (err: any) {
      link.stream.abort(err)
      actions = this.core.failed(id, link.peer, signal?.aborted === true ? 'timeout' : (err instanceof ProtocolViolation ? 'invalid' : 'error'))
    }
    // The core may end an announcement without an action for us (e.g. the last node of the
    // walk when its upstream fails): release our state for it too.
    if (actions.length === 0 && !this.core.has(id)) this.release(id)
    this.run(actions)
  }

  /** The references for a result frame, each with the addresses we know for it, fitted into one frame. */
  private async writeRefs (refs: Array<WalkRef<string>>): Promise<WireWalkRef[]> {
    const budget = Math.floor((MAX_FRAME_BYTES - RESULT_RESERVE_BYTES) / Math.max(1, refs.length))
    return await Promise.all(refs.map(async (r) => ({ peer: fitRef(await this.init.peerRef(r.peer), budget), loc: r.loc })))
  }

  /**
   * The references of a result frame from `from`: hostile input. At most as many as an honest
   * walk can send (the last ones: those of the nodes nearest us, which a node deeper down
   * cannot crowd out), each with a well-formed peer ID and a location in [0, 1); addresses go
   * to the filtered, bounded address book. Where references become routes, one never
   * repoints an entry we hold for another peer (say a neighbour's seed location).
   */
  private readRefs (id: bigint, from: string, refs: WireWalkRef[]): Array<WalkRef<string>> {
    const { shareWalk, shareNearest, maxHtl } = this.core.options
    if (shareWalk === 'off' || refs.length === 0) return []
    const cap = (1 + shareNearest) * (maxHtl + 1)
    const held = new Map<number, string>()
    if (this.pending.get(id)?.local !== undefined || shareWalk === 'all') {
      for (const e of this.init.core.table.entries()) held.set(e.loc, e.peer)
    }
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
    if (out.length < refs.length) this.init.log('announce %s: kept %d of %d walk references from %s', id, out.length, refs.length, from)
    return out
  }

  private release (id: bigint): void {
    const p = this.pending.get(id)
    if (p === undefined) return
    this.pending.delete(id)
    this.core.abort(id)
    if (p.upstream !== undefined) {
      const n = (this.perPeer.get(p.upstream.peer) ?? 1) - 1
      if (n <= 0) this.perPeer.delete(p.upstream.peer)
      else this.perPeer.set(p.upstream.peer, n)
    }
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

/**
 * Node announcement over libp2p (Freenet 2001, section 3.5): drives the pure `AnnounceCore`
 * (src/routing/announce.ts, the same code the simulator runs) over one `/warren/announce/1.0.0`
 * stream per hop of the random walk:
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
 * only through the filtered, bounded address book.
 *
 * After the result the newcomer's routed join runs (join.ts); the announcement's result does
 * not wait for it: `AnnounceResult.joined` settles when the join route has ended.
 */
import { ANNOUNCE_PROTOCOL, HOP_TIMEOUT_MS } from '../constants.js'
import { RoutingKey } from '../keys/routing-key.js'
import { randomId } from '../routing/random.js'
import { admit, announceSigningBytes, failureFrame, HopTable, openHop, readAnnouncement, readRefs, releaseHop, sendClose, signedByNewcomer, step, wire, writeRefs } from './announce-wire.js'
import { isJoinAction } from './join.js'
import { FrameType, ProtocolViolation, WireError } from './messages.js'
import { link, whenAborted } from './stream.js'
import type { AnnounceComponents, AnnounceHop } from './announce-wire.js'
import type { JoinAction, JoinHandler } from './join.js'
import type { NodeLocation } from './location.js'
import type { AnnounceAction } from '../routing/announce-messages.js'
import type { AbortOptions, Stream } from '@libp2p/interface'

interface WalkHop extends AnnounceHop {
  local?: { resolve: (r: AnnounceResult) => void, reject: (e: Error) => void }
  /** The newcomer's signature over the announcement, passed on to the next hop. */
  signature?: Uint8Array<ArrayBuffer>
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

export interface AnnounceHandlerComponents extends AnnounceComponents {
  /** The join driver: a successful announcement starts the newcomer's join there. */
  joins: JoinHandler
  /** This node's routing location: set to the key of each successful announcement. */
  location: NodeLocation
  /** Sign with this node's identity key (its own announcements: Announce.signature). */
  sign: (data: Uint8Array) => Promise<Uint8Array>
}

/** The announcement walk's driver (walks in progress here: `active`). */
export class AnnounceHandler extends HopTable<AnnounceHandlerComponents, WalkHop> {
  protected settleOnStop (hop: WalkHop): void {
    hop.local?.reject(new Error('the node is shutting down'))
  }

  /**
   * Announce this node through `bootstrap` (a connected peer) with hops-to-live `htl`.
   * Aborting `options.signal` ends the walk here at once and resets the stream to the walk.
   */
  async announce (bootstrap: string, htl: number, options: AbortOptions = {}): Promise<AnnounceResult> {
    options.signal?.throwIfAborted()
    const id = randomId(this.c.rng)
    let hop!: WalkHop
    const result = new Promise<AnnounceResult>((resolve, reject) => {
      hop = { deadline: Date.now() + this.budget(htl), local: { resolve, reject } }
      this.hops.set(id, hop)
    })
    const unlisten = whenAborted(options.signal, (err) => {
      if (this.hops.get(id) === hop) {
        releaseHop(this.c, this.hops, id, 'announce')
        hop.child?.abort(err)
      }
      hop.local?.reject(err)
    })
    try {
      this.run(this.c.core.start(id, bootstrap, htl))
      return await result
    } finally {
      unlisten()
    }
  }

  /** Time an announcement at `htl` may take here: a walk down and two passes back and forth. */
  private budget (htl: number): number {
    return HOP_TIMEOUT_MS * 3 * (htl + 1)
  }

  async onInbound (stream: Stream, peer: string): Promise<void> {
    const up = link(peer, stream, this.c.onWireError)
    const first = await readAnnouncement(up, FrameType.ANNOUNCE, this.c.addressBook)
    if (first === undefined) return
    const a = first.frame.announce!
    // A relayed announcement counts only with the newcomer's signature (the core's impostor rule).
    const signed = first.node !== peer && await signedByNewcomer(first.node, a.id, a.commitments[0], a.signature)
    // An ID in use here is a loop even if it left the seen cache: never take over live state.
    const actions = await admit(this.c, up, 'announcement', () => this.hops.has(a.id)
      ? [{ type: 'failed', id: a.id, to: peer, reason: 'loop' }]
      : this.c.core.receive(peer, { id: a.id, htl: a.htl, node: first.node, commitments: a.commitments, signed }))
    if (actions === undefined) return
    this.hops.set(a.id, { upstream: up, deadline: Date.now() + this.budget(Math.min(a.htl, this.c.core.options.maxHtl)), signature: a.signature })
    this.run(actions)
  }

  private run (actions: Array<AnnounceAction<string>>): void {
    // Look the driver state up before executing anything: a failure is reported to both
    // neighbours, and the first report releases the state the second one needs.
    const batch = actions.map((a) => [a, this.hops.get(a.id)] as const)
    for (const [a, p] of batch) {
      // A join's state is looked up when it runs: the newcomer's is created by its result, just before.
      if (isJoinAction(a)) this.c.joins.run([a])
      else if (p !== undefined) this.exec(a, p).catch((err) => { this.c.log.error('announce action %s failed - %e', a.type, err) })
    }
  }

  private async exec (a: Exclude<AnnounceAction<string>, JoinAction>, p: WalkHop): Promise<void> {
    const core = this.c.core
    switch (a.type) {
      case 'announce': {
        const child = await openHop(this.c, a.to, ANNOUNCE_PROTOCOL, p.deadline)
        if (child === undefined) {
          this.run(core.failed(a.id, a.to, 'unreachable'))
          return
        }
        p.child = child
        const node = await this.c.addressBook.ref(a.node)
        if (p.signature === undefined && a.node === core.self) {
          p.signature = await this.c.sign(announceSigningBytes(a.id, a.commitments[0])) as Uint8Array<ArrayBuffer>
        }
        this.settle(a.id, await step(child, { type: FrameType.ANNOUNCE, announce: { id: a.id, htl: a.htl, node, commitments: wire(a.commitments), signature: p.signature } },
          [FrameType.ANNOUNCE_COMMIT], p.deadline, (f) => core.commit(a.id, a.to, f.announceCommit!.commitments), (r) => core.failed(a.id, a.to, r)))
        return
      }
      case 'commit':
        this.settle(a.id, await step(p.upstream!, { type: FrameType.ANNOUNCE_COMMIT, announceCommit: { commitments: wire(a.commitments) } },
          [FrameType.ANNOUNCE_REVEAL], p.deadline, (f) => core.reveal(a.id, a.to, f.announceReveal!.seeds), (r) => core.failed(a.id, a.to, r)))
        return
      case 'reveal':
        this.settle(a.id, await step(p.child!, { type: FrameType.ANNOUNCE_REVEAL, announceReveal: { seeds: wire(a.seeds) } },
          [FrameType.ANNOUNCE_RESULT], p.deadline, (f) => {
            const r = f.announceResult!
            if (r.key.length !== 32) throw new ProtocolViolation(WireError.Code.INVALID_KEY, 'announce result key must be 32 bytes')
            const refs = core.options.shareWalk === 'off' ? [] : readRefs(this.c, a.id, a.to, r.refs)
            return core.result(a.id, a.to, new RoutingKey(r.key), r.seeds, refs)
          }, (r) => core.failed(a.id, a.to, r)))
        return
      case 'result':
        releaseHop(this.c, this.hops, a.id, 'announce')
        if (a.to === null) {
          this.c.location.set(a.key.loc)
          // Synchronously, before the join action that follows in this batch runs.
          const joined = this.c.joins.begin(a.id)
          p.local?.resolve({ key: a.key, participants: a.seeds.length - 1, refs: a.refs?.length ?? 0, joined })
        } else {
          const refs = await writeRefs(this.c.addressBook, a.refs ?? [])
          await sendClose(p.upstream!, { type: FrameType.ANNOUNCE_RESULT, announceResult: { key: a.key.bytes as Uint8Array<ArrayBuffer>, seeds: wire(a.seeds), refs } })
          await p.child?.close().catch(() => {})
        }
        return
      case 'failed': {
        // The core only reports a failure once the announcement is over at this node.
        releaseHop(this.c, this.hops, a.id, 'announce')
        if (a.to === null) {
          p.local?.reject(new Error(`announcement failed: ${a.reason}`))
          return
        }
        const l = a.to === p.upstream?.peer ? p.upstream : p.child
        if (l !== undefined) await sendClose(l, failureFrame(a.reason))
      }
    }
  }

  /**
   * Run what the core answered. It may end an announcement without an action for us (e.g. the
   * last node of the walk when its upstream fails): release our state for it too.
   */
  private settle (id: bigint, actions: Array<AnnounceAction<string>>): void {
    if (actions.length === 0 && !this.c.core.has(id)) releaseHop(this.c, this.hops, id, 'announce')
    this.run(actions)
  }
}

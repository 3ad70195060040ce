/**
 * The routed join (Freenet 0.7's routed announcement; joinHtl, ANNOUNCE_JOIN_HTL): once its
 * announcement succeeded, the newcomer routes a join greedily toward its agreed location over
 * one `/warren/join/1.0.0` stream per hop, driving the pure `AnnounceCore`:
 *
 *   A -> B  ANNOUNCE_JOIN { id, htl, node, loc }          (B adds the newcomer under loc, routes on)
 *   B -> A  ANNOUNCE_JOINED { refs }                      (the route's references from B down)
 *
 * or REJECTED_LOOP / ERROR, on which A tries its next closest entry. A join carries no proof of
 * its location, so a node refuses one that would repoint a routing entry it holds for another
 * peer; its JOINED references are filtered like the walk's.
 */
import { JOIN_PROTOCOL } from '../constants.js'
import { randomId } from '../routing/random.js'
import { admit, HopTable, openHop, readAnnouncement, readRefs, refusal, releaseHop, sendClose, step, writeRefs } from './announce-wire.js'
import { FrameType } from './messages.js'
import { link, whenAborted } from './stream.js'
import type { AnnounceComponents, AnnounceHop } from './announce-wire.js'
import type { AnnounceAction } from '../routing/announce-messages.js'
import type { AbortOptions, Stream } from '@libp2p/interface'

/** A join in progress here: relayed (`upstream`) or our own (`done`). */
interface JoinHop extends AnnounceHop {
  done?: (refs: number | undefined) => void
}

export type JoinAction = Extract<AnnounceAction<string>, { type: 'join' | 'joined' | 'join-failed' }>

export function isJoinAction (a: AnnounceAction<string>): a is JoinAction {
  return a.type === 'join' || a.type === 'joined' || a.type === 'join-failed'
}

/** The routed join's driver (joins in progress here: `active`). */
export class JoinHandler extends HopTable<AnnounceComponents, JoinHop> {
  protected settleOnStop (hop: JoinHop): void {
    hop.done?.(undefined)
  }

  /**
   * Route a join toward `loc` (this node's own location) through the routing table: the
   * references it added as routes, or undefined when no join ran (joinHtl 0) or the node stopped.
   */
  async rejoin (loc: number, options: AbortOptions = {}): Promise<number | undefined> {
    options.signal?.throwIfAborted()
    const id = randomId(this.c.rng)
    const actions = this.c.core.rejoin(id, loc)
    // begin registers the join synchronously, before its first action runs.
    const joined = this.begin(id)
    const hop = this.hops.get(id)
    let unlisten = (): void => {}
    // Aborting ends the join here at once and resets the stream to its next hop.
    const aborted = new Promise<never>((_resolve, reject) => {
      unlisten = whenAborted(options.signal, (err) => {
        if (hop !== undefined && this.hops.get(id) === hop) {
          releaseHop(this.c, this.hops, id, 'join')
          hop.child?.abort(err)
        }
        reject(err)
      })
    })
    this.run(actions)
    try {
      return await Promise.race([joined, aborted])
    } finally {
      unlisten()
    }
  }

  /**
   * The newcomer's own join has started in the core (after its announcement's result, or a
   * rejoin): its driver state, and what the result reports. Undefined when no join runs (joinHtl 0).
   */
  async begin (id: bigint): Promise<number | undefined> {
    if (this.c.core.options.joinHtl < 1) return undefined
    return await new Promise<number | undefined>((resolve) => {
      this.hops.set(id, { deadline: this.deadline(id), done: resolve })
    })
  }

  /** The core's deadline for join `id` here (one hop's worth for a join that already ended). */
  private deadline (id: bigint): number {
    return this.c.core.joinDeadline(id) ?? Date.now() + this.c.core.options.joinHopMs
  }

  /** A join arrives: record its newcomer (unless that repoints an entry) and route it on. */
  async onInbound (stream: Stream, peer: string): Promise<void> {
    const up = link(peer, stream, this.c.onWireError)
    const first = await readAnnouncement(up, FrameType.ANNOUNCE_JOIN, this.c.addressBook)
    if (first === undefined) return
    const j = first.frame.announceJoin!
    const actions = await admit(this.c, up, 'join', () => this.hops.has(j.id)
      ? [{ type: 'join-failed', id: j.id, to: peer, reason: 'loop' }]
      : this.c.core.join(peer, { id: j.id, htl: j.htl, node: first.node, loc: j.loc }))
    if (actions === undefined) return
    this.hops.set(j.id, { upstream: up, deadline: this.deadline(j.id) })
    this.run(actions)
  }

  /** Execute the core's join actions (the core's join methods return no others). */
  run (actions: Array<AnnounceAction<string>>): void {
    for (const a of actions.filter(isJoinAction)) {
      this.exec(a).catch((err) => { this.c.log.error('join action %s failed - %e', a.type, err) })
    }
  }

  private async exec (a: JoinAction): Promise<void> {
    const j = this.hops.get(a.id)
    if (j === undefined) return
    switch (a.type) {
      case 'join': {
        // The core gave the join an HTL that fits in what is left of our deadline.
        const child = await openHop(this.c, a.to, JOIN_PROTOCOL, j.deadline)
        if (child === undefined) {
          this.settle(a.id, this.c.core.joinFailed(a.id, a.to))
          return
        }
        j.child = child
        const node = await this.c.addressBook.ref(a.node)
        this.settle(a.id, await step(child, { type: FrameType.ANNOUNCE_JOIN, announceJoin: { id: a.id, htl: a.htl, node, loc: a.loc } },
          [FrameType.ANNOUNCE_JOINED], j.deadline, (f) => {
            void child.close().catch(() => {})
            return this.c.core.joined(a.id, a.to, readRefs(this.c, a.id, a.to, f.announceJoined!.refs))
          }, () => this.c.core.joinFailed(a.id, a.to)))
        return
      }
      case 'joined':
        releaseHop(this.c, this.hops, a.id, 'join')
        if (a.to === null) {
          this.c.log('announce %s: the join route ended; %d references', a.id, a.refs.length)
          j.done?.(a.refs.length)
        } else {
          await sendClose(j.upstream!, { type: FrameType.ANNOUNCE_JOINED, announceJoined: { refs: await writeRefs(this.c.addressBook, a.refs) } })
        }
        return
      case 'join-failed':
        // The core refuses only an arriving join (answered by onInbound); for completeness.
        if (a.to !== j.upstream?.peer) return
        releaseHop(this.c, this.hops, a.id, 'join')
        await sendClose(j.upstream, refusal(a.reason, 'join'))
    }
  }

  /**
   * Run what the core answered. It may end a join without an action for us (e.g. a route that
   * ends here): release our state for it too.
   */
  private settle (id: bigint, actions: Array<AnnounceAction<string>>): void {
    if (actions.length === 0 && !this.c.core.hasJoin(id)) releaseHop(this.c, this.hops, id, 'join')
    this.run(actions)
  }
}

/**
 * Every hop of the tunnel protocol (./service.ts extends this with the requester side): the
 * stream handler, the tunnel routing core's actions, and what a middleman or the trusted peer
 * does once a tunnel is routed to it.
 *
 * A middleman reads the header, routes, and once the tunnel is up only copies chunk frames
 * between the two streams (checking that their sizes are chunk sizes): it holds no key and
 * keeps no state but operation ID -> previous hop, and that only while routing. The trusted
 * peer opens the sealed request (./seal.ts), refuses a replay (./replay.ts), answers ACCEPTED
 * and serves it (./endpoint.ts). Every refusal there is the same ERROR frame.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { FIRST_FRAME_TIMEOUT_MS } from '../constants.js'
import { RoutingKey } from '../keys/routing-key.js'
import { peerKey } from '../protocol/address-book.js'
import { PeerSlots, timerMs } from '../protocol/stream.js'
import { cryptoRng } from '../routing/random.js'
import { TUNNEL_IDLE_MS, TUNNEL_PROTOCOL, TUNNELS_PER_PEER } from './constants.js'
import { serve } from './endpoint.js'
import { errorFrame, relayable, replyFrame, toResponse, tunnelCore, validOpen } from './route.js'
import { openRequest, TunnelRejected } from './seal.js'
import { isEof, TunnelSession, tunnelLink } from './session.js'
import type { TunnelFrame } from '../../proto/tunnel.js'
import type { TunnelExecutor } from './endpoint.js'
import type { TunnelLink } from './session.js'
import type { TunnelState } from './tunnel.js'
import type { TunnelObserver, TunnelRefusal, TunnelRole } from './events.js'
import type { NodeCore, Action, Reply, NodeCoreOptions } from '../routing/node-core.js'
import type { Rng } from '../routing/random.js'
import type { ComponentLogger, Connection, Logger, PeerId, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'

export interface TunnelServiceComponents {
  peerId: PeerId
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
}

export interface TunnelServiceInit {
  state: TunnelState
  executor: TunnelExecutor
  /** The routing core's options (the node's request profile; ./route.ts adjusts them). */
  core: NodeCoreOptions
  rng?: Rng
  /** Tunnels one neighbour may have in progress here (default TUNNELS_PER_PEER). */
  perPeer?: number
  firstFrameTimeoutMs?: number
  /** Told of tunnel outcomes, sealed bytes and refusals (metrics; src/metrics.ts). */
  observer?: TunnelObserver
}

/** The trusted peer could not be reached through the network (the routing outcome, not a crypto failure). */
export class TunnelRouteError extends Error {
  readonly statusCode = 504
  constructor (message: string) {
    super(message)
    this.name = 'TunnelRouteError'
  }
}

/** A tunnel being routed here (through this node, or this node's own), by operation ID. */
export interface Op {
  /** The OPEN as received (header and sealed payload are passed on unchanged). */
  frame: TunnelFrame
  /** Previous hop; undefined for this node's own tunnel. */
  up?: TunnelLink
  child?: TunnelLink
  ended: AbortController
  local?: { resolve: (l: TunnelLink) => void, reject: (e: Error) => void }
}

export class TunnelHops {
  readonly core: NodeCore<string>
  private readonly c: TunnelServiceComponents
  private readonly init: TunnelServiceInit
  protected readonly log: Logger
  protected readonly selfKey: RoutingKey
  private readonly slots: PeerSlots
  protected readonly rng: Rng
  protected readonly ops = new Map<bigint, Op>()
  /** Streams of tunnels that are up (spliced here, or served here): reset when the node stops. */
  private readonly live = new Set<Stream>()
  private topologyId?: string
  protected readonly observer: TunnelObserver

  constructor (components: TunnelServiceComponents, init: TunnelServiceInit) {
    this.c = components
    this.init = init
    this.log = components.logger.forComponent('warren:tunnel')
    this.rng = init.rng ?? cryptoRng()
    this.selfKey = peerKey(components.peerId)
    this.core = tunnelCore(components.peerId.toString(), this.selfKey, this.rng, Date.now, init.core)
    this.slots = new PeerSlots(init.perPeer ?? TUNNELS_PER_PEER)
    this.observer = init.observer ?? {}
  }

  /** A TunnelSession's byte counter for this node's `role`. */
  protected sealedCounter (role: TunnelRole): (direction: 'sent' | 'received', bytes: number) => void {
    return (direction, bytes) => { this.observer.sealedBytes?.(role, direction, bytes) }
  }

  get state (): TunnelState {
    return this.init.state
  }

  /** Tunnels being routed here, and tunnels up through or at this node. */
  get active (): { routing: number, streams: number } {
    return { routing: this.ops.size, streams: this.live.size }
  }

  async start (): Promise<void> {
    await this.c.registrar.handle(TUNNEL_PROTOCOL, (s, conn) => { void this.onInbound(s, conn) }, { maxInboundStreams: 64, maxOutboundStreams: 128 })
    // The neighbours that speak the tunnel protocol are the tunnel core's pinned routes, filed
    // under their own location: the trusted peer is reached by key-closeness to its location.
    this.topologyId = await this.c.registrar.register(TUNNEL_PROTOCOL, {
      onConnect: (p) => { this.core.addRoute(peerKey(p).loc, p.toString(), true) },
      onDisconnect: (p) => { this.core.unpinPeer(p.toString()) }
    })
  }

  async stop (): Promise<void> {
    await this.c.registrar.unhandle(TUNNEL_PROTOCOL)
    if (this.topologyId !== undefined) this.c.registrar.unregister(this.topologyId)
    const stopping = new Error('node stopping')
    for (const [id, op] of this.ops) {
      op.local?.reject(new Error('the node is shutting down'))
      op.ended.abort()
      op.up?.stream.abort(stopping)
      op.child?.stream.abort(stopping)
      this.core.abort(id)
    }
    this.ops.clear()
    for (const s of this.live) s.abort(stopping)
    this.live.clear()
    this.slots.clear()
  }

  // ---- every hop ----

  private async onInbound (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const up = tunnelLink(peer, stream)
    let f: TunnelFrame
    try {
      f = await up.pb.read({ signal: AbortSignal.timeout(this.init.firstFrameTimeoutMs ?? FIRST_FRAME_TIMEOUT_MS) })
    } catch (err) {
      // An undecodable, oversized or missing first frame gets the generic ERROR like any other
      // malformed OPEN (the fuzz campaign found these reset without an answer); only a stream
      // the peer ended before its first frame is reset (nobody is left to read an answer).
      if (isEof(err)) stream.abort(err as Error)
      else await this.answer(up, errorFrame())
      return
    }
    if (!validOpen(f)) {
      await this.answer(up, errorFrame())
      return
    }
    if (!this.slots.acquire(peer)) {
      await this.answer(up, errorFrame())
      return
    }
    const id = f.header!.op
    const actions = this.ops.has(id)
      ? [{ type: 'reply', id, to: peer, reply: { type: 'loop' } } as const]
      : this.core.receive(peer, { kind: 'request', id, key: new RoutingKey(f.header!.dest), htl: f.htl })
    const first = actions[0]
    if (actions.length === 1 && first.type === 'reply' && first.reply.type === 'loop') {
      this.slots.release(peer)
      await this.answer(up, replyFrame(first.reply))
      return
    }
    this.ops.set(id, { frame: f, up, ended: new AbortController() })
    stream.addEventListener('close', () => { this.upstreamGone(id, up) }, { once: true })
    this.run(actions)
  }

  private upstreamGone (id: bigint, up: TunnelLink): void {
    if (this.ops.get(id)?.up !== up) return
    this.core.abort(id)
    this.release(id)
  }

  protected run (actions: Array<Action<string>>): void {
    void (async () => {
      for (const a of actions) {
        try {
          if (a.type === 'forward') await this.forward(a)
          else if (a.type === 'reply') await this.reply(a.id, a.reply)
          // 'store' and 'send-data' do not occur for tunnels (nothing is cached or inserted).
        } catch (err: any) {
          this.log.error('tunnel action %s for op %s failed - %e', a.type, a.id, err)
        }
      }
    })()
  }

  private async forward (a: Extract<Action<string>, { type: 'forward' }>): Promise<void> {
    const op = this.ops.get(a.id)
    if (op === undefined) return
    const signal = AbortSignal.any([AbortSignal.timeout(timerMs(a.timeoutMs)), op.ended.signal])
    let child: TunnelLink
    try {
      child = tunnelLink(a.to, await this.c.connectionManager.openStream(peerIdFromString(a.to), TUNNEL_PROTOCOL, { signal }))
    } catch (err: any) {
      this.log('could not reach %s for tunnel %s - %s', a.to, a.id, err.message)
      this.run(this.core.response(a.id, a.to, { type: 'failed', reason: 'unreachable' }))
      return
    }
    if (op.ended.signal.aborted) {
      child.stream.abort(new Error('tunnel ended'))
      return
    }
    op.child = child
    let got: TunnelFrame
    try {
      await child.pb.write({ ...op.frame, htl: a.htl }, { signal })
      got = await child.pb.read({ signal })
    } catch (err: any) {
      child.stream.abort(err)
      op.child = undefined
      this.run(this.core.response(a.id, a.to, { type: 'failed', reason: signal.aborted ? 'timeout' : 'error' }))
      return
    }
    const t = toResponse(got, a.to)
    if (t.terminal === true) {
      // The trusted peer refused the message: pass the same refusal back, try nothing else.
      child.stream.abort(new Error('tunnel refused'))
      op.child = undefined
      this.core.abort(a.id)
      if (op.up !== undefined) this.observer.operation?.('middleman', 'rejected')
      await this.fail(a.id, new TunnelRejected())
      return
    }
    if (t.res.type !== 'found') {
      op.child = undefined
      await child.stream.close().catch(() => { child.stream.abort(new Error('close failed')) })
    }
    this.run(this.core.response(a.id, a.to, t.res))
  }

  private async reply (id: bigint, r: Reply<string>): Promise<void> {
    const op = this.ops.get(id)
    if (op === undefined) return
    if (r.type === 'found' && r.fromStore) {
      await this.endpoint(id, op)
      return
    }
    if (r.type === 'found') {
      const child = op.child!
      this.release(id, true)
      if (op.local !== undefined) {
        op.local.resolve(child)
        return
      }
      await this.splice(op.up!, child, r.hops)
      return
    }
    this.release(id)
    if (op.local !== undefined) {
      op.local.reject(new TunnelRouteError(r.type === 'loop'
        ? 'tunnel operation ID collision; retry'
        : 'the network found no route to the trusted peer (is it online, and connected to the network?)'))
      return
    }
    this.observer.operation?.('middleman', r.type === 'loop' ? 'loop' : 'no_route')
    await this.answer(op.up!, replyFrame(r))
  }

  /** End tunnel `id` with the generic refusal, upstream or to the local caller. */
  private async fail (id: bigint, err: Error): Promise<void> {
    const op = this.ops.get(id)
    if (op === undefined) return
    this.release(id)
    if (op.local !== undefined) op.local.reject(err)
    else await this.answer(op.up!, errorFrame())
  }

  /** This node is the trusted peer: open, check for replay, accept, serve. */
  private async endpoint (id: bigint, op: Op): Promise<void> {
    const up = op.up
    this.release(id, true)
    if (up === undefined) return
    const h = op.frame.header!
    const key = this.state.keyOf(h.keyEpoch)
    let opened
    let refusal: TunnelRefusal = 'unknown_key'
    try {
      if (key === undefined) throw new TunnelRejected()
      refusal = 'crypto'
      opened = await openRequest(key.privateKey, h, op.frame.sealed)
      // Only an authentic request is recorded: garbage cannot fill the replay cache.
      refusal = 'replay'
      if (!await this.state.accept(h.keyEpoch, h.enc)) throw new TunnelRejected()
    } catch {
      this.observer.refused?.(refusal)
      this.observer.operation?.('trusted_peer', 'refused')
      this.slots.release(up.peer)
      await this.answer(up, errorFrame())
      return
    }
    this.live.add(up.stream)
    const ended = new AbortController()
    up.stream.addEventListener('close', () => { ended.abort() }, { once: true })
    try {
      await up.pb.write(replyFrame({ type: 'found', source: this.core.self, hops: 0, fromStore: true }), { signal: AbortSignal.timeout(FIRST_FRAME_TIMEOUT_MS) })
      this.observer.operation?.('trusted_peer', 'accepted')
      const session = new TunnelSession(up, opened.keys, h.op, false, undefined, this.sealedCounter('trusted_peer'))
      const card = new TextEncoder().encode((await this.state.card()).text)
      await serve(session, opened.req, this.init.executor, card, up.peer, ended.signal)
    } catch (err) {
      up.stream.abort(err as Error)
    } finally {
      this.live.delete(up.stream)
      this.slots.release(up.peer)
    }
  }

  /** A middleman once the tunnel is up: ACCEPTED upstream, then copy chunk frames both ways. */
  private async splice (up: TunnelLink, child: TunnelLink, hops: number): Promise<void> {
    this.live.add(up.stream)
    this.live.add(child.stream)
    const fail = (err: Error): void => {
      up.stream.abort(err)
      child.stream.abort(err)
    }
    try {
      await up.pb.write(replyFrame({ type: 'found', source: child.peer, hops, fromStore: false }), { signal: AbortSignal.timeout(FIRST_FRAME_TIMEOUT_MS) })
      this.observer.operation?.('middleman', 'relayed')
      await Promise.all([
        this.pump(up, child, false).catch(fail),
        this.pump(child, up, true).catch(fail)
      ])
    } catch (err) {
      fail(err as Error)
    } finally {
      this.live.delete(up.stream)
      this.live.delete(child.stream)
      this.slots.release(up.peer)
    }
  }

  /** Copy frames from `src` to `dst` until `src` ends (then half-close `dst`). */
  private async pump (src: TunnelLink, dst: TunnelLink, towardRequester: boolean): Promise<void> {
    for (;;) {
      let f: TunnelFrame
      try {
        f = await src.pb.read({ signal: AbortSignal.timeout(TUNNEL_IDLE_MS) })
      } catch (err) {
        if (!isEof(err)) throw err
        await dst.stream.close({ signal: AbortSignal.timeout(TUNNEL_IDLE_MS) })
        return
      }
      if (!relayable(f, towardRequester)) throw new Error('a frame that is not a chunk inside a tunnel')
      await dst.pb.write(f, { signal: AbortSignal.timeout(TUNNEL_IDLE_MS) })
      this.observer.sealedBytes?.('middleman', 'relayed', f.sealed.length)
    }
  }

  private async answer (l: TunnelLink, f: TunnelFrame): Promise<void> {
    try {
      await l.pb.write(f, { signal: AbortSignal.timeout(FIRST_FRAME_TIMEOUT_MS) })
      await l.stream.close({ signal: AbortSignal.timeout(FIRST_FRAME_TIMEOUT_MS) })
    } catch (err) {
      l.stream.abort(err as Error)
    }
  }

  /**
   * Forget tunnel `id`'s routing state. `keepStreams`: the tunnel is up, its streams now
   * belong to the splice or the session; otherwise the child stream is reset and the
   * upstream peer's slot given back.
   */
  protected release (id: bigint, keepStreams = false): void {
    const op = this.ops.get(id)
    if (op === undefined) return
    this.ops.delete(id)
    op.ended.abort()
    if (keepStreams) return
    op.child?.stream.abort(new Error('tunnel finished'))
    if (op.up !== undefined) this.slots.release(op.up.peer)
  }
}

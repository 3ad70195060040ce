/**
 * The warren libp2p service: drives the pure routing core (src/routing/node-core.ts) over
 * real libp2p streams. One stream per hop per operation:
 *
 *   request: REQUEST ->, <- DATA_FOUND | DATA_NOT_FOUND | ROUTE_NOT_FOUND | REJECTED_LOOP | ERROR
 *   insert:  INSERT ->, <- ALL_CLEAR | COLLISION | ROUTE_NOT_FOUND | REJECTED_LOOP | ERROR,
 *            then on ALL_CLEAR: INSERT_DATA ->, <- INSERT_STORED
 *
 * Everything received is hostile until checked: frames are length-capped, validated by
 * `expectFrame`, blocks are verified against their routing key before they are stored or
 * passed on, peers get a bounded number of concurrent operations, and every wait has a
 * deadline. A violation gets an ERROR frame and the stream is closed; the node carries on.
 */
import { serviceCapabilities } from '@libp2p/interface'
import { peerIdFromMultihash, peerIdFromString } from '@libp2p/peer-id'
import { isGlobalUnicast, isPrivate, pbStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import * as Digest from 'multiformats/hashes/digest'
import { Block } from '../../proto/warren.js'
import {
  ADDR_BOOK_SIZE, PEER_REF_TTL_MS, HOP_TIMEOUT_MS, INSERT_PROTOCOL, MAX_FRAME_BYTES, MAX_HTL, MAX_INBOUND_STREAMS, MAX_OPS_PER_PEER,
  MAX_OUTBOUND_STREAMS, FIRST_FRAME_TIMEOUT_MS, REQUEST_PROTOCOL, SOURCE_RESET_PROBABILITY, ROUTING_TABLE_SIZE
} from '../constants.js'
import { verifyBlock } from '../keys/block-verify.js'
import { RoutingKey } from '../keys/routing-key.js'
import { NodeCore } from '../routing/node-core.js'
import { AnnounceDriver } from './announce-handler.js'
import type { AnnounceResult } from './announce-handler.js'
import { cryptoRng, randomId } from '../routing/random.js'
import {
  checkPeerRef, dataFrame, errorFrame, expectFrame, Frame, FrameType, insertFrame, MAX_PEER_ADDRS,
  ProtocolViolation, requestFrame, violationFrame, WireError
} from './messages.js'
import type { PeerRef } from '../../proto/warren.js'
import { NotFoundError } from './errors.js'
import type { InsertResult, RequestResult, WarrenStore } from './types.js'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { AnnounceOptions } from '../routing/announce.js'
import type { Action, NodeCoreOptions, Reply, Response } from '../routing/node-core.js'
import type { Rng } from '../routing/random.js'
import type { ComponentLogger, Connection, Logger, PeerId, PeerStore, Startable, Stream } from '@libp2p/interface'
import type { AddressManager, ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { ProtobufMessageStream } from '@libp2p/utils'


export interface WarrenServiceInit {
  store: WarrenStore
  /** Overrides of the routing core's options (HTL limits, source reset, table size, timeouts...). */
  core?: Partial<NodeCoreOptions>
  rng?: Rng
  /** Operations one peer may have in progress here at once (default MAX_OPS_PER_PEER). */
  maxOpsPerPeer?: number
  /** How long an inbound stream may stay silent before its first frame (default FIRST_FRAME_TIMEOUT_MS). */
  firstFrameTimeoutMs?: number
  /**
   * Accept loopback and private-range addresses learnt from other peers (LANs, local test
   * networks). Off by default: otherwise any peer could make this node dial addresses of
   * its own choosing inside the operator's network.
   */
  allowPrivateAddrs?: boolean
  /** Overrides of the announcement options (default: walk references shared, src/constants.ts). */
  announce?: Partial<AnnounceOptions>
}

export interface WarrenServiceComponents {
  peerId: PeerId
  registrar: Registrar
  connectionManager: ConnectionManager
  addressManager: AddressManager
  peerStore: PeerStore
  logger: ComponentLogger
}

type PB = ProtobufMessageStream<Frame, Stream>

interface Link {
  peer: string
  stream: Stream
  pb: PB
}

interface OpContext {
  key: RoutingKey
  upstream?: Link
  child?: Link
  /** The block this node holds for the operation (verified), once it has one. */
  block?: Block
  local?: {
    resolve: (v: any) => void
    reject: (e: Error) => void
    allClear?: { depth: number, remaining: number, hops: number }
  }
}

const MAX_TIMER_MS = 2 ** 31 - 1

function pb (stream: Stream): PB {
  return pbStream(stream, { maxDataLength: MAX_FRAME_BYTES }).pb(Frame)
}

/** Seed location of a peer in routing tables: SHA-256 of its peer ID's multihash bytes. */
export function peerKey (peerId: PeerId): RoutingKey {
  return RoutingKey.hash(peerId.toMultihash().bytes)
}

export { NotFoundError }
export type { InsertResult, RequestResult, WarrenStore }

export class WarrenService implements Startable {
  readonly core: NodeCore<string>
  readonly [Symbol.toStringTag] = '@warren/service'
  readonly [serviceCapabilities]: string[] = ['@warren/routing']

  private readonly components: WarrenServiceComponents
  private readonly store: WarrenStore
  private readonly log: Logger
  private readonly rng: Rng
  private readonly maxOpsPerPeer: number
  private readonly firstFrameTimeoutMs: number
  private readonly ctx = new Map<bigint, OpContext>()
  private readonly opsByPeer = new Map<string, number>()
  private readonly self: string
  private readonly announcer: AnnounceDriver
  private topologyId?: string
  private started = false
  /**
   * Addresses learnt from the network (data sources, inserters, newcomers), filtered and
   * bounded (LRU). They reach libp2p's peer store only when we are about to dial the peer,
   * so a flood of made-up peer references cannot grow the peer store.
   */
  private readonly addrBook = new Map<string, Multiaddr[]>()
  private readonly allowPrivateAddrs: boolean
  private selfRef?: { ref: PeerRef, at: number }

  constructor (components: WarrenServiceComponents, init: WarrenServiceInit) {
    this.components = components
    this.store = init.store
    this.log = components.logger.forComponent('warren:service')
    this.rng = init.rng ?? cryptoRng()
    this.maxOpsPerPeer = init.maxOpsPerPeer ?? MAX_OPS_PER_PEER
    this.firstFrameTimeoutMs = init.firstFrameTimeoutMs ?? FIRST_FRAME_TIMEOUT_MS
    this.allowPrivateAddrs = init.allowPrivateAddrs ?? false
    this.self = components.peerId.toString()
    this.core = new NodeCore<string>({
      self: this.self,
      store: this.store,
      rng: this.rng,
      now: Date.now,
      options: {
        maxHtl: MAX_HTL,
        sourceResetProb: SOURCE_RESET_PROBABILITY,
        routingTableSize: ROUTING_TABLE_SIZE,
        hopTimeoutMs: HOP_TIMEOUT_MS,
        // What the simulator showed to win on the same seeds (docs/simulation.md) and costs no
        // anonymity: a loop rejection spends no HTL, and loop detection is per request path.
        // (Not insertBacktrack: in a small network an insert that backtracks all the way home
        // ends up stored at its originator only.)
        loopCostsHop: false,
        perPathLoops: true,
        ...init.core
      }
    })
    this.announcer = new AnnounceDriver({
      core: this.core,
      registrar: components.registrar,
      connectionManager: components.connectionManager,
      log: components.logger.forComponent('warren:announce'),
      rng: this.rng,
      peerRef: async (p) => await this.peerRef(p),
      learnPeer: (r) => this.learnPeer(r),
      prepareDial: async (p) => { await this.prepareDial(p) },
      options: init.announce
    })
  }

  /** Called once a connected peer that speaks warren is in the routing table (a neighbour). */
  onNeighbour?: (peer: string) => void

  /** This node's routing location, agreed by its last successful announcement (NaN before). */
  get location (): number {
    return this.announcer.location
  }

  /** Announce this node through `peer` (connected) with hops-to-live `htl`: see announce-handler.ts. */
  async announce (peer: string, htl: number): Promise<AnnounceResult> {
    if (!this.started) throw new Error('the warren service is not started')
    return await this.announcer.announce(peer, htl)
  }

  /** Take up the location an earlier announcement of this node agreed on (see AnnounceDriver.restoreLocation). */
  restoreLocation (loc: number): void {
    this.announcer.restoreLocation(loc)
  }

  /** Route a join toward this node's restored location again: see AnnounceDriver.rejoin. */
  async rejoin (): Promise<number | undefined> {
    if (!this.started) throw new Error('the warren service is not started')
    return await this.announcer.rejoin()
  }

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    const opts = { maxInboundStreams: MAX_INBOUND_STREAMS, maxOutboundStreams: MAX_OUTBOUND_STREAMS }
    await this.components.registrar.handle(REQUEST_PROTOCOL, (s, c) => this.onInbound('request', s, c), opts)
    await this.components.registrar.handle(INSERT_PROTOCOL, (s, c) => this.onInbound('insert', s, c), opts)
    await this.announcer.start()
    this.topologyId = await this.components.registrar.register(REQUEST_PROTOCOL, {
      onConnect: (peerId) => {
        this.core.addRoute(peerKey(peerId).loc, peerId.toString(), true)
        this.onNeighbour?.(peerId.toString())
      },
      onDisconnect: (peerId) => { this.core.unpinPeer(peerId.toString()) }
    })
    this.started = true
  }

  async stop (): Promise<void> {
    this.started = false
    await this.components.registrar.unhandle(REQUEST_PROTOCOL)
    await this.components.registrar.unhandle(INSERT_PROTOCOL)
    await this.announcer.stop()
    if (this.topologyId !== undefined) this.components.registrar.unregister(this.topologyId)
    for (const [id, c] of this.ctx) {
      c.local?.reject(new Error('the node is shutting down'))
      c.upstream?.stream.abort(new Error('node stopping'))
      c.child?.stream.abort(new Error('node stopping'))
      this.core.abort(id)
    }
    this.ctx.clear()
    this.opsByPeer.clear()
  }

  /** Operations in progress at this node (local and relayed). */
  get activeOperations (): number {
    return this.ctx.size + this.announcer.active
  }

  /** Request `key` from the network (or the local store). Rejects with NotFoundError. */
  async request (key: RoutingKey, options: { htl: number }): Promise<RequestResult> {
    return await this.startLocal<RequestResult>(key, 'request', options.htl)
  }

  /** Insert a block under `key`. The block must already verify against the key. */
  async insert (key: RoutingKey, block: Block, options: { htl: number }): Promise<InsertResult> {
    if (!verifyBlock(key, block)) throw new Error('refusing to insert a block that does not match its key')
    return await this.startLocal<InsertResult>(key, 'insert', options.htl, block)
  }

  private async startLocal<T> (key: RoutingKey, kind: 'request' | 'insert', htl: number, block?: Block): Promise<T> {
    if (!this.started) throw new Error('the warren service is not started')
    const id = randomId(this.rng)
    let local!: NonNullable<OpContext['local']>
    const promise = new Promise<T>((resolve, reject) => {
      local = { resolve, reject }
      this.ctx.set(id, { key, block, local })
    })
    // Backstop: the core's deadlines end every operation, this only guards against a bug.
    // It settles through its own closure, whatever happened to the operation's state.
    const ms = Math.min(MAX_TIMER_MS, this.core.timeoutFor(Math.min(htl, this.core.options.maxHtl)) * 2 + this.firstFrameTimeoutMs)
    const timer = setTimeout(() => {
      if (this.ctx.get(id)?.local === local) {
        this.core.abort(id)
        this.release(id)
      }
      local.reject(new Error(`${kind} timed out after ${ms} ms`))
    }, ms)
    try {
      this.run(this.core.receive(null, { kind, id, key, htl }))
      return await promise
    } finally {
      clearTimeout(timer)
    }
  }

  private async onInbound (kind: 'request' | 'insert', stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const link: Link = { peer, stream, pb: pb(stream) }
    let frame: Frame
    try {
      frame = expectFrame(await link.pb.read({ signal: AbortSignal.timeout(this.firstFrameTimeoutMs) }),
        [kind === 'request' ? FrameType.REQUEST : FrameType.INSERT])
    } catch (err) {
      await this.sendError(link, err)
      return
    }
    // Reserve this peer's slot before anything asynchronous, so that concurrent streams
    // cannot all pass the check; every early return gives it back.
    const active = this.opsByPeer.get(peer) ?? 0
    if (active >= this.maxOpsPerPeer) {
      await this.sendError(link, new ProtocolViolation(WireError.Code.OVERLOADED, `too many operations in progress from you (max ${this.maxOpsPerPeer})`))
      return
    }
    this.opsByPeer.set(peer, active + 1)
    const m = (frame.request ?? frame.insert)!
    const key = new RoutingKey(m.key)
    let source: string | undefined
    if (frame.insert?.source !== undefined) {
      try {
        source = this.learnPeer(frame.insert.source)
      } catch (err) {
        this.releaseSlot(peer)
        await this.sendError(link, err)
        return
      }
    }
    // An ID in use here is a loop, even if it fell out of the seen cache (a replayed ID must
    // never take over an operation in progress).
    const actions = this.ctx.has(m.id)
      ? [{ type: 'reply', id: m.id, to: peer, reply: { type: 'loop' } } as const]
      : this.core.receive(peer, { kind, id: m.id, key, htl: m.htl, source })
    const first = actions[0]
    if (actions.length === 1 && first.type === 'reply' && first.reply.type === 'loop') {
      this.releaseSlot(peer)
      await this.send(link, { type: FrameType.REJECTED_LOOP }, true)
      return
    }
    this.ctx.set(m.id, { key, upstream: link })
    this.run(actions)
  }

  private releaseSlot (peer: string): void {
    const n = (this.opsByPeer.get(peer) ?? 1) - 1
    if (n <= 0) this.opsByPeer.delete(peer)
    else this.opsByPeer.set(peer, n)
  }

  /**
   * Execute the core's actions in order: a block is persisted before the reply that follows
   * it goes out, so INSERT_STORED and a local success both mean "on disk here".
   */
  private run (actions: Array<Action<string>>): void {
    void this.runInOrder(actions)
  }

  private async runInOrder (actions: Array<Action<string>>): Promise<void> {
    for (const a of actions) {
      try {
        switch (a.type) {
          case 'forward': await this.forward(a); break
          case 'reply': await this.reply(a.id, a.to, a.reply); break
          case 'store': await this.storeBlock(a.id, a.key); break
          case 'send-data': await this.sendData(a.id, a.to, a.timeoutMs); break
        }
      } catch (err: any) {
        this.log.error('action %s for op %s failed - %e', a.type, a.id, err)
        if (a.type === 'store') {
          // Never report "stored" for a block that is not on disk: end the operation here.
          await this.failOp(a.id, `could not store the block here: ${err.message}`)
          return
        }
      }
    }
  }

  /** End an operation with an error: to the local client, or as an ERROR frame upstream. */
  private async failOp (id: bigint, message: string): Promise<void> {
    const c = this.ctx.get(id)
    if (c === undefined) return
    this.core.abort(id)
    this.release(id)
    c.local?.reject(new Error(message))
    if (c.upstream !== undefined) await this.send(c.upstream, errorFrame(WireError.Code.INTERNAL, message), true)
  }

  private deliver (id: bigint, peer: string, res: Response<string>): void {
    this.run(this.core.response(id, peer, res))
  }

  private async forward (a: Extract<Action<string>, { type: 'forward' }>): Promise<void> {
    const c = this.ctx.get(a.id)
    if (c === undefined) return
    const signal = AbortSignal.timeout(Math.min(MAX_TIMER_MS, Math.max(1, a.timeoutMs)))
    let stream: Stream
    try {
      await this.prepareDial(a.to)
      stream = await this.components.connectionManager.openStream(peerIdFromString(a.to),
        a.kind === 'request' ? REQUEST_PROTOCOL : INSERT_PROTOCOL, { signal })
    } catch (err: any) {
      this.log('could not reach %s for op %s - %s', a.to, a.id, err.message)
      this.deliver(a.id, a.to, { type: 'failed', reason: 'unreachable' })
      return
    }
    const link: Link = { peer: a.to, stream, pb: pb(stream) }
    c.child = link
    let res: Response<string>
    let keepOpen = false
    try {
      const frame = a.kind === 'request'
        ? requestFrame(a.id, a.key.bytes, a.htl)
        : insertFrame(a.id, a.key.bytes, a.htl, await this.peerRef(a.source ?? this.self))
      await link.pb.write(frame, { signal })
      const allowed = a.kind === 'request'
        ? [FrameType.DATA_FOUND, FrameType.DATA_NOT_FOUND, FrameType.ROUTE_NOT_FOUND, FrameType.REJECTED_LOOP, FrameType.ERROR]
        : [FrameType.ALL_CLEAR, FrameType.COLLISION, FrameType.ROUTE_NOT_FOUND, FrameType.REJECTED_LOOP, FrameType.ERROR]
      res = await this.toResponse(c, link, expectFrame(await link.pb.read({ signal }), allowed))
      keepOpen = res.type === 'all-clear'
    } catch (err: any) {
      const timeout = signal.aborted
      this.log('op %s: %s from %s - %s', a.id, timeout ? 'timeout' : 'bad answer', a.to, err.message)
      if (!timeout && err instanceof ProtocolViolation) await this.sendError(link, err)
      else stream.abort(err)
      res = { type: 'failed', reason: timeout ? 'timeout' : (err instanceof ProtocolViolation ? 'invalid' : 'error') }
    }
    if (!keepOpen) {
      if (c.child === link) c.child = undefined
      await stream.close().catch(() => stream.abort(new Error('close failed')))
    }
    this.deliver(a.id, a.to, res)
  }

  private async toResponse (c: OpContext, link: Link, f: Frame): Promise<Response<string>> {
    switch (f.type) {
      case FrameType.DATA_FOUND:
      case FrameType.COLLISION: {
        const body = (f.dataFound ?? f.collision)!
        if (!verifyBlock(c.key, body.block!)) {
          throw new ProtocolViolation(WireError.Code.INVALID_BLOCK, 'the block does not match the requested key')
        }
        c.block = body.block
        const source = body.source === undefined ? link.peer : this.learnPeer(body.source)
        return { type: f.type === FrameType.DATA_FOUND ? 'found' : 'collision', source, hops: body.hops }
      }
      case FrameType.DATA_NOT_FOUND: return { type: 'not-found', hops: f.dataNotFound!.hops }
      case FrameType.ROUTE_NOT_FOUND: return { type: 'route-not-found', remaining: f.routeNotFound!.remainingHtl, hops: f.routeNotFound!.hops }
      case FrameType.REJECTED_LOOP: return { type: 'loop' }
      case FrameType.ALL_CLEAR: return { type: 'all-clear', depth: f.allClear!.depth, remaining: f.allClear!.remainingHtl, hops: f.allClear!.hops }
      default:
        this.log('op error from %s: %s', link.peer, f.error?.message)
        return { type: 'failed', reason: 'error' }
    }
  }

  private async reply (id: bigint, to: string | null, r: Reply<string>): Promise<void> {
    const c = this.ctx.get(id)
    if (c === undefined) return
    if (to === null) {
      await this.replyLocal(id, c, r)
      return
    }
    const up = c.upstream
    if (up === undefined) return
    if (r.type === 'all-clear') {
      await this.send(up, { type: FrameType.ALL_CLEAR, allClear: { depth: r.depth, remainingHtl: r.remaining, hops: r.hops } }, false)
      await this.awaitInsertData(id, c, up)
      return
    }
    try {
      await this.replyUpstream(c, up, r)
    } finally {
      this.release(id)
    }
  }

  private async replyUpstream (c: OpContext, up: Link, r: Exclude<Reply<string>, { type: 'all-clear' }>): Promise<void> {
    switch (r.type) {
      case 'found':
      case 'collision': {
        const block = r.fromStore ? await this.readBlock(c.key) : c.block
        const ref = await this.peerRef(r.source)
        const frame = block === undefined
          ? { type: FrameType.DATA_NOT_FOUND, dataNotFound: { hops: r.hops } }
          : dataFrame(r.type === 'found' ? FrameType.DATA_FOUND : FrameType.COLLISION, block, ref, r.hops)
        await this.send(up, frame, true)
        break
      }
      case 'not-found': await this.send(up, { type: FrameType.DATA_NOT_FOUND, dataNotFound: { hops: r.hops } }, true); break
      case 'route-not-found': await this.send(up, { type: FrameType.ROUTE_NOT_FOUND, routeNotFound: { remainingHtl: r.remaining, hops: r.hops } }, true); break
      case 'loop': await this.send(up, { type: FrameType.REJECTED_LOOP }, true); break
      case 'stored': await this.send(up, { type: FrameType.INSERT_STORED, insertStored: { stored: r.stored } }, true); break
    }
  }

  /** After ALL_CLEAR upstream: wait for the block, verify it, and start the data phase. */
  private async awaitInsertData (id: bigint, c: OpContext, up: Link): Promise<void> {
    try {
      const f = expectFrame(await up.pb.read({ signal: AbortSignal.timeout(this.firstFrameTimeoutMs + HOP_TIMEOUT_MS) }), [FrameType.INSERT_DATA])
      const block = f.insertData!.block!
      if (!verifyBlock(c.key, block)) throw new ProtocolViolation(WireError.Code.INVALID_BLOCK, 'the block does not match the insert key')
      c.block = block
    } catch (err) {
      await this.sendError(up, err)
      this.core.abort(id)
      this.release(id)
      return
    }
    this.run(this.core.insertData(id))
  }

  private async replyLocal (id: bigint, c: OpContext, r: Reply<string>): Promise<void> {
    const local = c.local!
    switch (r.type) {
      case 'found':
      case 'collision': {
        const block = r.fromStore ? await this.readBlock(c.key) : c.block
        this.release(id)
        if (block === undefined) {
          local.reject(new NotFoundError('the block vanished from the local store', r.hops))
        } else if (r.type === 'found') {
          local.resolve({ block, hops: r.hops, source: r.source } satisfies RequestResult)
        } else {
          local.resolve({ collision: true, block, stored: 0, depth: 0, remainingHtl: 0, hops: r.hops } satisfies InsertResult)
        }
        return
      }
      case 'not-found':
        this.release(id)
        local.reject(new NotFoundError(`not found: hops-to-live ran out after ${r.hops} hops`, r.hops))
        return
      case 'route-not-found':
        this.release(id)
        local.reject(new NotFoundError(`not found: no more routes after ${r.hops} hops (${r.remaining} hops-to-live unused)`, r.hops))
        return
      case 'loop':
        this.release(id)
        local.reject(new Error('transaction ID collision; retry'))
        return
      case 'all-clear':
        local.allClear = { depth: r.depth, remaining: r.remaining, hops: r.hops }
        this.run(this.core.insertData(id))
        return
      case 'stored': {
        const ac = local.allClear ?? { depth: 1, remaining: 0, hops: 0 }
        this.release(id)
        local.resolve({ collision: false, stored: r.stored, depth: ac.depth, remainingHtl: ac.remaining, hops: ac.hops } satisfies InsertResult)
      }
    }
  }

  private async sendData (id: bigint, to: string, timeoutMs: number): Promise<void> {
    const c = this.ctx.get(id)
    const link = c?.child
    if (c === undefined || link === undefined || link.peer !== to || c.block === undefined) {
      this.deliver(id, to, { type: 'failed', reason: 'error' })
      return
    }
    const signal = AbortSignal.timeout(Math.min(MAX_TIMER_MS, Math.max(1, timeoutMs)))
    try {
      await link.pb.write({ type: FrameType.INSERT_DATA, insertData: { block: c.block } }, { signal })
      const f = expectFrame(await link.pb.read({ signal }), [FrameType.INSERT_STORED, FrameType.ERROR])
      await link.stream.close().catch(() => {})
      c.child = undefined
      if (f.type === FrameType.INSERT_STORED) {
        this.run(this.core.dataStored(id, to, f.insertStored!.stored))
        return
      }
      this.log('insert data refused by %s: %s', to, f.error?.message)
    } catch (err: any) {
      link.stream.abort(err)
    }
    this.deliver(id, to, { type: 'failed', reason: signal.aborted ? 'timeout' : 'error' })
  }

  private async storeBlock (id: bigint, key: RoutingKey): Promise<void> {
    const block = this.ctx.get(id)?.block
    if (block === undefined) return
    await this.store.put(key, Block.encode(block))
  }

  private async readBlock (key: RoutingKey): Promise<Block | undefined> {
    const bytes = await this.store.get(key)
    return bytes === undefined ? undefined : Block.decode(bytes)
  }

  /** Forget an operation's driver state once its last reply is out. */
  private release (id: bigint): void {
    const c = this.ctx.get(id)
    if (c === undefined) return
    this.ctx.delete(id)
    if (c.child !== undefined) c.child.stream.abort(new Error('operation finished'))
    if (c.upstream !== undefined) this.releaseSlot(c.upstream.peer)
  }

  private async send (link: Link, frame: Frame, close: boolean): Promise<void> {
    try {
      await link.pb.write(frame, { signal: AbortSignal.timeout(HOP_TIMEOUT_MS * 2) })
      if (close) await link.stream.close({ signal: AbortSignal.timeout(HOP_TIMEOUT_MS) })
    } catch (err: any) {
      this.log('could not answer %s - %s', link.peer, err.message)
      link.stream.abort(err)
    }
  }

  /** Answer a protocol violation with an ERROR frame, then close the stream. */
  private async sendError (link: Link, err: unknown): Promise<void> {
    const frame = violationFrame(err)
    if (frame === undefined) {
      link.stream.abort(err as Error)
      return
    }
    this.log('protocol violation by %s: %s', link.peer, frame.error?.message)
    await this.send(link, frame, true)
  }

  /** A dialable reference to `peer` (ourselves or a peer we know addresses for). */
  private async peerRef (peer: string): Promise<PeerRef> {
    if (peer === this.self) {
      const now = Date.now()
      if (this.selfRef === undefined || now - this.selfRef.at > PEER_REF_TTL_MS) {
        const addrs = this.components.addressManager.getAddresses().map((a) => a.decapsulateCode(421))
        this.selfRef = { at: now, ref: { peerId: this.components.peerId.toMultihash().bytes, multiaddrs: addrs.slice(0, MAX_PEER_ADDRS).map((a) => a.bytes) } }
      }
      return this.selfRef.ref
    }
    const id = peerIdFromString(peer)
    let addrs = this.addrBook.get(peer)
    if (addrs === undefined) {
      try {
        addrs = (await this.components.peerStore.get(id)).addresses.map((a) => a.multiaddr)
      } catch {
        addrs = []
      }
    }
    return { peerId: id.toMultihash().bytes, multiaddrs: addrs.slice(0, MAX_PEER_ADDRS).map((a) => a.bytes) }
  }

  /** Before dialling `peer`: hand libp2p the addresses we learnt for it, if we are not connected. */
  private async prepareDial (peer: string): Promise<void> {
    const addrs = this.addrBook.get(peer)
    if (addrs === undefined) return
    const id = peerIdFromString(peer)
    if (this.components.connectionManager.getConnections(id).length > 0) return
    await this.components.peerStore.merge(id, { multiaddrs: addrs })
  }

  /** May this node dial an address a peer told it about? TCP over IP only, public unless allowed. */
  private dialable (ma: Multiaddr): boolean {
    const [ip, tcp] = ma.getComponents()
    if ((ip?.name !== 'ip4' && ip?.name !== 'ip6') || tcp?.name !== 'tcp') return false
    if (this.allowPrivateAddrs) return true
    return ip.name === 'ip4' ? !isPrivate(ma) : isGlobalUnicast(ma)
  }

  /**
   * Parse a peer reference from the wire and remember its dialable addresses in the bounded
   * address book. Returns its peer ID string.
   */
  private learnPeer (ref: PeerRef): string {
    checkPeerRef(ref)
    let id: PeerId
    let addrs: Multiaddr[]
    try {
      id = peerIdFromMultihash(Digest.decode(ref.peerId))
    } catch {
      throw new ProtocolViolation(WireError.Code.MALFORMED, 'peer reference with an unparseable peer ID')
    }
    try {
      addrs = ref.multiaddrs.map((b) => multiaddr(b)).filter((a) => this.dialable(a))
    } catch {
      throw new ProtocolViolation(WireError.Code.MALFORMED, 'peer reference with an unparseable multiaddr')
    }
    const s = id.toString()
    if (s !== this.self && addrs.length > 0) {
      this.addrBook.delete(s)
      this.addrBook.set(s, addrs)
      if (this.addrBook.size > ADDR_BOOK_SIZE) this.addrBook.delete(this.addrBook.keys().next().value as string)
    }
    return s
  }
}

export function warren (init: WarrenServiceInit): (components: WarrenServiceComponents) => WarrenService {
  return (components) => new WarrenService(components, init)
}

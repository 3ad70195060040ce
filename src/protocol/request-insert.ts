/**
 * The request and insert protocols: a thin driver of the pure routing core
 * (src/routing/node-core.ts) over one `Link` per hop per operation: a channel of the
 * neighbour's link stream (link.ts), or, toward peers without it, a libp2p stream of its own
 * (REQUEST_PROTOCOL / INSERT_PROTOCOL, still served for them). It admits inbound
 * operations (first frame, per-peer slot), turns frames into core events and core actions into
 * frames (request-frames.ts), and keeps for each operation only what the core cannot hold:
 * its links and the verified block.
 *
 * Everything received is hostile until checked: frames are length-capped and validated by
 * `expectFrame`, blocks are verified against their routing key before they are stored or
 * passed on, peers get a bounded number of concurrent operations, and every wait has a
 * deadline. A violation gets an ERROR frame and the stream is closed; the node carries on.
 */
import type { Block } from '../../proto/warren.js'
import { HOP_TIMEOUT_MS, INSERT_PROTOCOL, REQUEST_PROTOCOL } from '../constants.js'
import { RoutingKey } from '../keys/routing-key.js'
import { randomId } from '../routing/random.js'
import { errorFrame, FrameType, insertFrame, requestFrame, WireError } from './messages.js'
import { ANSWERS, localOutcome, readBlock, readInsertData, replyFrame, toResponse } from './request-frames.js'
import { abortHops, deadline, exchange, hopFailure, link, openLink, readFirst, timerMs, whenAborted } from './stream.js'
import type { Links } from './links.js'
import type { Link, PeerSlots, WireErrorHook } from './stream.js'
import type { InsertResult, RequestResult, WarrenStore } from './types.js'
import { InsertNotPlacedError } from './errors.js'
import { answer, keepAfterAll, OP_ENDED, refuse, startStore, STORE_FAILED } from './op-context.js'
import type { Kind, OpContext } from './op-context.js'
import { Admission } from './admission.js'
import type { Admitted } from './admission.js'
import type { AddressBook } from './address-book.js'
import type { InsertQuota } from './quota.js'
import type { Action, NodeCore, Reply, Response } from '../routing/node-core.js'
import type { Rng } from '../routing/random.js'
import type { Connection, Logger, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ConnectionManager } from '@libp2p/interface-internal'

export interface RequestInsertComponents {
  core: NodeCore<string>
  store: WarrenStore
  /** What the node's own requests and inserts keep (the core's `client` stores): never read for a peer. */
  clientCache: WarrenStore
  addressBook: AddressBook
  connectionManager: ConnectionManager
  /** The link streams to and from the neighbours (link.ts). */
  links: Links
  /** Per-peer and per-IP slots and the insert quota (admission.ts). */
  slots: PeerSlots
  ipSlots: PeerSlots
  quota: InsertQuota
  rng: Rng
  log: Logger
  /** Told of every ERROR frame on this driver's per-operation streams (link channels: Links). */
  onWireError?: WireErrorHook
}

export interface RequestInsertInit {
  /** How long an inbound stream may stay silent before its first frame. */
  firstFrameTimeoutMs: number
  /** Operations from all peers together in progress here at most (MAX_OPS_TOTAL); past it, OVERLOADED. */
  maxOps: number
}

export class RequestInsertHandler {
  private readonly c: RequestInsertComponents
  private readonly firstFrameTimeoutMs: number
  private readonly admission: Admission
  private readonly ctx = new Map<bigint, OpContext>()

  constructor (components: RequestInsertComponents, init: RequestInsertInit) {
    this.c = components
    this.firstFrameTimeoutMs = init.firstFrameTimeoutMs
    this.admission = new Admission(components, init.maxOps)
  }

  /** Operations in progress here (the node's own and relayed). */
  get active (): number {
    return this.ctx.size
  }

  /** The node is stopping: fail its own operations, reset every stream, forget everything. */
  stop (): void {
    const stopping = new Error('node stopping')
    for (const [id, c] of this.ctx) {
      c.local?.reject(new Error('the node is shutting down'))
      c.ended.abort(OP_ENDED)
      this.c.core.abort(id)
    }
    abortHops(this.ctx.values(), stopping)
    this.ctx.clear()
  }

  /**
   * Start the node's own request or insert of `key` (the block, verified, for an insert).
   * Aborting `signal` ends it at once: the core forgets it, the child stream is reset (so the
   * nodes below release it too: see `onInbound`) and the promise rejects with the abort reason.
   * `keep` false: the block is not written to the client cache (op-context.ts `startStore`).
   */
  async start<T extends RequestResult | InsertResult> (key: RoutingKey, kind: Kind, htl: number, block?: Block, signal?: AbortSignal, keep = true): Promise<T> {
    signal?.throwIfAborted()
    const id = randomId(this.c.rng)
    let local!: NonNullable<OpContext['local']>
    const promise = new Promise<T>((resolve, reject) => {
      local = { kind, resolve, reject, keep }
      this.ctx.set(id, { key, block, local, ended: new AbortController() })
    })
    const end = (err: Error): void => {
      if (this.ctx.get(id)?.local === local) {
        this.c.core.abort(id)
        this.release(id)
      }
      local.reject(err)
    }
    // Backstop: the core's deadlines end every operation, this only guards against a bug.
    // It settles through its own closure, whatever happened to the operation's state.
    const core = this.c.core
    const ms = timerMs(core.timeoutFor(Math.min(htl, core.options.maxHtl)) * 2 + this.firstFrameTimeoutMs)
    const timer = setTimeout(() => { end(new Error(`${kind} timed out after ${ms} ms`)) }, ms)
    const unlisten = whenAborted(signal, end)
    try {
      this.run(core.receive(null, { kind, id, key, htl }))
      return await promise
    } finally {
      clearTimeout(timer)
      unlisten()
    }
  }

  /** An inbound stream for `kind` (per-operation protocols): admit it and hand its first frame to the core. */
  async onInbound (kind: Kind, stream: Stream, connection: Connection): Promise<void> {
    const up = link(connection.remotePeer.toString(), stream, this.c.onWireError)
    await this.admitOp(up, [kind === 'request' ? FrameType.REQUEST : FrameType.INSERT], connection.remoteAddr)
  }

  /** A channel a neighbour opened on its link stream: a request or an insert, as its first frame says. */
  async onChannel (up: Link, connection: Connection): Promise<void> {
    await this.admitOp(up, [FrameType.REQUEST, FrameType.INSERT], connection.remoteAddr)
  }

  private async admitOp (up: Link, allowed: FrameType[], remoteAddr: Multiaddr): Promise<void> {
    const peer = up.peer
    const frame = await readFirst(up, allowed, this.firstFrameTimeoutMs, HOP_TIMEOUT_MS * 2, HOP_TIMEOUT_MS, this.c.log)
    if (frame === undefined) return
    const kind: Kind = frame.type === FrameType.REQUEST ? 'request' : 'insert'
    // The slots are reserved before anything asynchronous; every early return gives them back.
    let admitted: Admitted
    try {
      admitted = this.admission.admit(kind, peer, remoteAddr)
    } catch (err) {
      await refuse(this.c.log, up, err)
      return
    }
    const m = (frame.request ?? frame.insert)!
    const key = new RoutingKey(m.key)
    let source: string | undefined
    if (frame.insert?.source !== undefined) {
      try {
        source = this.c.addressBook.learn(frame.insert.source)
      } catch (err) {
        this.admission.release(admitted)
        await refuse(this.c.log, up, err)
        return
      }
    }
    // An ID in use here is a loop, even if it fell out of the seen cache (a replayed ID must
    // never take over an operation in progress).
    const actions = this.ctx.has(m.id)
      ? [{ type: 'reply', id: m.id, to: peer, reply: { type: 'loop' } } as const]
      : this.c.core.receive(peer, { kind, id: m.id, key, htl: m.htl, source })
    const first = actions[0]
    if (actions.length === 1 && first.type === 'reply' && first.reply.type === 'loop') {
      this.admission.release(admitted)
      await answer(this.c.log, up, { type: FrameType.REJECTED_LOOP }, true)
      return
    }
    this.ctx.set(m.id, { key, upstream: up, admitted, ended: new AbortController() })
    // The node above gave up (its caller aborted, it stopped, its stream was reset): nobody
    // waits for the answer, so end the operation here now rather than at its deadline, and
    // reset our own child stream, so that the nodes below do the same.
    up.onClose(() => { this.upstreamGone(m.id, up) })
    this.run(actions)
  }

  private upstreamGone (id: bigint, up: Link): void {
    if (this.ctx.get(id)?.upstream !== up) return
    this.c.log('op %s: %s went away; ending it here', id, up.peer)
    this.c.core.abort(id)
    this.release(id)
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
          case 'reply':
            // An own insert that ends with the block only here (`stored` 1: no peer took it,
            // as HTL 0 asks) keeps it for its user after all.
            if (a.to === null && a.reply.type === 'stored' && a.reply.stored === 1) keepAfterAll(this.c, a.id, this.ctx.get(a.id))
            if ((a.to === null || a.reply.type === 'stored') && !await this.stored(a.id)) return
            await this.reply(a.id, a.to, a.reply)
            break
          case 'store': startStore(this.c, a.id, this.ctx.get(a.id), a.key, a.client === true); break
          case 'send-data': await this.sendData(a.id, a.to, a.timeoutMs); break
        }
      } catch (err: any) {
        this.c.log.error('action %s for op %s failed - %e', a.type, a.id, err)
      }
    }
  }

  /**
   * End an operation with an error: `message` to the local client; upstream, a generic ERROR
   * frame (local paths and internal errors stay in this node's log).
   */
  private async failOp (id: bigint, message: string): Promise<void> {
    const c = this.ctx.get(id)
    if (c === undefined) return
    this.c.core.abort(id)
    this.release(id)
    c.local?.reject(new Error(message))
    if (c.upstream !== undefined) await answer(this.c.log, c.upstream, errorFrame(WireError.Code.INTERNAL, STORE_FAILED), true)
  }

  private deliver (id: bigint, peer: string, res: Response<string>): void {
    this.run(this.c.core.response(id, peer, res))
  }

  private async forward (a: Extract<Action<string>, { type: 'forward' }>): Promise<void> {
    const c = this.ctx.get(a.id)
    if (c === undefined) return
    using d = deadline(a.timeoutMs, c.ended.signal)
    const signal = d.signal
    let child: Link
    try {
      child = await this.openChild(a.to, a.kind, signal)
    } catch (err: any) {
      this.c.log('could not reach %s for op %s - %s', a.to, a.id, err.message)
      this.deliver(a.id, a.to, { type: 'failed', reason: 'unreachable' })
      return
    }
    if (c.ended.signal.aborted) {
      child.abort(new Error('operation ended'))
      return
    }
    c.child = child
    let res: Response<string>
    let keepOpen = false
    try {
      const frame = a.kind === 'request'
        ? requestFrame(a.id, a.key.bytes, a.htl)
        : insertFrame(a.id, a.key.bytes, a.htl, a.source === undefined ? undefined : await this.c.addressBook.ref(a.source))
      const got = await exchange(child, frame, ANSWERS[a.kind], signal)
      if (got.type === FrameType.ERROR) {
        this.c.log('op error from %s: %s', a.to, got.error?.message)
        if (got.error?.code === WireError.Code.OVERLOADED && c.local !== undefined) c.local.overloaded = true
      }
      const t = toResponse(got, c.key, a.to, (ref) => this.c.addressBook.learn(ref))
      if (t.block !== undefined) c.block = t.block
      res = t.res
      keepOpen = res.type === 'all-clear'
    } catch (err: any) {
      const reason = hopFailure(err, signal)
      this.c.log('op %s: %s from %s - %s', a.id, reason === 'timeout' ? 'timeout' : 'bad answer', a.to, err.message)
      if (reason === 'invalid') await refuse(this.c.log, child, err)
      else child.abort(err)
      res = { type: 'failed', reason }
    }
    if (!keepOpen) {
      if (c.child === child) c.child = undefined
      await child.close().catch(() => { child.abort(new Error('close failed')) })
    }
    this.deliver(a.id, a.to, res)
  }

  private async reply (id: bigint, to: string | null, r: Reply<string>): Promise<void> {
    const c = this.ctx.get(id)
    if (c === undefined) return
    if (r.type === 'all-clear') {
      if (to === null) {
        c.local!.allClear = { depth: r.depth, remaining: r.remaining, hops: r.hops }
        this.run(this.c.core.insertData(id))
      } else if (c.upstream !== undefined) {
        await answer(this.c.log, c.upstream, { type: FrameType.ALL_CLEAR, allClear: { depth: r.depth, remainingHtl: r.remaining, hops: r.hops } }, false)
        await this.awaitInsertData(id, c, c.upstream)
      }
      return
    }
    const found = r.type === 'found' || r.type === 'collision'
    const block = found ? (r.fromStore ? await readBlock(this.c.store, c.key) : c.block) : undefined
    if (to === null) {
      this.release(id)
      const out = localOutcome(c.local!.kind, r, block, c.local!.allClear)
      if ('ok' in out) c.local!.resolve(out.ok)
      else {
        if (out.err instanceof InsertNotPlacedError) out.err.overloaded = c.local!.overloaded === true
        c.local!.reject(out.err)
      }
      return
    }
    const up = c.upstream
    if (up === undefined) return
    try {
      await answer(this.c.log, up, replyFrame(r, block, found ? await this.c.addressBook.ref(r.source) : undefined), true)
    } finally {
      this.release(id)
    }
  }

  /** After ALL_CLEAR upstream: wait for the block, verify it, and start the data phase. */
  private async awaitInsertData (id: bigint, c: OpContext, up: Link): Promise<void> {
    try {
      c.block = await readInsertData(up, c.key, this.firstFrameTimeoutMs + HOP_TIMEOUT_MS)
      this.c.quota.chargeBlock(up.peer, c.block)
    } catch (err) {
      await refuse(this.c.log, up, err)
      this.c.core.abort(id)
      this.release(id)
      return
    }
    this.run(this.c.core.insertData(id))
  }

  private async sendData (id: bigint, to: string, timeoutMs: number): Promise<void> {
    const c = this.ctx.get(id)
    const child = c?.child
    if (c === undefined || child === undefined || child.peer !== to || c.block === undefined) {
      this.deliver(id, to, { type: 'failed', reason: 'error' })
      return
    }
    using d = deadline(timeoutMs, c.ended.signal)
    const signal = d.signal
    try {
      const f = await exchange(child, { type: FrameType.INSERT_DATA, insertData: { block: c.block } }, [FrameType.INSERT_STORED, FrameType.ERROR], signal)
      await child.close().catch(() => {})
      c.child = undefined
      if (f.type === FrameType.INSERT_STORED) {
        this.run(this.c.core.dataStored(id, to, f.insertStored!.stored))
        return
      }
      this.c.log('insert data refused by %s: %s', to, f.error?.message)
    } catch (err: any) {
      child.abort(err)
    }
    this.deliver(id, to, { type: 'failed', reason: signal.aborted ? 'timeout' : 'error' })
  }

  /**
   * A child for operation hop `kind` to `to`: a channel of the link stream to it, or (a peer
   * without the link protocol) a stream of the per-operation protocol.
   */
  private async openChild (to: string, kind: Kind, signal: AbortSignal): Promise<Link> {
    const prepare = async (p: string): Promise<void> => { await this.c.addressBook.prepareDial(p) }
    await prepare(to)
    const channel = await this.c.links.open(to, signal)
    if (channel !== undefined) return channel
    return await openLink(this.c.connectionManager, async () => {}, to, kind === 'request' ? REQUEST_PROTOCOL : INSERT_PROTOCOL, signal, this.c.onWireError)
  }

  /**
   * Whether the operation's block write (if any) succeeded. If it failed, the operation ends here:
   * never report "stored" for a block that is not on disk.
   */
  private async stored (id: bigint): Promise<boolean> {
    const storing = this.ctx.get(id)?.storing
    if (storing === undefined) return true
    try {
      await storing
      return true
    } catch (err: any) {
      await this.failOp(id, `could not store the block here: ${err.message}`)
      return false
    }
  }

  /** Forget an operation's driver state once its last reply is out, and free its upstream's slot. */
  private release (id: bigint): void {
    const c = this.ctx.get(id)
    if (c === undefined) return
    this.ctx.delete(id)
    c.ended.abort(OP_ENDED)
    if (c.child !== undefined) c.child.abort(new Error('operation finished'))
    if (c.admitted !== undefined) this.admission.release(c.admitted)
  }
}

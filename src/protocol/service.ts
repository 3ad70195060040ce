/**
 * The warren libp2p service (in the shape of js-libp2p's kad-dht: a service class over
 * `rpc`-style handlers): its lifecycle, the registrar (protocol handlers and the topology
 * that turns connected peers into routing-table neighbours), and the construction of the
 * routing cores and the drivers that run them:
 *
 *   request-insert.ts   /warren/request, /warren/insert   -> NodeCore (src/routing/node-core.ts)
 *   announce.ts         /warren/announce                  -> AnnounceCore (src/routing/announce.ts)
 *   join.ts             /warren/join                      -> AnnounceCore
 *
 * over the shared plumbing in stream.ts and the address book in address-book.ts.
 */
import { setTimeout } from 'node:timers/promises'
import { serviceCapabilities } from '@libp2p/interface'
import { TypedEventEmitter } from 'main-event'
import { CustomProgressEvent } from 'progress-events'
import {
  ANNOUNCE_PROTOCOL, FIRST_FRAME_TIMEOUT_MS, INSERT_ATTEMPTS, INSERT_OVERLOADED_WAITS_MS, INSERT_PROTOCOL, INSERT_QUOTA_BLOCKS, INSERT_QUOTA_BYTES, INSERT_QUOTA_WINDOW_MS, JOIN_PROTOCOL,
  LINK_PROTOCOL, MAX_ANNOUNCES_PER_PEER, MAX_INBOUND_STREAMS, MAX_LINK_STREAMS, MAX_OPS_PER_IP, MAX_OPS_PER_PEER, MAX_OPS_TOTAL, MAX_OUTBOUND_STREAMS, REQUEST_PROTOCOL
} from '../constants.js'
import { verifyBlock } from '../keys/block-verify.js'
import { AnnounceCore } from '../routing/announce.js'
import { NodeCore } from '../routing/node-core.js'
import { networkProfile } from '../routing/profiles.js'
import { cryptoRng } from '../routing/random.js'
import { AddressBook, peerKey } from './address-book.js'
import { AnnounceHandler } from './announce.js'
import { JoinHandler } from './join.js'
import { NodeLocation } from './location.js'
import { RequestInsertHandler } from './request-insert.js'
import { Links } from './links.js'
import { InsertNotPlacedError, NotFoundError } from './errors.js'
import { PeerSlots } from './stream.js'
import { InsertQuota } from './quota.js'
import { Verifier } from './verifier.js'
import type { InsertQuotaInit } from './quota.js'
import type { WireErrorEvent, WireErrorHook } from './stream.js'
import type { AnnounceResult } from './announce.js'
import type { BlockNetwork, InsertResult, NetworkOptions, RequestResult, WarrenStore } from './types.js'
import { Block as BlockCodec } from '../../proto/warren.js'
import type { Block } from '../../proto/warren.js'
import type { RoutingKey } from '../keys/routing-key.js'
import type { AnnounceOptions } from '../routing/announce-options.js'
import type { NodeCoreOptions } from '../routing/node-core.js'
import type { Rng } from '../routing/random.js'
import type { AbortOptions, ComponentLogger, PeerId, PeerStore, PrivateKey, Startable } from '@libp2p/interface'
import type { AddressManager, ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface WarrenServiceInit {
  store: WarrenStore
  /**
   * The client cache: blocks this node's own requests fetched and its own inserts carried,
   * kept apart from `store` because peers' requests read the store (issue 11, finding 6). Only
   * `request` reads it. Default: none (nothing the user fetches is kept).
   */
  clientCache?: WarrenStore
  /** Overrides of the routing core's options (HTL limits, source reset, table size, timeouts...). */
  core?: Partial<NodeCoreOptions>
  rng?: Rng
  /** Operations one peer may have in progress here at once (default MAX_OPS_PER_PEER). */
  maxOpsPerPeer?: number
  /** Operations the peers at one IP address (IPv6: one /64) may have in progress here together (default MAX_OPS_PER_IP). */
  maxOpsPerIp?: number
  /** Operations all peers together may have in progress here (default MAX_OPS_TOTAL); past it, OVERLOADED. */
  maxOpsTotal?: number
  /** Inserts one peer may make this node take per window (default INSERT_QUOTA_*). */
  insertQuota?: Partial<InsertQuotaInit>
  /** Waits of an own insert a peer refused as overloaded, one per refusal (default INSERT_OVERLOADED_WAITS_MS). */
  insertOverloadedWaitsMs?: readonly number[]
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
  /** Addresses the node advertises for itself (config `announce`); default: its public ones (AddressBook.advertised). */
  announceAddrs?: string[]
  /** The node's routing location, shared with whatever else reads it (the block store); default: a new one. */
  location?: NodeLocation
}

export interface WarrenServiceEvents {
  /** A connected peer that speaks warren is now in the routing table (a neighbour); detail: its peer ID. */
  'warren:neighbour': CustomEvent<string>
  /** An ERROR frame went to a peer or came from one, on any warren protocol (for metrics: src/metrics.ts). */
  'warren:wire-error': CustomEvent<WireErrorEvent>
}

export interface WarrenServiceComponents {
  peerId: PeerId
  /** The node's identity key: it signs the node's own announcements. */
  privateKey: PrivateKey
  registrar: Registrar
  connectionManager: ConnectionManager
  addressManager: AddressManager
  peerStore: PeerStore
  logger: ComponentLogger
}

/**
 * The routing core's options a started node runs: the `network` profile (src/routing/profiles.ts),
 * the very object the simulator measures, plus test overrides.
 */
export function nodeCoreOptions (overrides: Partial<NodeCoreOptions> = {}): NodeCoreOptions {
  return { ...networkProfile.core, ...overrides }
}

/** The announcement options a started node runs: the other half of the `network` profile. */
export function announceOptions (maxHtl: number, overrides: Partial<AnnounceOptions> = {}): AnnounceOptions {
  return { ...networkProfile.announce, maxHtl, ...overrides }
}

export class WarrenService extends TypedEventEmitter<WarrenServiceEvents> implements Startable, BlockNetwork {
  readonly core: NodeCore<string>
  readonly announceCore: AnnounceCore<string>
  readonly [Symbol.toStringTag] = '@warren/service'
  readonly [serviceCapabilities]: string[] = ['@warren/routing']

  private readonly components: WarrenServiceComponents
  private readonly ops: RequestInsertHandler
  private readonly links: Links
  private readonly walks: AnnounceHandler
  private readonly joins: JoinHandler
  private readonly opSlots: PeerSlots
  private readonly announceSlots: PeerSlots
  private readonly loc: NodeLocation
  private readonly addressBook: AddressBook
  private readonly clientCache: WarrenStore
  private readonly overloadedWaitsMs: readonly number[]
  private readonly verifier: Verifier
  private topologyId?: string
  private started = false

  constructor (components: WarrenServiceComponents, init: WarrenServiceInit) {
    super()
    this.components = components
    this.loc = init.location ?? new NodeLocation()
    const rng = init.rng ?? cryptoRng()
    const self = components.peerId.toString()
    const addressBook = new AddressBook(components, { allowPrivateAddrs: init.allowPrivateAddrs, announce: init.announceAddrs })
    this.addressBook = addressBook
    this.clientCache = init.clientCache ?? NO_CLIENT_CACHE
    this.overloadedWaitsMs = init.insertOverloadedWaitsMs ?? INSERT_OVERLOADED_WAITS_MS
    this.core = new NodeCore<string>({ self, store: init.store, rng, now: Date.now, options: nodeCoreOptions(init.core) })
    this.announceCore = new AnnounceCore<string>({
      self,
      table: this.core.table,
      addRoute: (loc, peer, via) => { this.core.addRoute(loc, peer, false, via) },
      rng,
      now: Date.now,
      location: () => this.loc.value,
      options: announceOptions(this.core.options.maxHtl, init.announce)
    })
    this.opSlots = new PeerSlots(init.maxOpsPerPeer ?? MAX_OPS_PER_PEER)
    const log = components.logger.forComponent('warren:service')
    const onWireError: WireErrorHook = (detail) => { this.safeDispatchEvent('warren:wire-error', { detail }) }
    this.links = new Links({
      onWireError,
      connectionManager: components.connectionManager,
      onChannel: (ch, connection) => { void this.ops.onChannel(ch, connection) },
      log
    })
    this.ops = new RequestInsertHandler({
      core: this.core,
      store: init.store,
      clientCache: this.clientCache,
      addressBook,
      connectionManager: components.connectionManager,
      links: this.links,
      slots: this.opSlots,
      ipSlots: new PeerSlots(init.maxOpsPerIp ?? MAX_OPS_PER_IP),
      quota: new InsertQuota({ blocks: INSERT_QUOTA_BLOCKS, bytes: INSERT_QUOTA_BYTES, windowMs: INSERT_QUOTA_WINDOW_MS, ...init.insertQuota }),
      rng,
      log,
      onWireError
    }, { firstFrameTimeoutMs: init.firstFrameTimeoutMs ?? FIRST_FRAME_TIMEOUT_MS, maxOps: init.maxOpsTotal ?? MAX_OPS_TOTAL })
    this.announceSlots = new PeerSlots(MAX_ANNOUNCES_PER_PEER)
    const announce = {
      core: this.announceCore,
      addressBook,
      connectionManager: components.connectionManager,
      slots: this.announceSlots,
      rng,
      log: components.logger.forComponent('warren:announce'),
      onWireError
    }
    this.verifier = new Verifier({ core: this.core, addressBook, connectionManager: components.connectionManager, peerStore: components.peerStore, log: components.logger.forComponent('warren:verify') })
    this.joins = new JoinHandler(announce)
    this.walks = new AnnounceHandler({ ...announce, joins: this.joins, location: this.loc, sign: async (data) => await components.privateKey.sign(data) })
  }

  /** This node's routing location, agreed by its last successful announcement (NaN before). */
  get location (): number {
    return this.loc.value
  }

  /** Announce this node through `peer` (connected) with hops-to-live `htl`: see announce.ts. */
  async announce (peer: string, htl: number, options: AbortOptions = {}): Promise<AnnounceResult> {
    this.assertStarted()
    return await this.walks.announce(peer, htl, options)
  }

  /**
   * Route a join toward this node's restored location again, through the routing table: the
   * references it added as routes, or undefined when no join ran (joinHtl 0) or the node stopped.
   */
  async rejoin (options: AbortOptions = {}): Promise<number | undefined> {
    this.assertStarted()
    const loc = this.loc.value
    if (!Number.isFinite(loc)) throw new Error('this node has no location yet: it must announce itself first')
    return await this.joins.rejoin(loc, options)
  }

  /**
   * May this node dial `ma`, an address learnt from somebody else (a peer reference, an ARK)?
   * TCP/IP only, and public unless the node allows private addresses.
   */
  dialable (ma: Multiaddr): boolean {
    return this.addressBook.dialable(ma)
  }

  /** The addresses this node advertises for itself (peer references, ARK): see AddressBook.advertised. */
  advertised (): Multiaddr[] {
    return this.addressBook.advertised()
  }

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    const registrar = this.components.registrar
    const limits = { maxInboundStreams: MAX_INBOUND_STREAMS, maxOutboundStreams: MAX_OUTBOUND_STREAMS }
    await registrar.handle(REQUEST_PROTOCOL, (s, c) => this.ops.onInbound('request', s, c), limits)
    await registrar.handle(INSERT_PROTOCOL, (s, c) => this.ops.onInbound('insert', s, c), limits)
    await registrar.handle(LINK_PROTOCOL, (s, c) => { this.links.accept(s, c) }, { maxInboundStreams: MAX_LINK_STREAMS, maxOutboundStreams: MAX_LINK_STREAMS })
    await registrar.handle(ANNOUNCE_PROTOCOL, (s, c) => this.walks.onInbound(s, c.remotePeer.toString()), limits)
    await registrar.handle(JOIN_PROTOCOL, (s, c) => this.joins.onInbound(s, c.remotePeer.toString()), limits)
    this.topologyId = await registrar.register(REQUEST_PROTOCOL, {
      onConnect: (peerId) => {
        this.core.addRoute(peerKey(peerId).loc, peerId.toString(), true)
        this.safeDispatchEvent('warren:neighbour', { detail: peerId.toString() })
      },
      onDisconnect: (peerId) => {
        this.core.unpinPeer(peerId.toString())
        this.links.forget(peerId.toString())
      }
    })
    this.verifier.start()
    this.started = true
  }

  async stop (): Promise<void> {
    this.started = false
    const registrar = this.components.registrar
    for (const p of [REQUEST_PROTOCOL, INSERT_PROTOCOL, LINK_PROTOCOL, ANNOUNCE_PROTOCOL, JOIN_PROTOCOL]) await registrar.unhandle(p)
    if (this.topologyId !== undefined) registrar.unregister(this.topologyId)
    this.verifier.stop()
    this.ops.stop()
    this.links.stop()
    this.walks.stop()
    this.joins.stop()
    this.opSlots.clear()
    this.announceSlots.clear()
  }

  /**
   * Operations in progress at this node (local and relayed): requests and inserts, and
   * announcements and joins (driver or core state, whichever holds more: they agree unless one leaks).
   */
  get activeOperations (): number {
    return this.ops.active + Math.max(this.walks.active + this.joins.active, this.announceCore.activeOps)
  }

  /** Per-peer slots held at this node by the peers' operations (requests and inserts, announcements and joins). */
  get slotsHeld (): number {
    return this.opSlots.total + this.announceSlots.total
  }

  /**
   * Request `key` from the client cache, the local store or the network. Rejects with
   * NotFoundError, or with the abort reason at once when `options.signal` aborts. Reports
   * `warren:request:result`.
   */
  async request (key: RoutingKey, options: NetworkOptions): Promise<RequestResult> {
    this.assertStarted()
    try {
      const cached = await this.clientCache.get(key)
      const r = cached !== undefined
        ? { block: BlockCodec.decode(cached), hops: 0, source: this.components.peerId.toString() }
        : await this.ops.start<RequestResult>(key, 'request', options.htl, undefined, options.signal, options.keep)
      options.onProgress?.(new CustomProgressEvent('warren:request:result', { key, ok: true, hops: r.hops }))
      return r
    } catch (err) {
      options.onProgress?.(new CustomProgressEvent('warren:request:result', { key, ok: false, hops: hopsOf(err) }))
      throw err
    }
  }

  /**
   * Insert a block under `key`. The block must already verify against the key. Aborting
   * `options.signal` ends it at once. Reports `warren:insert:result`.
   */
  async insert (key: RoutingKey, block: Block, options: NetworkOptions): Promise<InsertResult> {
    if (!verifyBlock(key, block)) throw new Error('refusing to insert a block that does not match its key')
    this.assertStarted()
    try {
      const r = await this.placeBlock(key, block, options)
      options.onProgress?.(new CustomProgressEvent('warren:insert:result', { key, ok: true, stored: r.stored, hops: r.hops }))
      return r
    } catch (err) {
      options.onProgress?.(new CustomProgressEvent('warren:insert:result', { key, ok: false, stored: 0, hops: hopsOf(err) }))
      throw err
    }
  }

  /**
   * Insert `block`, starting again (a new operation) while no peer kept it: at once up to
   * INSERT_ATTEMPTS tries, and after each of INSERT_OVERLOADED_WAITS_MS when a peer refused it
   * as overloaded (a bulk put through few neighbours then runs at their insert quota).
   */
  private async placeBlock (key: RoutingKey, block: Block, options: NetworkOptions): Promise<InsertResult> {
    let tries = 0
    let waits = 0
    for (;;) {
      try {
        return await this.ops.start<InsertResult>(key, 'insert', options.htl, block, options.signal, options.keep)
      } catch (err) {
        if (!(err instanceof InsertNotPlacedError)) throw err
        if (err.overloaded && waits < this.overloadedWaitsMs.length) {
          const ms = this.overloadedWaitsMs[waits++]
          options.onProgress?.(new CustomProgressEvent('warren:insert:wait', { key, ms, attempt: tries + waits }))
          await setTimeout(ms, undefined, { signal: options.signal })
          continue
        }
        if (++tries >= INSERT_ATTEMPTS || err.overloaded) {
          if (err.overloaded) err.message += `; peers still refused it as overloaded after ${waits} waits (their insert quota, by default ${INSERT_QUOTA_BLOCKS} blocks a minute per peer, or their operation limits): connect to more peers or put less at once`
          throw err
        }
      }
    }
  }

  private assertStarted (): void {
    if (!this.started) throw new Error('the warren service is not started')
  }
}

/** No client cache: nothing is kept, nothing found. */
const NO_CLIENT_CACHE: WarrenStore = { has: () => false, get: async () => undefined, put: async () => {} }

/** Hops an operation took before it failed (known when the network answered "not found"). */
function hopsOf (err: unknown): number {
  return err instanceof NotFoundError || err instanceof InsertNotPlacedError ? err.hops : 0
}

/** The libp2p service factory: `services: { warren: warren(init) }`. */
export function warren (init: WarrenServiceInit): (components: WarrenServiceComponents) => WarrenService {
  return (components) => new WarrenService(components, init)
}

/**
 * The composition root: builds a complete warren node from a config — identity, block
 * store, libp2p (TCP, Noise, yamux, bootstrap, identify, ping) with the warren service,
 * neighbour maintenance and the file client. The CLI, the tests and the benchmarks all
 * create nodes through `createWarrenNode`.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { join } from 'node:path'
import { ANNOUNCE_HTL, DIAL_TIMEOUT_MS, MAINTENANCE_INTERVAL_MS, MIN_CONNECTIONS, STORE_KEEP_FRACTION } from './constants.js'
import { WarrenClient } from './client/client.js'
import { KeyClient } from './client/resolve.js'
import { ArkKeeper } from './ark/ark-keeper.js'
import { loadOrCreateIdentity } from './identity.js'
import { loadAnnouncement, saveAnnouncement } from './announcement.js'
import type { Announcement } from './announcement.js'
import type { HealerStats } from './client/heal.js'
import { RoutingKey } from './keys/routing-key.js'
import { neighboursToDial } from './routing/neighbours.js'
import { WarrenService, warren } from './protocol/service.js'
import type { WarrenServiceInit } from './protocol/service.js'
import { BlockStore } from './store/block-store.js'
import { pinoComponentLogger } from './util/libp2p-logger.js'
import { silentLogger } from './util/logger.js'
import type { WarrenConfig } from './config.js'
import type { NodeCoreOptions } from './routing/node-core.js'
import type { Logger } from './util/logger.js'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { Identify } from '@libp2p/identify'
import type { Ping } from '@libp2p/ping'

export interface WarrenNodeOptions {
  logger?: Logger
  /** Routing-core overrides (tests use these for deterministic source reset, timeouts...). */
  core?: Partial<NodeCoreOptions>
  /** Service overrides (per-peer limits, first-frame timeout, private addresses, announcement options). */
  service?: Pick<WarrenServiceInit, 'maxOpsPerPeer' | 'firstFrameTimeoutMs' | 'allowPrivateAddrs' | 'announce'>
  /** Use this identity instead of the data dir's identity.key. */
  privateKey?: PrivateKey
  /**
   * Local test networks only: exempt 127.0.0.0/8 from libp2p's inbound rate limits and
   * turn off the connection monitor. Never set in production.
   */
  localTestnet?: boolean
  /**
   * Publish this node's ARK by itself (on start, when addresses change, at maintenance).
   * Default true; test networks turn it off and call `node.ark.publish()` when they mean to.
   */
  arkPublish?: boolean
  /** Announce this node through a bootstrap peer once connected (default true). */
  announce?: boolean
}

export type WarrenLibp2p = Libp2p<{ identify: Identify, ping: Ping, warren: WarrenService }>

export interface NodeStatus {
  peerId: string
  addresses: string[]
  peers: number
  routingTable: { size: number, capacity: number, peers: number, spread: number[] }
  store: { count: number, usedBytes: number, capacityBytes: number }
  operations: { active: number }
  counters: WarrenService['core']['stats']
  ark: ArkKeeper['stats']
  /** Blocks that fetches rebuilt from FEC, inserted again (src/client/heal.ts). */
  healing: HealerStats
  /** This node's announcement: the key its walk agreed on, and how many nodes took part. */
  announcement: (Announcement & { restored: boolean }) | null
}

export class WarrenNode {
  readonly config: WarrenConfig
  readonly libp2p: WarrenLibp2p
  readonly store: BlockStore
  readonly client: WarrenClient
  /** Signed keys, redirects and updatable content (SSK, KSK, editions, date-based redirects). */
  readonly keys: KeyClient
  /** Publishes this node's addresses under its ARK and finds moved peers through theirs. */
  readonly ark: ArkKeeper
  readonly log: Logger
  private maintenance?: NodeJS.Timeout
  private announcement?: Announcement
  private announcing = false
  /** The announcement came from disk (an earlier run): its join toward the location is still to run. */
  private readonly restored: boolean
  private rejoinDue: boolean

  constructor (config: WarrenConfig, libp2p: WarrenLibp2p, store: BlockStore, log: Logger, privateKey: PrivateKey, autoPublishArk = true,
    private readonly autoAnnounce = true, restored?: Announcement) {
    this.config = config
    this.announcement = restored
    this.restored = restored !== undefined
    this.rejoinDue = this.restored
    this.libp2p = libp2p
    this.store = store
    this.log = log
    this.client = new WarrenClient(this.service, { htl: config.htl })
    this.keys = new KeyClient(this.service, this.client, { htl: config.htl })
    this.client.resolve = this.keys.resolveToChk
    this.ark = new ArkKeeper(libp2p, this.keys, privateKey, log, () => this.service.core.table.size > 0, autoPublishArk)
  }

  get service (): WarrenService {
    return this.libp2p.services.warren
  }

  get peerId (): string {
    return this.libp2p.peerId.toString()
  }

  addresses (): string[] {
    return this.libp2p.getMultiaddrs().map((a) => a.toString())
  }

  async start (): Promise<void> {
    // A restarted node joins toward its kept location as soon as it has a neighbour to route through.
    this.service.onNeighbour = () => { if (this.rejoinDue) void this.announceOnce() }
    await this.libp2p.start()
    this.ark.start()
    this.maintenance = setInterval(() => {
      void this.maintain().finally(() => {
        void this.ark.autoPublish()
        void this.announceOnce()
      })
    }, MAINTENANCE_INTERVAL_MS)
    this.maintenance.unref()
    await this.maintain()
    void this.ark.autoPublish()
    void this.announceOnce()
  }

  /**
   * Announce this node (Freenet section 3.5) once in its life, through a connected bootstrap
   * peer: the nodes of a random walk agree on a key for it by commit-and-reveal and add it to
   * their routing tables, so the rest of the network learns of the newcomer. The key is saved
   * (announcement.json); a restarted node keeps it and only routes a join toward it again, once
   * it has neighbours. Retried by maintenance until it succeeds; a node without bootstrap peers
   * (the first) never announces.
   */
  async announceOnce (): Promise<void> {
    if (this.announcing || !this.autoAnnounce || this.libp2p.status !== 'started') return
    if (this.announcement !== undefined) {
      this.rejoinOnce()
      return
    }
    const connected = new Set(this.libp2p.getPeers().map((p) => p.toString()))
    const via = this.config.bootstrap
      .map((a) => multiaddr(a).getComponents().find((c) => c.name === 'p2p')?.value)
      .find((id): id is string => id !== undefined && connected.has(id))
    if (via === undefined) return
    this.announcing = true
    try {
      const r = await this.service.announce(via, ANNOUNCE_HTL)
      const announcement = { key: r.key.hex, participants: r.participants, at: Date.now() }
      // Saved before it shows in status: an announced node has its location on disk.
      await saveAnnouncement(this.config.dataDir, announcement).catch((err: Error) => {
        this.log.warn({ err: err.message }, 'could not save the announcement; the node will announce again on its next start')
      })
      this.announcement = announcement
      this.log.info({ key: r.key.hex, participants: r.participants, refs: r.refs }, 'announced to the network')
      // The store's kept share follows the new location.
      this.store.relocate()
      // The routed join goes on after the result (bounded by its own deadlines): log it, do not wait.
      void r.joined.then((refs) => {
        if (refs !== undefined) this.log.info({ key: r.key.hex, refs }, 'joined the nodes near its location')
      })
    } catch (err: any) {
      this.log.warn({ via, err: err.message }, 'announcement failed; will retry')
    } finally {
      this.announcing = false
    }
  }

  /** After a restart: route a join toward the kept location once the routing table has a neighbour to start from. */
  private rejoinOnce (): void {
    if (!this.rejoinDue || this.service.core.table.size === 0) return
    this.rejoinDue = false
    const key = this.announcement!.key
    this.service.rejoin().then((refs) => {
      if (refs !== undefined) this.log.info({ key, refs }, 'rejoined the nodes near its kept location')
    }, (err: Error) => {
      this.rejoinDue = true
      this.log.warn({ key, err: err.message }, 'join toward the kept location failed; will retry')
    })
  }

  /**
   * libp2p 3.x has no auto-dialer: keep at least MIN_CONNECTIONS neighbours by re-dialling
   * bootstrap nodes and peers from the routing table.
   */
  async maintain (): Promise<void> {
    if (this.libp2p.status !== 'started') return
    const connected = new Set(this.libp2p.getPeers().map((p) => p.toString()))
    if (connected.size >= MIN_CONNECTIONS) return
    const dials = neighboursToDial({
      connected,
      bootstrap: this.config.bootstrap.map((a) => multiaddr(a)).map((addr) => ({ addr, peer: addr.getComponents().find((c) => c.name === 'p2p')?.value })),
      known: this.service.core.table.peerSet(),
      min: MIN_CONNECTIONS
    })
    const targets = [...dials.bootstrap, ...dials.peers]
    await Promise.all(targets.map(async (t) => {
      try {
        await this.libp2p.dial(typeof t === 'string' ? peerIdFromString(t) : t, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
      } catch (err: any) {
        this.log.debug({ target: t.toString(), err: err.message }, 'neighbour dial failed')
      }
    }))
    // Peers we knew that are still unreachable may have moved: look them up by their ARKs.
    await this.ark.reconnect(new Set(this.libp2p.getPeers().map((p) => p.toString())), MIN_CONNECTIONS)
  }

  status (): NodeStatus {
    const core = this.service.core
    return {
      peerId: this.peerId,
      addresses: this.addresses(),
      peers: this.libp2p.getPeers().length,
      routingTable: { size: core.table.size, capacity: core.table.capacity, peers: core.table.peerSet().size, spread: core.table.spread(16) },
      store: this.store.stats(),
      operations: { active: this.service.activeOperations },
      counters: core.stats,
      ark: this.ark.stats,
      healing: this.client.healer.stats,
      announcement: this.announcement === undefined ? null : { ...this.announcement, restored: this.restored }
    }
  }

  async stop (): Promise<void> {
    if (this.maintenance !== undefined) clearInterval(this.maintenance)
    this.ark.stop()
    await this.libp2p.stop()
    await this.store.close()
  }
}

/** Build (but do not start) a node from `config`. */
export async function createWarrenNode (config: WarrenConfig, options: WarrenNodeOptions = {}): Promise<WarrenNode> {
  const log = options.logger ?? silentLogger()
  const privateKey = options.privateKey ?? (await loadOrCreateIdentity(config.dataDir)).key
  // The store keeps the keys nearest the node's location; the location exists once it announced.
  let location = (): number => NaN
  const restored = await loadAnnouncement(config.dataDir).catch((err: Error) => {
    log.warn({ err: err.message }, 'ignoring the saved announcement; the node will announce itself again')
    return undefined
  })
  const store = await BlockStore.open(join(config.dataDir, 'store'), { capacityBytes: config.storeBytes, keepFraction: STORE_KEEP_FRACTION, location: () => location() })
  try {
    const libp2p = await createLibp2p({
      privateKey,
      logger: pinoComponentLogger(log),
      addresses: { listen: config.listen },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      peerDiscovery: config.bootstrap.length > 0 ? [bootstrap({ list: config.bootstrap })] : [],
      connectionManager: options.localTestnet === true ? { allow: ['/ip4/127.0.0.1/ipcidr/8'] } : {},
      connectionMonitor: { enabled: options.localTestnet !== true },
      services: {
        identify: identify(),
        ping: ping(),
        warren: warren({ allowPrivateAddrs: config.allowPrivateAddrs || options.localTestnet === true, ...options.service, store, core: options.core })
      },
      start: false
    }) as WarrenLibp2p
    location = () => libp2p.services.warren.location
    if (restored !== undefined) {
      libp2p.services.warren.restoreLocation(RoutingKey.fromHex(restored.key).loc)
      store.relocate()
    }
    return new WarrenNode(config, libp2p, store, log, privateKey, options.arkPublish ?? true, options.announce ?? true, restored)
  } catch (err) {
    await store.close()
    throw err
  }
}

/**
 * The composition root: builds a complete warren node from a config — identity, block
 * store, libp2p (TCP, Noise, yamux, bootstrap, identify, ping) with the warren service,
 * neighbour upkeep, announcement scheduling, ARK publishing and the file client (each a
 * Startable built from components and init objects, as libp2p builds its parts). The CLI,
 * the tests and the benchmarks all create nodes through `createWarrenNode`.
 */
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { autoNAT } from '@libp2p/autonat'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { uPnPNAT } from '@libp2p/upnp-nat'
import { createLibp2p } from 'libp2p'
import { join } from 'node:path'
import { CLIENT_CACHE_KEEP_DIVISOR, CLIENT_CACHE_WRITE_BUFFER_BYTES, DIAL_TIMEOUT_MS, MAINTENANCE_INTERVAL_MS, MIN_CONNECTIONS } from './constants.js'
import { networkProfile } from './routing/profiles.js'
import { Announcer } from './protocol/announcer.js'
import { NodeLocation } from './protocol/location.js'
import { NeighbourKeeper } from './protocol/neighbour-keeper.js'
import { WarrenClient } from './client/client.js'
import { KeyClient } from './client/key-client.js'
import { ArkKeeper } from './ark/ark-keeper.js'
import { loadOrCreateIdentity } from './identity.js'
import { loadAnnouncement } from './announcement.js'
import type { Announcement } from './announcement.js'
import type { HealerStats } from './client/heal.js'
import { RoutingKey } from './keys/routing-key.js'
import { nodeCoreOptions, warren } from './protocol/service.js'
import { noiseCrypto } from './protocol/noise-crypto.js'
import type { WarrenServiceInit , WarrenService} from './protocol/service.js'
import { BlockStore } from './store/block-store.js'
import { pinoComponentLogger } from './util/libp2p-logger.js'
import { NodeMetrics } from './metrics.js'
import { natSettings } from './nat.js'
import type { NatOptions } from './nat.js'
import { silentLogger } from './util/logger.js'
import { TunnelState } from './tunnel/tunnel.js'
import { tunnelService } from './tunnel/service.js'
import type { TunnelService } from './tunnel/service.js'
import type { TunnelExecutor } from './tunnel/endpoint.js'
import { Exit } from './tunnel/exit.js'
import type { ExitInit } from './tunnel/exit.js'
import type { WarrenConfig } from './config.js'
import type { NodeCoreOptions } from './routing/node-core.js'
import type { Logger } from './util/logger.js'
import type { BlockNetwork } from './protocol/types.js'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { Identify } from '@libp2p/identify'
import type { Ping } from '@libp2p/ping'

export interface WarrenNodeOptions {
  logger?: Logger
  /** Routing-core overrides (tests use these for deterministic source reset, timeouts...). */
  core?: Partial<NodeCoreOptions>
  /** Service overrides (per-peer limits, first-frame timeout, private addresses, announcement options). */
  service?: Pick<WarrenServiceInit, 'maxOpsPerPeer' | 'firstFrameTimeoutMs' | 'allowPrivateAddrs' | 'announce' | 'insertQuota' | 'insertOverloadedWaitsMs' | 'maxOpsPerIp' | 'maxOpsTotal'>
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
  /** Periodic rejoin toward the node's location (default: networkProfile.rejoin.intervalMs; tests shorten it). */
  rejoinIntervalMs?: number
  /**
   * Limits of the proxy-download exit (used when config `exit` is on). Its test allowances
   * (testAllow, testLookup) are refused outside node's test runner.
   */
  exit?: Partial<ExitInit>
  /**
   * Prometheus metrics (libp2p's and warren's, GET /metrics on the API; src/metrics.ts).
   * Default: on, except in local test networks (many nodes per process) unless asked for.
   */
  metrics?: boolean
  /**
   * libp2p's NAT machinery (docs/deploy.md, "Behind NAT"). Default: AutoNAT, circuit-relay
   * client and DCUtR on, relay server on, UPnP off; everything off in local test networks
   * unless given here.
   */
  nat?: NatOptions
}

export type WarrenLibp2p = Libp2p<{ identify: Identify, ping: Ping, warren: WarrenService, tunnel: TunnelService }>

export interface NodeStatus {
  peerId: string
  addresses: string[]
  peers: number
  routingTable: { size: number, capacity: number, peers: number, spread: number[] }
  store: { count: number, usedBytes: number, capacityBytes: number }
  /** The node's own gets and puts (never served to peers; issue 11, finding 6). */
  clientCache: { count: number, usedBytes: number, capacityBytes: number }
  operations: { active: number }
  counters: WarrenService['core']['stats']
  ark: ArkKeeper['stats']
  /** Blocks that fetches rebuilt from FEC, inserted again (src/client/heal.ts). */
  healing: HealerStats
  /** This node's announcement: the key its walk agreed on, and how many nodes took part. */
  announcement: (Announcement & { restored: boolean }) | null
}

/** What a node is built from (createWarrenNode makes them). */
export interface WarrenNodeComponents {
  config: WarrenConfig
  libp2p: WarrenLibp2p
  store: BlockStore
  /** Blocks the node's own requests fetched and its inserts carried (WarrenServiceInit.clientCache). */
  clientCache: BlockStore
  log: Logger
  privateKey: PrivateKey
  tunnel: TunnelState
  /** This node's metrics registry (none: metrics off). */
  metrics?: NodeMetrics
}

export interface WarrenNodeInit {
  /** Publish the node's ARK by itself (default true). */
  arkPublish?: boolean
  /** Announce the node by itself once connected (default true). */
  announce?: boolean
  /** The announcement of an earlier run (announcement.json). */
  restored?: Announcement
  /** Periodic rejoin toward the location (default: networkProfile.rejoin.intervalMs). */
  rejoinIntervalMs?: number
}

export class WarrenNode {
  readonly config: WarrenConfig
  readonly libp2p: WarrenLibp2p
  readonly store: BlockStore
  readonly clientCache: BlockStore
  readonly client: WarrenClient
  /** Signed keys, redirects and updatable content (SSK, KSK, editions, date-based redirects). */
  readonly keys: KeyClient
  /** Publishes this node's addresses under its ARK and finds moved peers through theirs. */
  readonly ark: ArkKeeper
  /** Keeps MIN_CONNECTIONS neighbours (libp2p 3.x has no auto-dialer). */
  readonly neighbours: NeighbourKeeper
  /** Announces the node once in its life, or rejoins toward its kept location after a restart. */
  readonly announcer: Announcer
  /** Tunnel keys and card, trusted peers, replay cache (SSL-through-SSL, src/tunnel). */
  readonly tunnel: TunnelState
  readonly log: Logger
  /** Prometheus metrics of this node (GET /metrics), when on. */
  readonly metrics?: NodeMetrics
  /** The block network as this node's clients use it (counted and timed when metrics are on). */
  readonly network: BlockNetwork

  constructor (components: WarrenNodeComponents, init: WarrenNodeInit = {}) {
    const { config, libp2p, store, clientCache, log, privateKey, tunnel, metrics } = components
    this.config = config
    this.libp2p = libp2p
    this.store = store
    this.clientCache = clientCache
    this.log = log
    this.tunnel = tunnel
    this.metrics = metrics
    // With metrics on, the clients' requests and inserts are counted and timed on their way out.
    const network = this.network = metrics?.network(this.service) ?? this.service
    this.keys = new KeyClient({ network }, { htl: config.htl })
    this.client = new WarrenClient({ network, resolve: this.keys.resolveToChk }, { htl: config.htl, keepMaxBytes: config.clientCacheBytes / CLIENT_CACHE_KEEP_DIVISOR })
    this.ark = new ArkKeeper({ libp2p, keys: this.keys, privateKey, log, canRoute: () => this.service.core.table.size > 0, dialable: (a) => this.service.dialable(a),
      advertised: () => this.service.advertised() },
      { autoPublish: init.arkPublish ?? true, intervalMs: MAINTENANCE_INTERVAL_MS })
    const connected = (): string[] => libp2p.getPeers().map((p) => p.toString())
    this.neighbours = new NeighbourKeeper({
      connected,
      dial: async (t, options) => await libp2p.dial(t, options),
      known: () => this.service.core.table.peerSet(),
      ark: this.ark,
      log
    }, { bootstrap: config.bootstrap, min: MIN_CONNECTIONS, intervalMs: MAINTENANCE_INTERVAL_MS, dialTimeoutMs: DIAL_TIMEOUT_MS })
    this.announcer = new Announcer({ service: this.service, connected, log }, {
      bootstrap: config.bootstrap,
      htl: networkProfile.announceHtl,
      dataDir: config.dataDir,
      intervalMs: MAINTENANCE_INTERVAL_MS,
      enabled: init.announce ?? true,
      restored: init.restored,
      rejoinIntervalMs: init.rejoinIntervalMs ?? networkProfile.rejoin.intervalMs
    })
    if (metrics !== undefined) this.service.addEventListener('warren:wire-error', (e) => { metrics.wireError(e.detail) })
    metrics?.attach({
      routingTable: () => this.routingTable(),
      store: () => store.stats(),
      core: () => this.service.core.stats,
      activeOperations: () => this.service.activeOperations
    })
  }

  get service (): WarrenService {
    return this.libp2p.services.warren
  }

  /** SSL-through-SSL tunnels: open one to a trusted peer (`tunnels.request`), relay and serve others. */
  get tunnels (): TunnelService {
    return this.libp2p.services.tunnel
  }

  get peerId (): string {
    return this.libp2p.peerId.toString()
  }

  addresses (): string[] {
    return this.libp2p.getMultiaddrs().map((a) => a.toString())
  }

  async start (): Promise<void> {
    await this.tunnel.start()
    await this.libp2p.start()
    this.ark.start()
    await this.neighbours.start()
    this.announcer.start()
  }

  /** One round of neighbour upkeep now (it also runs every MAINTENANCE_INTERVAL_MS). */
  async maintain (): Promise<void> {
    await this.neighbours.upkeep()
  }

  /** The routing table's size, capacity, distinct peers and entries per sixteenth of the key space. */
  routingTable (): NodeStatus['routingTable'] {
    const t = this.service.core.table
    return { size: t.size, capacity: t.capacity, peers: t.peerSet().size, spread: t.spread(16) }
  }

  status (): NodeStatus {
    const core = this.service.core
    return {
      peerId: this.peerId,
      addresses: this.addresses(),
      peers: this.libp2p.getPeers().length,
      routingTable: this.routingTable(),
      store: this.store.stats(),
      clientCache: this.clientCache.stats(),
      operations: { active: this.service.activeOperations },
      counters: core.stats,
      ark: this.ark.stats,
      healing: this.client.healer.stats,
      announcement: this.announcer.announcement
    }
  }

  async stop (): Promise<void> {
    this.announcer.stop()
    this.neighbours.stop()
    this.ark.stop()
    await this.libp2p.stop()
    await this.store.close()
    await this.clientCache.close()
  }
}

/** Build (but do not start) a node from `config`. */
export async function createWarrenNode (config: WarrenConfig, options: WarrenNodeOptions = {}): Promise<WarrenNode> {
  const log = options.logger ?? silentLogger()
  const privateKey = options.privateKey ?? (await loadOrCreateIdentity(config.dataDir)).key
  const restored = await loadAnnouncement(config.dataDir).catch((err: Error) => {
    log.warn({ err: err.message }, 'ignoring the saved announcement; the node will announce itself again')
    return undefined
  })
  // The store keeps the keys nearest the node's location: the one the announcement agreed on
  // (kept from an earlier run), and after a new announcement the new one.
  const location = new NodeLocation(restored === undefined ? NaN : RoutingKey.fromHex(restored.key).loc)
  const store = await BlockStore.open(join(config.dataDir, 'store'), {
    capacityBytes: config.storeBytes, keepFraction: networkProfile.store.keepFraction, location: () => location.value, logger: log.child({ component: 'warren:store' })
  })
  location.addEventListener('change', () => { store.relocate() })
  // Metrics and the NAT machinery are on in production, off in local test networks unless asked.
  const production = options.localTestnet !== true
  const metrics = (options.metrics ?? production) ? await NodeMetrics.create() : undefined
  const tunnelObserver = metrics?.tunnelObserver()
  const nat = natSettings(config, options)
  // Built before libp2p (its service needs them), bound to the node once it exists.
  let node: WarrenNode | undefined
  const tunnel = new TunnelState({ identity: privateKey, dataDir: config.dataDir, addresses: () => node?.service.advertised().map((a) => a.toString()) ?? [] })
  let clientCache: BlockStore | undefined
  try {
    // Plain LRU, apart from the store: peers' requests never read it (issue 11, finding 6).
    clientCache = await BlockStore.open(join(config.dataDir, 'client-cache'), {
      capacityBytes: config.clientCacheBytes, keepFraction: 0, logger: log.child({ component: 'warren:client-cache' }),
      leveldb: { writeBufferSize: CLIENT_CACHE_WRITE_BUFFER_BYTES }
    })
    const libp2p = await createLibp2p({
      privateKey,
      logger: pinoComponentLogger(log),
      addresses: {
        listen: nat.reserve ?? (nat.traversal && config.announce.length === 0) ? [...config.listen, '/p2p-circuit'] : config.listen,
        // libp2p announces a public listen address only once AutoNAT has confirmed it (4 peers
        // dialled back); the operator's `announce` addresses are confirmed from the start, and
        // are then all libp2p announces (identify, relays). As appendAnnounce instead, the relayed
        // dials of the NAT test failed in most runs (test/netns/nat.netns.ts).
        ...(config.announce.length > 0 ? { announce: config.announce } : {})
      },
      transports: nat.traversal ? [tcp(), circuitRelayTransport()] : [tcp()],
      connectionEncrypters: [noise({ crypto: noiseCrypto })],
      streamMuxers: [yamux()],
      peerDiscovery: config.bootstrap.length > 0 ? [bootstrap({ list: config.bootstrap })] : [],
      connectionManager: options.localTestnet === true ? { allow: ['/ip4/127.0.0.1/ipcidr/8'] } : {},
      connectionMonitor: { enabled: options.localTestnet !== true },
      ...(metrics !== undefined ? { metrics: metrics.libp2p() } : {}),
      services: {
        identify: identify(),
        ping: ping(),
        ...(nat.traversal ? { autoNAT: autoNAT() } : {}),
        ...(nat.holePunching ?? nat.traversal ? { dcutr: dcutr() } : {}),
        ...(nat.relayServer ? { relay: circuitRelayServer() } : {}),
        ...(nat.upnp ? { upnp: uPnPNAT() } : {}),
        warren: warren({
          allowPrivateAddrs: config.allowPrivateAddrs || options.localTestnet === true,
          // Every node of a local test network shares 127.0.0.1: no per-IP limit there.
          ...(options.localTestnet === true ? { maxOpsPerIp: Infinity } : {}),
          ...options.service,
          announceAddrs: config.announce,
          store: metrics?.store(store) ?? store,
          clientCache,
          core: options.core,
          location
        }),
        tunnel: tunnelService({
          state: tunnel,
          executor: tunnelExecutor(() => node, config.exit ? new Exit(options.exit, tunnelObserver) : undefined),
          core: nodeCoreOptions(options.core),
          observer: tunnelObserver
        })
      },
      start: false
    }) as WarrenLibp2p
    // Opened before the location was known to it? The kept share follows the restored location.
    if (restored !== undefined) store.relocate()
    node = new WarrenNode({ config, libp2p, store, clientCache, log, privateKey, tunnel, metrics }, { arkPublish: options.arkPublish, announce: options.announce, restored, rejoinIntervalMs: options.rejoinIntervalMs })
    return node
  } catch (err) {
    await clientCache?.close()
    await store.close()
    throw err
  }
}

/** What this node does as a trusted peer: requests and inserts through its own client, and proxy downloads when it runs an exit. */
function tunnelExecutor (node: () => WarrenNode | undefined, exit: Exit | undefined): TunnelExecutor {
  const client = (): WarrenClient => {
    const n = node()
    if (n === undefined) throw new Error('the node is not built yet')
    return n.client
  }
  return {
    get: async (uri, { htl, signal }) => {
      const f = await client().open(uri, { htl, signal })
      return { size: f.size, mime: f.mime, stream: f.stream() }
    },
    put: async (body, { htl, mime, signal }) => ({ uri: (await client().put(body, { htl, mime, signal })).uri }),
    blocks: (htl) => {
      const n = node()
      if (n === undefined) throw new Error('the node is not built yet')
      return { network: n.network, htl: htl ?? n.config.htl }
    },
    fetchUrl: exit === undefined
      ? undefined
      : async (url, { requester, insert, htl, signal }) => {
        const r = await exit.fetch(url, requester, signal)
        // --insert: the page also becomes a CHK others can read from the network.
        const uri = insert ? (await client().put([r.body], { htl, mime: r.mime === '' ? undefined : r.mime, signal })).uri : undefined
        return { size: r.size, mime: r.mime, uri, stream: [r.body] }
      }
  }
}

/**
 * Prometheus metrics of one node: libp2p's own (through @libp2p/prometheus-metrics) and
 * warren's, in one prom-client Registry per node, served as text by the API's GET /metrics.
 *
 * Names follow the Prometheus conventions: a `warren_` prefix, base units (`_bytes`,
 * `_seconds`), `_total` on counters, `_ratio` for fractions, labels instead of names for
 * outcomes. What each one means and example queries: docs/deploy.md, "Metrics".
 *
 * One registry per node, so several nodes in one process (tests, benches) never count into
 * each other's series. @libp2p/prometheus-metrics keeps the metrics it made in a map at module
 * level, keyed by name and shared by every instance: a second node in the same process would
 * get the first one's objects back (and the first node's series would move into the second's
 * registry). Each node therefore loads its own instance of that module (an import URL with a
 * per-node query string makes Node evaluate it again); its classes and prom-client stay shared.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { NotFoundError } from './protocol/errors.js'
import type { BlockNetwork, InsertResult, RequestResult, WarrenStore } from './protocol/types.js'
import type { NodeCoreStats } from './routing/node-core.js'
import type { WireErrorEvent } from './protocol/stream.js'
import type { TunnelObserver } from './tunnel/events.js'
import type { Metrics, Stream } from '@libp2p/interface'
import type { prometheusMetrics as PrometheusMetricsFactory, PrometheusMetricsComponents } from '@libp2p/prometheus-metrics'

type MetricsFactory = (components: PrometheusMetricsComponents) => Metrics

/** What the collectors read from a running node at each scrape (WarrenNode supplies it). */
export interface MetricsSource {
  routingTable: () => { size: number, capacity: number, peers: number, spread: number[] }
  store: () => { count: number, usedBytes: number, capacityBytes: number }
  /** The routing core's lifetime counters (its `local` ones are counted here by outcome instead). */
  core: () => Omit<NodeCoreStats, 'local'>
  activeOperations: () => number
}

/**
 * Hops a successful request travelled: the network's maximum HTL is 20 (src/routing/profiles.ts),
 * and in the simulator's 1,000-node runs most requests end within 4-8 hops (docs/simulation.md).
 */
const HOP_BUCKETS = [0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20]
/** Seconds a local request or insert took, from a local hit (ms) to a 20-hop walk with timeouts. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

let instances = 0

/** Outcome label of a failed local operation. */
export function errorCode (err: unknown): string {
  if (err instanceof NotFoundError) return 'not_found'
  const e = err as { name?: string, message?: string }
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError') return 'aborted'
  const message = typeof e?.message === 'string' ? e.message : ''
  if (/timed out/.test(message)) return 'timeout'
  if (/shutting down|stopping|not started/.test(message)) return 'stopping'
  if (/could not store/.test(message)) return 'store_failed'
  if (/refusing to insert/.test(message)) return 'invalid_block'
  return 'internal'
}

/** A node's registry and the warren instruments the node's parts report into. */
export class NodeMetrics {
  readonly registry = new Registry()
  readonly contentType = this.registry.contentType
  private readonly operations: Counter<'operation' | 'outcome'>
  private readonly errors: Counter<'operation' | 'code'>
  private readonly hops: Histogram<'operation' | 'outcome'>
  private readonly duration: Histogram<'operation'>
  private readonly evictions: Counter
  private readonly protocolBytes: Counter<'protocol' | 'direction'>
  private readonly wireErrors: Counter<'code' | 'direction' | 'protocol'>
  private readonly tunnelOps: Counter<'role' | 'outcome'>
  private readonly tunnelBytes: Counter<'role' | 'direction'>
  private readonly tunnelRefusals: Counter<'reason'>
  private readonly exitFetches: Counter<'outcome'>
  private source?: MetricsSource

  private constructor (private readonly prometheus: typeof PrometheusMetricsFactory) {
    const registers = [this.registry]
    this.operations = new Counter({ name: 'warren_local_operations_total', help: 'Requests and inserts this node started for its own clients, by outcome (found, not_found, stored, collision, error)', labelNames: ['operation', 'outcome'], registers })
    this.errors = new Counter({ name: 'warren_local_operation_errors_total', help: 'Local requests and inserts that failed, by error code (not_found, timeout, aborted, stopping, store_failed, invalid_block, internal)', labelNames: ['operation', 'code'], registers })
    this.hops = new Histogram({ name: 'warren_local_operation_hops', help: 'Hops a local request or insert travelled before its answer, by outcome', labelNames: ['operation', 'outcome'], buckets: HOP_BUCKETS, registers })
    this.duration = new Histogram({ name: 'warren_local_operation_duration_seconds', help: 'Time a local request or insert took to answer', labelNames: ['operation'], buckets: DURATION_BUCKETS, registers })
    this.evictions = new Counter({ name: 'warren_store_evictions_total', help: 'Blocks the store evicted to make room for new ones', registers })
    this.protocolBytes = new Counter({ name: 'warren_protocol_bytes_total', help: 'Bytes carried by streams of each libp2p protocol, by direction (sent, received)', labelNames: ['protocol', 'direction'], registers })
    this.wireErrors = new Counter({ name: 'warren_wire_errors_total', help: 'ERROR frames this node sent to peers or received from them, by code (MALFORMED, UNEXPECTED, INVALID_KEY, INVALID_BLOCK, TOO_LARGE, TIMEOUT, OVERLOADED, INTERNAL), direction and protocol', labelNames: ['code', 'direction', 'protocol'], registers })
    this.tunnelOps = new Counter({ name: 'warren_tunnel_operations_total', help: 'Tunnels at this node by role (originator, middleman, trusted_peer) and outcome (accepted, relayed, no_route, loop, rejected, refused, error)', labelNames: ['role', 'outcome'], registers })
    this.tunnelBytes = new Counter({ name: 'warren_tunnel_sealed_bytes_total', help: 'Sealed chunk bytes of tunnels, by role and direction (sent, received; relayed at a middleman)', labelNames: ['role', 'direction'], registers })
    this.tunnelRefusals = new Counter({ name: 'warren_tunnel_refusals_total', help: 'Sealed requests this node refused as a trusted peer, by reason (unknown_key, crypto, replay)', labelNames: ['reason'], registers })
    this.exitFetches = new Counter({ name: 'warren_exit_fetches_total', help: 'Proxy downloads of this node\'s exit, by outcome (ok, refused by a rule or limit, timeout, too_large, error)', labelNames: ['outcome'], registers })
    this.collectNode()
  }

  /** Count an ERROR frame sent or received (the warren service's `warren:wire-error` event). */
  wireError (e: WireErrorEvent): void {
    this.wireErrors.inc({ code: e.code, direction: e.direction, protocol: e.protocol })
  }

  /** The tunnel service's and the exit's observer (src/tunnel/events.ts), counting into this registry. */
  tunnelObserver (): TunnelObserver {
    return {
      operation: (role, outcome) => { this.tunnelOps.inc({ role, outcome }) },
      sealedBytes: (role, direction, bytes) => { this.tunnelBytes.inc({ role, direction }, bytes) },
      refused: (reason) => { this.tunnelRefusals.inc({ reason }) },
      exitFetch: (outcome) => { this.exitFetches.inc({ outcome }) }
    }
  }

  /** Load a fresh @libp2p/prometheus-metrics instance for this node (see the module comment). */
  static async create (): Promise<NodeMetrics> {
    const url = new URL(import.meta.resolve('@libp2p/prometheus-metrics'))
    url.searchParams.set('warren-node', String(++instances))
    const mod = await import(url.href) as { prometheusMetrics: typeof PrometheusMetricsFactory }
    return new NodeMetrics(mod.prometheusMetrics)
  }

  /** The `metrics` entry of the libp2p config: libp2p's metrics into this registry, plus per-protocol bytes. */
  libp2p (): MetricsFactory {
    const inner = this.prometheus({ registry: this.registry, preserveExistingMetrics: true })
    return (components) => {
      const metrics = inner(components)
      const track = metrics.trackProtocolStream.bind(metrics)
      metrics.trackProtocolStream = (stream: Stream) => {
        track(stream)
        this.countBytes(stream)
      }
      return metrics
    }
  }

  /** The node whose state the gauges read at each scrape. */
  attach (source: MetricsSource): void {
    this.source = source
  }

  /** The Prometheus text exposition of every metric of this node. */
  async text (): Promise<string> {
    return await this.registry.metrics()
  }

  /** `network` with every local request and insert counted, timed and its hops observed. */
  network (network: BlockNetwork): BlockNetwork {
    const observe = async <R extends RequestResult | InsertResult>(operation: 'request' | 'insert', run: () => Promise<R>, outcome: (r: R) => string): Promise<R> => {
      const end = this.duration.startTimer({ operation })
      try {
        const r = await run()
        const o = outcome(r)
        this.operations.inc({ operation, outcome: o })
        this.hops.observe({ operation, outcome: o }, r.hops)
        return r
      } catch (err) {
        const code = errorCode(err)
        this.operations.inc({ operation, outcome: code === 'not_found' ? 'not_found' : 'error' })
        this.errors.inc({ operation, code })
        if (err instanceof NotFoundError) this.hops.observe({ operation, outcome: 'not_found' }, err.hops)
        throw err
      } finally {
        end()
      }
    }
    return {
      request: async (key, options) => await observe('request', async () => await network.request(key, options), () => 'found'),
      insert: async (key, block, options) => await observe('insert', async () => await network.insert(key, block, options), (r) => r.collision ? 'collision' : 'stored')
    }
  }

  /** `store` with the blocks each put evicted counted (BlockStore.put reports them). */
  store (store: WarrenStore): WarrenStore {
    return {
      has: (key) => store.has(key),
      get: async (key) => await store.get(key),
      put: async (key, bytes) => {
        const r = await store.put(key, bytes)
        const evicted = (r as { evicted?: unknown } | undefined)?.evicted
        if (typeof evicted === 'number' && evicted > 0) this.evictions.inc(evicted)
        return r
      }
    }
  }

  /**
   * Per-protocol bytes with the protocol and the direction as two labels. Like
   * @libp2p/prometheus-metrics, observe dispatched `message` events rather than adding a
   * listener: a listener added this early would drain the stream before its handler reads.
   */
  private countBytes (stream: Stream): void {
    const protocol = stream.protocol
    if (protocol == null || protocol === '') return
    const sent = this.protocolBytes.labels({ protocol, direction: 'sent' })
    const received = this.protocolBytes.labels({ protocol, direction: 'received' })
    const dispatchEvent = stream.dispatchEvent.bind(stream)
    stream.dispatchEvent = (evt: Event) => {
      if (evt.type === 'message') received.inc((evt as Event & { data: { byteLength: number } }).data.byteLength)
      return dispatchEvent(evt)
    }
    const send = stream.send.bind(stream)
    stream.send = (buf) => {
      sent.inc(buf.byteLength)
      return send(buf)
    }
  }

  /** Gauges and counters read from the node at each scrape. */
  private collectNode (): void {
    const registers = [this.registry]
    const source = (): MetricsSource | undefined => this.source
    const gauge = (name: string, help: string, read: (s: MetricsSource) => number): void => {
      void new Gauge({ name, help, registers, collect () { const s = source(); if (s !== undefined) this.set(read(s)) } })
    }
    gauge('warren_routing_table_entries', 'Entries in the routing table (location -> peer)', (s) => s.routingTable().size)
    gauge('warren_routing_table_capacity_entries', 'Entries the routing table can hold', (s) => s.routingTable().capacity)
    gauge('warren_routing_table_peers', 'Distinct peers in the routing table', (s) => s.routingTable().peers)
    void new Gauge({
      name: 'warren_routing_table_spread_entries',
      help: 'Routing-table entries per sixteenth of the key space (bucket 0 = locations [0, 1/16)): how widely the table covers the keys',
      labelNames: ['bucket'],
      registers,
      collect () {
        source()?.routingTable().spread.forEach((n, i) => { this.set({ bucket: String(i).padStart(2, '0') }, n) })
      }
    })
    gauge('warren_store_blocks', 'Blocks in the store', (s) => s.store().count)
    gauge('warren_store_used_bytes', 'Bytes of blocks in the store', (s) => s.store().usedBytes)
    gauge('warren_store_capacity_bytes', 'The store\'s capacity', (s) => s.store().capacityBytes)
    gauge('warren_store_fill_ratio', 'Used bytes over capacity (0..1)', (s) => { const st = s.store(); return st.capacityBytes > 0 ? st.usedBytes / st.capacityBytes : 0 })
    gauge('warren_active_operations', 'Requests, inserts, announcements and joins in progress at this node (local and relayed)', (s) => s.activeOperations())
    // The routing core's lifetime counters, for every operation that reached this node.
    const counter = (name: string, help: string, read: (c: ReturnType<MetricsSource['core']>) => number): void => {
      void new Counter({ name, help, registers, collect () { const s = source(); if (s !== undefined) { this.reset(); this.inc(read(s.core())) } } })
    }
    void new Counter({
      name: 'warren_routed_operations_total',
      help: 'Requests and inserts that reached this node from peers or from its own clients',
      labelNames: ['operation'],
      registers,
      collect () {
        const c = source()?.core()
        if (c === undefined) return
        this.reset()
        this.inc({ operation: 'request' }, c.requestsReceived)
        this.inc({ operation: 'insert' }, c.insertsReceived)
      }
    })
    counter('warren_forwarded_total', 'Times this node forwarded a request or an insert to a peer', (c) => c.forwarded)
    counter('warren_served_from_store_total', 'Requests this node answered from its own store', (c) => c.servedFromStore)
    counter('warren_loops_rejected_total', 'Operations refused because they had already passed through this node', (c) => c.loopsRejected)
    counter('warren_failure_table_rejects_total', 'Requests refused by the failure table (the key was just not found at this HTL)', (c) => c.failureTableRejects)
  }
}

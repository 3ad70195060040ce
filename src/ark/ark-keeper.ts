/**
 * A node's ARK duties: publish its own addresses (on start, when they change, and again after a
 * publish that reached no other node), remember the peers it has been connected to, and when one
 * of them cannot be dialled at its known addresses, resolve its ARK and dial the addresses found
 * there. A Startable; the neighbour upkeep (src/protocol/neighbour-keeper.ts) calls `reconnect`.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { publishArk, resolveArk } from './ark.js'
import { ARK_KNOWN_PEERS, DIAL_TIMEOUT_MS } from '../constants.js'
import type { KeyClient } from '../client/key-client.js'
import type { Logger } from '../util/logger.js'
import type { Libp2p, PrivateKey, Startable } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface ArkKeeperComponents {
  libp2p: Libp2p
  /** Inserts and resolves the ARK's signed key. */
  keys: KeyClient
  /** The node's identity: the ARK is signed with it. */
  privateKey: PrivateKey
  log: Logger
  /** Whether an insert can leave this node (it has routing-table peers). */
  canRoute: () => boolean
  /**
   * Whether an address found in somebody's ARK may be dialled (the service's private-address
   * filter): an ARK is written by its peer, so a hostile one could list addresses inside the
   * operator's network for this node to dial.
   */
  dialable: (ma: Multiaddr) => boolean
  /** The addresses the node advertises for itself (the service's: configured, or public ones). */
  advertised: () => Multiaddr[]
}

export interface ArkKeeperInit {
  /** Publish by itself (on start, when addresses change, every interval); test networks call `publish` instead. */
  autoPublish: boolean
  /** Time between automatic publish attempts (MAINTENANCE_INTERVAL_MS). */
  intervalMs: number
}

/** Peers remembered for reconnection (most recently connected first out of the bound). */

export interface ArkStats {
  published: number
  lastEdition: number
  resolved: number
  reconnected: number
}

export class ArkKeeper implements Startable {
  readonly stats: ArkStats = { published: 0, lastEdition: -1, resolved: 0, reconnected: 0 }
  private readonly known = new Set<string>()
  private dirty = true
  /** The newest edition was stored by this node only: the next publish writes a new one. */
  private unspread = false
  private publishing?: Promise<void>
  private timer?: NodeJS.Timeout
  private readonly libp2p: Libp2p
  private readonly keys: KeyClient
  private readonly key: PrivateKey
  private readonly log: Logger
  private readonly canRoute: () => boolean
  private readonly dialable: (ma: Multiaddr) => boolean
  private readonly advertised: () => Multiaddr[]
  private readonly init: ArkKeeperInit
  private readonly onConnect = (evt: CustomEvent<{ toString: () => string }>): void => { this.remember(evt.detail.toString()) }
  private readonly onSelfUpdate = (): void => { this.dirty = true }
  /** A neighbour finished identify (and joins the routing table): a pending publish can go now. */
  private readonly onIdentify = (): void => {
    if (this.dirty) setTimeout(() => { void this.autoPublish() }, 0)
  }

  constructor (components: ArkKeeperComponents, init: ArkKeeperInit) {
    this.libp2p = components.libp2p
    this.keys = components.keys
    this.key = components.privateKey
    this.log = components.log
    this.canRoute = components.canRoute
    this.dialable = components.dialable
    this.advertised = components.advertised
    this.init = init
  }

  start (): void {
    this.libp2p.addEventListener('peer:connect', this.onConnect)
    this.libp2p.addEventListener('self:peer:update', this.onSelfUpdate)
    this.libp2p.addEventListener('peer:identify', this.onIdentify)
    for (const p of this.libp2p.getPeers()) this.remember(p.toString())
    // A publish that could not go (no routes yet, or stored only here) is retried every interval.
    this.timer = setInterval(() => { void this.autoPublish() }, this.init.intervalMs)
    this.timer.unref()
    void this.autoPublish()
  }

  stop (): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.libp2p.removeEventListener('peer:connect', this.onConnect)
    this.libp2p.removeEventListener('self:peer:update', this.onSelfUpdate)
    this.libp2p.removeEventListener('peer:identify', this.onIdentify)
  }

  private remember (peer: string): void {
    this.known.delete(peer)
    this.known.add(peer)
    if (this.known.size > ARK_KNOWN_PEERS) this.known.delete(this.known.values().next().value as string)
  }

  /** `publish`, unless automatic publishing is off (test networks). */
  async autoPublish (): Promise<void> {
    if (this.init.autoPublish) await this.publish()
  }

  /** Publish the current addresses if they changed since the last successful publish. */
  async publish (force = false): Promise<void> {
    if (this.publishing !== undefined) await this.publishing
    if (!force && !this.dirty) return
    // Nobody to tell yet: stay dirty until the next maintenance finds neighbours.
    if (!this.canRoute()) return
    // Nothing a peer could dial (a node on private addresses only): nothing to publish.
    const addrs = this.advertised().map((a) => a.toString())
    if (addrs.length === 0) return
    this.publishing ??= (async () => {
      this.dirty = false
      try {
        const r = await publishArk(this.keys, this.key, addrs, { force: this.unspread })
        this.stats.lastEdition = r.edition
        if (!r.unchanged) this.stats.published++
        // Stored only here: nobody else can find it. Publish a new edition at the next maintenance.
        if (!r.unchanged) this.unspread = r.stored <= 1
        if (this.unspread) this.dirty = true
        this.log.info({ edition: r.edition, stored: r.stored, unchanged: r.unchanged }, 'ARK published')
      } catch (err: any) {
        this.dirty = true
        this.log.warn({ err: err.message }, 'ARK publish failed')
      } finally {
        this.publishing = undefined
      }
    })()
    await this.publishing
  }

  /**
   * Dial remembered peers that are not connected; for each that fails at its known addresses,
   * look up its ARK and dial the addresses published there. Returns the peers reached via an ARK.
   */
  async reconnect (connected: Set<string>, limit: number): Promise<string[]> {
    const lost = [...this.known].reverse().filter((p) => !connected.has(p)).slice(0, limit)
    const reached: string[] = []
    await Promise.all(lost.map(async (p) => {
      const id = peerIdFromString(p)
      try {
        await this.libp2p.dial(id, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
        return
      } catch {}
      try {
        const ark = await resolveArk(this.keys, id)
        if (ark === undefined || ark.record.addrs.length === 0) throw new Error('no ARK found')
        this.stats.resolved++
        // Only through the private-address filter: the peer store is what libp2p dials.
        const addrs = ark.record.addrs.map((a) => multiaddr(a)).filter((a) => this.dialable(a))
        if (addrs.length === 0) throw new Error(`its ARK lists no address this node may dial (${ark.record.addrs.length} private or not TCP/IP)`)
        await this.libp2p.peerStore.patch(id, { multiaddrs: addrs })
        await this.libp2p.dial(id, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
        this.stats.reconnected++
        reached.push(p)
        this.log.info({ peer: p, edition: ark.edition, addrs: ark.record.addrs }, 'reached a peer through its ARK')
      } catch (err: any) {
        // Gone, or moved without a findable ARK: stop trying until it connects again.
        this.known.delete(p)
        this.log.debug({ peer: p, err: err.message }, 'ARK reconnection failed')
      }
    }))
    return reached
  }
}

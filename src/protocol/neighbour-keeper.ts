/**
 * Neighbour upkeep. libp2p 3.x has no auto-dialer: a node keeps at least MIN_CONNECTIONS
 * neighbours itself, by re-dialling bootstrap nodes and peers from its routing table (which ones:
 * the pure policy in src/routing/neighbours.ts), and looks peers that stay unreachable up by
 * their ARKs (they may have moved). A Startable: one round on start, then one every interval.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { neighboursToDial } from '../routing/neighbours.js'
import type { Logger } from '../util/logger.js'
import type { AbortOptions, PeerId, Startable } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface NeighbourKeeperComponents {
  /** Peer IDs connected now. */
  connected: () => string[]
  dial: (target: PeerId | Multiaddr, options: AbortOptions) => Promise<unknown>
  /** The peers the routing table knows, in table order. */
  known: () => Iterable<string>
  /** Finds remembered peers that are unreachable at their known addresses through their ARKs (ArkKeeper). */
  ark: { reconnect: (connected: Set<string>, limit: number) => Promise<unknown> }
  log: Logger
}

export interface NeighbourKeeperInit {
  /** Bootstrap multiaddrs (with /p2p/ peer IDs where known). */
  bootstrap: string[]
  /** Connections to keep at least (MIN_CONNECTIONS). */
  min: number
  /** Time between rounds (MAINTENANCE_INTERVAL_MS). */
  intervalMs: number
  /** Time one dial may take (DIAL_TIMEOUT_MS). */
  dialTimeoutMs: number
}

export class NeighbourKeeper implements Startable {
  private readonly c: NeighbourKeeperComponents
  private readonly init: NeighbourKeeperInit
  private readonly bootstrap: Array<{ addr: Multiaddr, peer?: string }>
  private timer?: NodeJS.Timeout
  private running = false

  constructor (components: NeighbourKeeperComponents, init: NeighbourKeeperInit) {
    this.c = components
    this.init = init
    this.bootstrap = init.bootstrap.map((a) => multiaddr(a)).map((addr) => ({ addr, peer: addr.getComponents().find((c) => c.name === 'p2p')?.value }))
  }

  /** Starts the rounds and resolves after the first one. */
  async start (): Promise<void> {
    this.running = true
    this.timer = setInterval(() => { void this.upkeep() }, this.init.intervalMs)
    this.timer.unref()
    await this.upkeep()
  }

  stop (): void {
    this.running = false
    if (this.timer !== undefined) clearInterval(this.timer)
  }

  /** One round: dial toward the minimum of connections, then try the ARKs of peers still lost. */
  async upkeep (): Promise<void> {
    if (!this.running) return
    const connected = new Set(this.c.connected())
    const dials = neighboursToDial({ connected, bootstrap: this.bootstrap, known: this.c.known(), min: this.init.min })
    if (!dials.short) return
    const targets: Array<PeerId | Multiaddr> = [...dials.bootstrap, ...dials.peers.map((p) => peerIdFromString(p))]
    await Promise.all(targets.map(async (t) => {
      try {
        await this.c.dial(t, { signal: AbortSignal.timeout(this.init.dialTimeoutMs) })
      } catch (err: any) {
        this.c.log.debug({ target: t.toString(), err: err.message }, 'neighbour dial failed')
      }
    }))
    await this.c.ark.reconnect(new Set(this.c.connected()), this.init.min)
  }
}

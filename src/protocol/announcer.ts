/**
 * When a node announces itself (Freenet section 3.5): once in its life, through a connected
 * bootstrap peer. The nodes of a random walk agree on a key for it by commit-and-reveal and add
 * it to their routing tables, so the rest of the network learns of the newcomer. The key is
 * saved (announcement.json); a restarted node keeps it and only routes a join toward it again,
 * as soon as it has a neighbour to route through. Retried every interval until it succeeds; a
 * node without bootstrap peers (the first) never announces. With `rejoinIntervalMs` (the
 * profile's periodic rejoin) an announced node routes that join again each time the interval
 * has passed since its last announcement or join, so that it learns the nodes that settled
 * near its location since, and they learn it. A Startable, like libp2p's parts.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { saveAnnouncement } from '../announcement.js'
import type { Announcement } from '../announcement.js'
import type { Logger } from '../util/logger.js'
import type { WarrenService } from './service.js'
import type { Startable } from '@libp2p/interface'

export interface AnnouncerComponents {
  service: WarrenService
  /** Peer IDs connected now. */
  connected: () => string[]
  log: Logger
}

export interface AnnouncerInit {
  /** Bootstrap multiaddrs; the announcement goes through the first one connected. */
  bootstrap: string[]
  /** Hops-to-live of the walk (networkProfile.announceHtl). */
  htl: number
  /** Where announcement.json is kept. */
  dataDir: string
  /** How often to try again while the node has not announced (or rejoined). */
  intervalMs: number
  /** Announce by itself at all (tests turn it off and call service.announce). */
  enabled: boolean
  /** The announcement of an earlier run, from announcement.json. */
  restored?: Announcement
  /** Route the join toward the location again this long after the last one (networkProfile.rejoin.intervalMs); 0: only after a restart. */
  rejoinIntervalMs?: number
}

export class Announcer implements Startable {
  private readonly c: AnnouncerComponents
  private readonly init: AnnouncerInit
  private saved?: Announcement
  private announcing = false
  /** The announcement came from disk: its join toward the location is still to run. */
  private rejoinDue: boolean
  /** When the last announcement or join toward the location started (Date.now()). */
  private lastJoinAt = 0
  private timer?: NodeJS.Timeout
  private running = false
  /** A restarted node joins toward its kept location as soon as it has a neighbour to route through. */
  private readonly onNeighbour = (): void => { if (this.rejoinDue) void this.tick() }

  constructor (components: AnnouncerComponents, init: AnnouncerInit) {
    this.c = components
    this.init = init
    this.saved = init.restored
    this.rejoinDue = init.restored !== undefined
  }

  /** Hops-to-live of this node's announcement walks (the `network` profile's announceHtl). */
  get htl (): number {
    return this.init.htl
  }

  /** Time between the node's periodic joins toward its location (0: none). */
  get rejoinIntervalMs (): number {
    return this.init.rejoinIntervalMs ?? 0
  }

  /** This node's announcement (null before it has one), and whether it came from an earlier run. */
  get announcement (): (Announcement & { restored: boolean }) | null {
    return this.saved === undefined ? null : { ...this.saved, restored: this.init.restored !== undefined }
  }

  start (): void {
    this.running = true
    this.c.service.addEventListener('warren:neighbour', this.onNeighbour)
    this.timer = setInterval(() => { void this.tick() }, this.init.intervalMs)
    this.timer.unref()
    void this.tick()
  }

  stop (): void {
    this.running = false
    this.c.service.removeEventListener('warren:neighbour', this.onNeighbour)
    if (this.timer !== undefined) clearInterval(this.timer)
  }

  /** Announce now if due: a walk if the node never announced, or the join after a restart. */
  async tick (): Promise<void> {
    if (this.announcing || !this.init.enabled || !this.running || !this.c.service.isStarted()) return
    if (this.saved !== undefined) {
      const every = this.rejoinIntervalMs
      if (every > 0 && Date.now() - this.lastJoinAt >= every) this.rejoinDue = true
      this.rejoin()
      return
    }
    const connected = new Set(this.c.connected())
    const via = this.init.bootstrap
      .map((a) => multiaddr(a).getComponents().find((c) => c.name === 'p2p')?.value)
      .find((id): id is string => id !== undefined && connected.has(id))
    if (via === undefined) return
    this.announcing = true
    const log = this.c.log
    try {
      const r = await this.c.service.announce(via, this.init.htl)
      const announcement = { key: r.key.hex, participants: r.participants, at: Date.now() }
      // Saved before it shows in status: an announced node has its location on disk.
      await saveAnnouncement(this.init.dataDir, announcement).catch((err: Error) => {
        log.warn({ err: err.message }, 'could not save the announcement; the node will announce again on its next start')
      })
      this.saved = announcement
      this.lastJoinAt = Date.now()
      log.info({ key: r.key.hex, participants: r.participants, refs: r.refs }, 'announced to the network')
      // The routed join goes on after the result (bounded by its own deadlines): log it, do not wait.
      void r.joined.then((refs) => {
        if (refs !== undefined) log.info({ key: r.key.hex, refs }, 'joined the nodes near its location')
      })
    } catch (err: any) {
      log.warn({ via, err: err.message }, 'announcement failed; will retry')
    } finally {
      this.announcing = false
    }
  }

  /** After a restart or when the rejoin interval has passed: route a join toward the kept location once the routing table has a neighbour to start from. */
  private rejoin (): void {
    if (!this.rejoinDue || this.c.service.core.table.size === 0) return
    this.rejoinDue = false
    this.lastJoinAt = Date.now()
    const key = this.saved!.key
    this.c.service.rejoin().then((refs) => {
      if (refs !== undefined) this.c.log.info({ key, refs }, 'rejoined the nodes near its kept location')
    }, (err: Error) => {
      this.rejoinDue = true
      this.c.log.warn({ key, err: err.message }, 'join toward the kept location failed; will retry')
    })
  }
}

/**
 * The driver side of verified routes (issue 11, finding 2; src/routing/pending-routes.ts): a
 * route the core holds back because it names a peer the node never connected to is verified
 * by connecting to that peer (the Noise handshake proves its peer ID at an address we were
 * given). Bounded: VERIFY_PARALLEL dials at once, new ones every VERIFY_INTERVAL_MS at most,
 * each with a deadline, so a flood of references to a tarpit costs a few stalled dials, never
 * routing entries. A Startable, like libp2p's parts.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { VERIFY_DIAL_TIMEOUT_MS, VERIFY_INTERVAL_MS, VERIFY_PARALLEL } from '../constants.js'
import type { AddressBook } from './address-book.js'
import type { NodeCore } from '../routing/node-core.js'
import type { Logger, PeerStore, Startable } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

export interface VerifierComponents {
  core: NodeCore<string>
  addressBook: AddressBook
  connectionManager: ConnectionManager
  peerStore: PeerStore
  log: Logger
}

export class Verifier implements Startable {
  private timer?: NodeJS.Timeout
  private readonly dialling = new Map<string, AbortController>()

  constructor (private readonly c: VerifierComponents) {}

  /** Dials in progress. */
  get active (): number {
    return this.dialling.size
  }

  start (): void {
    this.timer = setInterval(() => { this.tick() }, VERIFY_INTERVAL_MS)
    this.timer.unref()
  }

  stop (): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    for (const a of this.dialling.values()) a.abort(new Error('node stopping'))
    this.dialling.clear()
  }

  /** Start verifying the oldest waiting peers, up to VERIFY_PARALLEL dials in all. */
  tick (): void {
    const free = VERIFY_PARALLEL - this.dialling.size
    if (free <= 0 || this.c.core.pending.size === 0) return
    for (const peer of this.c.core.peersToVerify(free)) void this.verify(peer)
  }

  /**
   * A peer that could not be verified and that the node neither routes to nor is connected to
   * leaves the peer store too (the failed dial wrote it there): references to made-up peers
   * must not grow it.
   */
  private async forget (peer: string): Promise<void> {
    const id = peerIdFromString(peer)
    if (this.c.core.table.has(peer) || this.c.connectionManager.getConnections(id).length > 0) return
    await this.c.peerStore.delete(id).catch(() => {})
  }

  private async verify (peer: string): Promise<void> {
    const ac = new AbortController()
    this.dialling.set(peer, ac)
    const timer = setTimeout(() => { ac.abort(new Error(`no connection within ${VERIFY_DIAL_TIMEOUT_MS} ms`)) }, VERIFY_DIAL_TIMEOUT_MS)
    try {
      await this.c.addressBook.prepareDial(peer)
      await this.c.connectionManager.openConnection(peerIdFromString(peer), { signal: ac.signal })
      if (this.dialling.get(peer) === ac) this.c.core.peerVerified(peer)
    } catch (err: any) {
      this.c.log('could not verify %s - %s', peer, err.message)
      if (this.dialling.get(peer) === ac) this.c.core.verifyFailed(peer)
      await this.forget(peer)
    } finally {
      clearTimeout(timer)
      if (this.dialling.get(peer) === ac) this.dialling.delete(peer)
    }
  }
}

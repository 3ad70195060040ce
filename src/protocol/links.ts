/**
 * The node's link streams (link.ts): at most one it opened per neighbour, shared by all
 * operations toward it, and those its neighbours opened; peers without the link protocol fall
 * back to the per-operation protocols.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { raceSignal } from 'race-signal'
import { DIAL_TIMEOUT_MS, LINK_PROTOCOL } from '../constants.js'
import { LinkSession } from './link.js'
import type { LinkChannel } from './link-channel.js'
import type { WireErrorHook } from './stream.js'
import type { Connection, Logger, Stream } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

export interface LinksInit {
  connectionManager: ConnectionManager
  /** A neighbour opened a channel: hand it to the request/insert driver. */
  onChannel: (channel: LinkChannel, connection: Connection) => void
  onWireError?: WireErrorHook
  log: Logger
}

/**
 * The node's link streams: at most one it opened per neighbour (opened on first use, shared by
 * all operations toward it), and those its neighbours opened. Peers that do not speak the link
 * protocol are remembered until they disconnect: operations toward them use the per-operation
 * protocols.
 */
export class Links {
  private readonly init: LinksInit
  private readonly out = new Map<string, Promise<LinkSession>>()
  private readonly all = new Set<LinkSession>()
  private readonly legacy = new Set<string>()
  private stopped = false

  constructor (init: LinksInit) {
    this.init = init
  }

  /** Link streams open (both directions), for tests and stats. */
  get sessions (): number {
    return this.all.size
  }

  /** An inbound link stream from `connection`'s peer. */
  accept (stream: Stream, connection: Connection): void {
    if (this.stopped) {
      stream.abort(new Error('node stopping'))
      return
    }
    const session = new LinkSession({
      peer: connection.remotePeer.toString(),
      stream,
      opener: false,
      onChannel: (ch) => { this.init.onChannel(ch, connection) },
      onEnd: (s) => { this.all.delete(s) },
      onWireError: this.init.onWireError,
      log: this.init.log
    })
    if (session.endedWith === undefined) this.all.add(session)
  }

  /**
   * A channel to `peer` (reachable: the caller prepared the dial), or undefined when the peer
   * does not speak the link protocol.
   */
  async open (peer: string, signal: AbortSignal): Promise<LinkChannel | undefined> {
    if (this.legacy.has(peer)) return undefined
    let pending = this.out.get(peer)
    if (pending === undefined) {
      pending = this.connect(peer)
      this.out.set(peer, pending)
      pending.catch(() => { if (this.out.get(peer) === pending) this.out.delete(peer) })
    }
    let session: LinkSession
    try {
      session = await raceSignal(pending, signal)
    } catch (err: any) {
      if (err?.name === 'UnsupportedProtocolError') {
        this.legacy.add(peer)
        return undefined
      }
      throw err
    }
    return await session.openChannel(signal)
  }

  /** `peer` disconnected: it may speak the link protocol when it comes back. */
  forget (peer: string): void {
    this.legacy.delete(peer)
  }

  stop (): void {
    this.stopped = true
    const err = new Error('node stopping')
    for (const s of this.all) s.abort(err)
    this.all.clear()
    this.out.clear()
    this.legacy.clear()
  }

  private async connect (peer: string): Promise<LinkSession> {
    const stream = await this.init.connectionManager.openStream(peerIdFromString(peer), LINK_PROTOCOL, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
    if (this.stopped) {
      stream.abort(new Error('node stopping'))
      throw new Error('node stopping')
    }
    const promise = this.out.get(peer)
    const ended = (s: LinkSession): void => {
      this.all.delete(s)
      if (this.out.get(peer) === promise) this.out.delete(peer)
    }
    const session = new LinkSession({ peer, stream, opener: true, onEnd: ended, onWireError: this.init.onWireError, log: this.init.log })
    if (session.endedWith !== undefined) throw session.endedWith
    this.all.add(session)
    return session
  }
}

/**
 * The `/warren/tunnel/1.0.0` protocol (issue 13, item 2): a libp2p service beside the warren
 * service, driving a tunnel routing core (./route.ts, the same NodeCore as requests) over one
 * stream per hop per tunnel.
 *
 *   OPEN(header, htl, sealed) ->          routed hop by hop toward header.dest
 *   <- ACCEPTED | ROUTE_NOT_FOUND | NOT_FOUND | LOOP | ERROR
 *   then, on ACCEPTED: CHUNK frames both ways (sealed end to end), each side half-closes when done.
 *
 * This file is the requester side (`open` and the operations built on it); every hop (the
 * stream handler, middlemen and the trusted peer) is ./hops.ts, which TunnelService extends.
 */
import { serviceCapabilities } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { TunnelFrame, TunnelRequest, TunnelResponse } from '../../proto/tunnel.js'
import { FIRST_FRAME_TIMEOUT_MS } from '../constants.js'
import { peerKey } from '../protocol/address-book.js'
import { NotFoundError } from '../protocol/errors.js'
import { timerMs, whenAborted } from '../protocol/stream.js'
import { randomId } from '../routing/random.js'
import { MAX_PUT_BYTES } from './constants.js'
import { TunnelHops, TunnelRouteError } from './hops.js'
import { sealRequest, TunnelRejected } from './seal.js'
import { TunnelSession } from './session.js'
import type { Card } from './card.js'
import type { Op, TunnelServiceComponents, TunnelServiceInit } from './hops.js'
import type { TunnelLink } from './session.js'
import type { Startable } from '@libp2p/interface'

/** Content coming back through a tunnel: its size and type, and the bytes as they arrive. */
export interface TunnelDownload {
  size: number
  mime: string
  stream: AsyncGenerator<Uint8Array>
}

export class TunnelService extends TunnelHops implements Startable {
  readonly [Symbol.toStringTag] = '@warren/tunnel'
  readonly [serviceCapabilities]: string[] = ['@warren/tunnel']

  // ---- requester side ----

  /**
   * Open a tunnel to the peer of `card` carrying `req`: seal it, route it, and return the
   * session once the trusted peer accepted it. Rejects with TunnelRouteError when the network
   * found no way to the peer, TunnelRejected when the peer refused the message.
   */
  async open (card: Card, req: TunnelRequest, signal?: AbortSignal): Promise<TunnelSession> {
    signal?.throwIfAborted()
    const dest = peerKey(peerIdFromString(card.peerId))
    if (dest.equals(this.selfKey)) throw new Error('a tunnel to this node itself would hide nothing: use the request without --via')
    const id = randomId(this.rng)
    const { header, sealed, keys } = await sealRequest(card.tunnelKey, dest.bytes, id, card.keyEpoch, req)
    const htl = this.core.options.maxHtl
    let local!: NonNullable<Op['local']>
    const up = new Promise<TunnelLink>((resolve, reject) => { local = { resolve, reject } })
    const frame: TunnelFrame = { type: TunnelFrame.Type.OPEN, header, sealed, htl, remainingHtl: 0, hops: 0 }
    this.ops.set(id, { frame, local, ended: new AbortController() })
    const end = (err: Error): void => {
      const op = this.ops.get(id)
      if (op?.local === local) {
        this.core.abort(id)
        this.release(id)
      }
      local.reject(err)
    }
    const ms = timerMs(this.core.timeoutFor(htl) * 2 + FIRST_FRAME_TIMEOUT_MS)
    const timer = setTimeout(() => { end(new TunnelRouteError(`no answer from the trusted peer within ${ms} ms`)) }, ms)
    const unlisten = whenAborted(signal, end)
    try {
      this.run(this.core.receive(null, { kind: 'request', id, key: dest, htl }))
      const link = await up
      this.observer.operation?.('originator', 'accepted')
      return new TunnelSession(link, keys, id, true, undefined, this.sealedCounter('originator'))
    } catch (err) {
      this.observer.operation?.('originator', err instanceof TunnelRouteError ? 'no_route' : err instanceof TunnelRejected ? 'rejected' : 'error')
      throw err
    } finally {
      clearTimeout(timer)
      unlisten()
    }
  }

  /** Open a tunnel to the trusted peer `name` carrying `req`. */
  async request (name: string, req: Partial<TunnelRequest>, signal?: AbortSignal): Promise<TunnelSession> {
    const full: TunnelRequest = { op: TunnelRequest.Op.CARD, target: '', htl: 0, mime: '', insert: false, bodySize: 0n, ...req }
    return await this.open(this.state.trusted(name), full, signal)
  }

  /** Read the trusted peer's response (the first chunk from it) and pick up its card. */
  async response (name: string, session: TunnelSession): Promise<TunnelResponse> {
    let res: TunnelResponse
    try {
      res = TunnelResponse.decode((await session.receive()).data)
    } catch (err) {
      session.abort(err as Error)
      throw err instanceof TunnelRejected ? err : new TunnelRejected()
    }
    if (res.card.length > 0) {
      await this.state.refreshed(name, new TextDecoder().decode(res.card)).catch((err: Error) => { this.log('ignoring the card %s sent back: %s', name, err.message) })
    }
    if (!res.ok) {
      await session.close()
      throw res.notFound ? new NotFoundError(`the trusted peer answered: ${res.error}`, 0) : new TunnelRemoteError(res.error)
    }
    return res
  }

  /** Fetch warren `uri` through the trusted peer `name`: its size, type and content (sealed all the way). */
  async get (name: string, uri: string, options: { htl?: number, signal?: AbortSignal } = {}): Promise<TunnelDownload> {
    const session = await this.request(name, { op: TunnelRequest.Op.GET, target: uri, htl: options.htl ?? 0 }, options.signal)
    const res = await this.response(name, session)
    return { size: Number(res.size), mime: res.mime, stream: body(session, Number(res.size)) }
  }

  /** Insert `source` through the trusted peer `name`; its URI. */
  async put (name: string, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: { htl?: number, mime?: string, size?: number, signal?: AbortSignal } = {}): Promise<{ uri: string }> {
    const session = await this.request(name, { op: TunnelRequest.Op.PUT, htl: options.htl ?? 0, mime: options.mime ?? '', bodySize: BigInt(options.size ?? 0) }, options.signal)
    try {
      await session.sendAll(source, options.size ?? MAX_PUT_BYTES)
    } catch (err) {
      session.abort(err as Error)
      throw err
    }
    const res = await this.response(name, session)
    await session.close()
    return { uri: res.uri }
  }

  /** A proxy download of `url` by the trusted peer `name` (with `insert`, also inserted: its CHK URI). */
  async fetchUrl (name: string, url: string, options: { insert?: boolean, htl?: number, signal?: AbortSignal } = {}): Promise<TunnelDownload & { uri?: string }> {
    const session = await this.request(name, { op: TunnelRequest.Op.FETCH_URL, target: url, insert: options.insert === true, htl: options.htl ?? 0 }, options.signal)
    const res = await this.response(name, session)
    return { size: Number(res.size), mime: res.mime, uri: res.uri === '' ? undefined : res.uri, stream: body(session, Number(res.size)) }
  }

  /** Ask the trusted peer `name` for its current card (a rotated key is stored); true when it changed. */
  async refreshCard (name: string, signal?: AbortSignal): Promise<boolean> {
    const before = this.state.trusted(name).keyEpoch
    const session = await this.request(name, { op: TunnelRequest.Op.CARD }, signal)
    await this.response(name, session)
    await session.close()
    return this.state.trusted(name).keyEpoch !== before
  }

}

/** The content after a response: exactly `size` bytes and the last-chunk flag, then the session closes. */
export async function * body (session: TunnelSession, size: number): AsyncGenerator<Uint8Array> {
  let n = 0
  try {
    for await (const chunk of session.receiveAll(size)) {
      n += chunk.length
      yield chunk
    }
    if (n !== size) throw new TunnelRejected()
    await session.close()
  } catch (err) {
    session.abort(err as Error)
    throw err
  } finally {
    if (n < size) session.abort(new Error('the reader stopped'))
  }
}

/** The trusted peer carried the request out and it failed there (its words, sent back sealed). */
export class TunnelRemoteError extends Error {
  readonly statusCode = 502
  constructor (message: string) {
    super(`the trusted peer answered: ${message}`)
    this.name = 'TunnelRemoteError'
  }
}

/** The libp2p service factory: `services: { tunnel: tunnelService(init) }`. */
export function tunnelService (init: TunnelServiceInit): (components: TunnelServiceComponents) => TunnelService {
  return (components) => new TunnelService(components, init)
}

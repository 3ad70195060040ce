/**
 * What a trusted peer does for a requester whose sealed request it opened (issue 13, item 3):
 * warren requests and inserts on its behalf, and (when its operator turned them on) proxy
 * downloads. Everything it sends back goes through the session, sealed; the first chunk is a
 * TunnelResponse carrying the peer's current card, so requesters pick up a rotated key.
 */
import { TunnelRequest, TunnelResponse } from '../../proto/tunnel.js'
import { MAX_PUT_BYTES } from './constants.js'
import type { TunnelSession } from './session.js'

/** A body and what it is. */
export interface TunnelContent {
  size: number
  mime: string
  stream: AsyncIterable<Uint8Array> | Iterable<Uint8Array>
}

/** How the trusted peer carries requests out (the node wires its client in: src/node.ts). */
export interface TunnelExecutor {
  get: (uri: string, options: { htl?: number, signal: AbortSignal }) => Promise<TunnelContent>
  put: (body: AsyncIterable<Uint8Array>, options: { htl?: number, mime?: string, signal: AbortSignal }) => Promise<{ uri: string }>
  /**
   * A proxy download for requester `requester` (an opaque per-tunnel-neighbour label used for
   * rate limits); undefined when this node does not run an exit.
   */
  fetchUrl?: (url: string, options: { requester: string, insert: boolean, htl?: number, signal: AbortSignal }) => Promise<TunnelContent & { uri?: string }>
}

function response (r: Partial<TunnelResponse>): Uint8Array {
  return TunnelResponse.encode({ ok: false, error: '', card: new Uint8Array(), size: 0n, mime: '', uri: '', ...r })
}

/**
 * Carry out `req` for the requester at the other end of `session`; `card` is this node's
 * current card. Failures of the operation itself (not found, refused URL) go back sealed, in
 * the requester's words; the session is closed at the end either way.
 */
export async function serve (session: TunnelSession, req: TunnelRequest, executor: TunnelExecutor, card: Uint8Array<ArrayBuffer>, requester: string, signal: AbortSignal): Promise<void> {
  const htl = req.htl > 0 ? req.htl : undefined
  const fail = async (err: unknown): Promise<void> => { await session.send(response({ error: (err as Error).message, card }), true) }
  try {
    switch (req.op) {
      case TunnelRequest.Op.CARD:
        await session.send(response({ ok: true, card }), true)
        break
      case TunnelRequest.Op.GET: {
        let c: TunnelContent
        try {
          c = await executor.get(req.target, { htl, signal })
        } catch (err) {
          await fail(err)
          break
        }
        await session.send(response({ ok: true, card, size: BigInt(c.size), mime: c.mime }), false)
        await session.sendAll(c.stream)
        break
      }
      case TunnelRequest.Op.PUT: {
        if (req.bodySize > BigInt(MAX_PUT_BYTES)) {
          await fail(new Error(`this trusted peer inserts at most ${MAX_PUT_BYTES} bytes per tunnel`))
          break
        }
        let uri: string
        try {
          uri = (await executor.put(session.receiveAll(req.bodySize > 0n ? Number(req.bodySize) : MAX_PUT_BYTES), { htl, mime: req.mime === '' ? undefined : req.mime, signal })).uri
        } catch (err) {
          await fail(err)
          break
        }
        await session.send(response({ ok: true, card, uri }), true)
        break
      }
      case TunnelRequest.Op.FETCH_URL: {
        if (executor.fetchUrl === undefined) {
          await fail(new Error('this trusted peer does not run proxy downloads (its operator has not turned them on)'))
          break
        }
        let c: TunnelContent & { uri?: string }
        try {
          c = await executor.fetchUrl(req.target, { requester, insert: req.insert, htl, signal })
        } catch (err) {
          await fail(err)
          break
        }
        await session.send(response({ ok: true, card, size: BigInt(c.size), mime: c.mime, uri: c.uri ?? '' }), false)
        await session.sendAll(c.stream)
        break
      }
      default:
        await fail(new Error('unknown tunnel operation'))
    }
    await session.close()
  } catch (err) {
    session.abort(err as Error)
  }
}

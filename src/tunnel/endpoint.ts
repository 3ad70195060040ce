/**
 * What a trusted peer does for a requester whose sealed request it opened (issue 13, item 3):
 * warren requests and inserts on its behalf, and (when its operator turned them on) proxy
 * downloads. Everything it sends back goes through the session, sealed; the first chunk is a
 * TunnelResponse carrying the peer's current card, so requesters pick up a rotated key.
 */
import { TunnelRequest, TunnelResponse } from '../../proto/tunnel.js'
import { Block } from '../../proto/warren.js'
import { MAX_FRAME_BYTES } from '../constants.js'
import { verifyBlock } from '../keys/block-verify.js'
import { RoutingKey } from '../keys/routing-key.js'
import { NotFoundError } from '../protocol/errors.js'
import { MAX_PUT_BYTES } from './constants.js'
import type { BlockNetwork } from '../protocol/types.js'
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
  /** Single blocks (BLOCK_REQUEST, BLOCK_INSERT: signed keys the requester signed), at `htl` or the node's default. */
  blocks: (htl: number | undefined) => { network: BlockNetwork, htl: number }
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
  const fail = async (err: unknown): Promise<void> => { await session.send(response({ error: (err as Error).message, notFound: err instanceof NotFoundError, card }), true) }
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
      case TunnelRequest.Op.BLOCK_REQUEST:
      case TunnelRequest.Op.BLOCK_INSERT:
        await serveBlock(session, req, executor, card, signal, fail)
        break
      default:
        await fail(new Error('unknown tunnel operation'))
    }
    await session.close()
  } catch (err) {
    session.abort(err as Error)
  }
}

/**
 * BLOCK_REQUEST / BLOCK_INSERT: one block by routing key. The requester signed it (an SSK, a
 * KSK, an edition): this peer checks it against its key, moves it, and never holds a private key.
 */
async function serveBlock (session: TunnelSession, req: TunnelRequest, executor: TunnelExecutor, card: Uint8Array<ArrayBuffer>, signal: AbortSignal, fail: (err: unknown) => Promise<void>): Promise<void> {
  let key: RoutingKey
  try {
    key = RoutingKey.fromHex(req.target)
  } catch {
    await fail(new Error('not a routing key'))
    return
  }
  const { network, htl } = executor.blocks(req.htl > 0 ? req.htl : undefined)
  try {
    if (req.op === TunnelRequest.Op.BLOCK_REQUEST) {
      const r = await network.request(key, { htl, signal })
      const bytes = Block.encode(r.block)
      await session.send(response({ ok: true, card, size: BigInt(bytes.length), hops: r.hops }), false)
      await session.sendAll([bytes])
      return
    }
    const parts: Uint8Array[] = []
    for await (const p of session.receiveAll(MAX_FRAME_BYTES)) parts.push(p)
    const block = Block.decode(Buffer.concat(parts))
    if (!verifyBlock(key, block)) throw new Error('the block does not match its routing key (or its signature is invalid)')
    const r = await network.insert(key, block, { htl, signal })
    const existing = r.collision && r.block !== undefined ? Block.encode(r.block) : new Uint8Array()
    await session.send(response({ ok: true, card, size: BigInt(existing.length), stored: r.stored, hops: r.hops, collision: r.collision }), existing.length === 0)
    if (existing.length > 0) await session.sendAll([existing])
  } catch (err) {
    await fail(err)
  }
}

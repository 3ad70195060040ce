/**
 * Translation between the request/insert frames (proto/warren.proto) and the routing core's
 * responses and replies (src/routing/node-core.ts). Pure functions: the driver
 * (request-insert.ts) reads and writes the frames, these say what they mean.
 *
 *   request: REQUEST ->, <- DATA_FOUND | DATA_NOT_FOUND | ROUTE_NOT_FOUND | REJECTED_LOOP | ERROR
 *   insert:  INSERT ->, <- ALL_CLEAR | COLLISION | ROUTE_NOT_FOUND | REJECTED_LOOP | ERROR,
 *            then on ALL_CLEAR: INSERT_DATA ->, <- INSERT_STORED
 */
import { verifyBlock } from '../keys/block-verify.js'
import { NotFoundError } from './errors.js'
import { dataFrame, expectFrame, FrameType, ProtocolViolation, WireError } from './messages.js'
import { Block } from '../../proto/warren.js'
import type { Frame } from './messages.js'
import type { Link } from './stream.js'
import { deadline } from './stream.js'
import type { InsertResult, RequestResult, WarrenStore } from './types.js'
import type { PeerRef } from '../../proto/warren.js'
import type { RoutingKey } from '../keys/routing-key.js'
import type { Reply, Response } from '../routing/node-core.js'

/** The frames a child may answer a REQUEST or an INSERT with. */
export const ANSWERS: Record<'request' | 'insert', FrameType[]> = {
  request: [FrameType.DATA_FOUND, FrameType.DATA_NOT_FOUND, FrameType.ROUTE_NOT_FOUND, FrameType.REJECTED_LOOP, FrameType.ERROR],
  insert: [FrameType.ALL_CLEAR, FrameType.COLLISION, FrameType.ROUTE_NOT_FOUND, FrameType.REJECTED_LOOP, FrameType.ERROR]
}

/**
 * The core's view of a child's answer `f` to an operation on `key`. A block it carries must
 * verify against the key (else ProtocolViolation) and is returned beside the response;
 * `learn` parses a claimed data source (throws ProtocolViolation), `peer` is the child.
 */
export function toResponse (f: Frame, key: RoutingKey, peer: string, learn: (ref: PeerRef) => string): { res: Response<string>, block?: Block } {
  switch (f.type) {
    case FrameType.DATA_FOUND:
    case FrameType.COLLISION: {
      const body = (f.dataFound ?? f.collision)!
      if (!verifyBlock(key, body.block!)) throw new ProtocolViolation(WireError.Code.INVALID_BLOCK, 'the block does not match the requested key')
      const source = body.source === undefined ? peer : learn(body.source)
      return { res: { type: f.type === FrameType.DATA_FOUND ? 'found' : 'collision', source, hops: body.hops }, block: body.block }
    }
    case FrameType.DATA_NOT_FOUND: return { res: { type: 'not-found', hops: f.dataNotFound!.hops, recentlyFailed: f.dataNotFound!.recentlyFailed } }
    case FrameType.ROUTE_NOT_FOUND: return { res: { type: 'route-not-found', remaining: f.routeNotFound!.remainingHtl, hops: f.routeNotFound!.hops } }
    case FrameType.REJECTED_LOOP: return { res: { type: 'loop' } }
    case FrameType.ALL_CLEAR: return { res: { type: 'all-clear', depth: f.allClear!.depth, remaining: f.allClear!.remainingHtl, hops: f.allClear!.hops } }
    default: return { res: { type: 'failed', reason: 'error' } }
  }
}

/**
 * The frame that carries a final reply `r` upstream; `block` is the data a found/collision
 * reply carries (undefined if it vanished: then DATA_NOT_FOUND), `source` its claimed source.
 */
export function replyFrame (r: Exclude<Reply<string>, { type: 'all-clear' }>, block: Block | undefined, source: PeerRef | undefined): Frame {
  switch (r.type) {
    case 'found':
    case 'collision':
      return block === undefined || source === undefined
        ? { type: FrameType.DATA_NOT_FOUND, dataNotFound: { hops: r.hops } }
        : dataFrame(r.type === 'found' ? FrameType.DATA_FOUND : FrameType.COLLISION, block, source, r.hops)
    case 'not-found': return { type: FrameType.DATA_NOT_FOUND, dataNotFound: r.recentlyFailed === true ? { hops: r.hops, recentlyFailed: true } : { hops: r.hops } }
    case 'route-not-found': return { type: FrameType.ROUTE_NOT_FOUND, routeNotFound: { remainingHtl: r.remaining, hops: r.hops } }
    case 'loop': return { type: FrameType.REJECTED_LOOP }
    case 'stored': return { type: FrameType.INSERT_STORED, insertStored: { stored: r.stored } }
  }
}

/** After ALL_CLEAR upstream: the INSERT_DATA frame's block, verified against `key` (else ProtocolViolation). */
export async function readInsertData (up: Link, key: RoutingKey, timeoutMs: number): Promise<Block> {
  using d = deadline(timeoutMs)
  const f = expectFrame(await up.read({ signal: d.signal }), [FrameType.INSERT_DATA])
  const block = f.insertData!.block!
  if (!verifyBlock(key, block)) throw new ProtocolViolation(WireError.Code.INVALID_BLOCK, 'the block does not match the insert key')
  return block
}

/** The block stored under `key` here, if any. */
export async function readBlock (store: WarrenStore, key: RoutingKey): Promise<Block | undefined> {
  const bytes = await store.get(key)
  return bytes === undefined ? undefined : Block.decode(bytes)
}

/** What an ALL_CLEAR told the originator of an insert: reported with the insert's result. */
export interface AllClear { depth: number, remaining: number, hops: number }

/**
 * The outcome a final reply `r` means for the node's own operation: a result, or the error
 * to reject with. `block` as for replyFrame; `allClear` from the insert's ALL_CLEAR.
 */
export function localOutcome (r: Exclude<Reply<string>, { type: 'all-clear' }>, block: Block | undefined, allClear?: AllClear, kind: 'request' | 'insert' = 'request'): { ok: RequestResult | InsertResult } | { err: Error } {
  switch (r.type) {
    case 'found':
    case 'collision':
      if (block === undefined) return { err: new NotFoundError('the block vanished from the local store', r.hops) }
      if (r.type === 'found') return { ok: { block, hops: r.hops, source: r.source } satisfies RequestResult }
      return { ok: { collision: true, block, stored: 0, depth: 0, remainingHtl: 0, hops: r.hops } satisfies InsertResult }
    case 'not-found': return { err: new NotFoundError(`not found: hops-to-live ran out after ${r.hops} hops`, r.hops) }
    case 'route-not-found':
      // The node's own insert ends so only when no other node took the block (NodeCore.ownInsertNeedsPeer).
      if (kind === 'insert') return { err: new Error(`insert stored on no other node: no route took it after ${r.hops} hops (${r.remaining} hops-to-live unused), and this node's own copy is in its client cache, which peers cannot read; connect to more peers and put again`) }
      return { err: new NotFoundError(`not found: no more routes after ${r.hops} hops (${r.remaining} hops-to-live unused)`, r.hops) }
    case 'loop': return { err: new Error('transaction ID collision; retry') }
    case 'stored': {
      const ac = allClear ?? { depth: 1, remaining: 0, hops: 0 }
      return { ok: { collision: false, stored: r.stored, depth: ac.depth, remainingHtl: ac.remaining, hops: ac.hops } satisfies InsertResult }
    }
  }
}

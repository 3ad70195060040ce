/**
 * The block network through a trusted peer (issue 13, item 3: signed-key puts via a trusted
 * peer): each request or insert of one block is its own tunnel (BLOCK_REQUEST, BLOCK_INSERT),
 * so a KeyClient built on it signs SSK, KSK and edition blocks here, with the private key that
 * never leaves this node, and the trusted peer only moves the signed blocks. The requester's
 * neighbours see sealed tunnel traffic; the trusted peer learns the routing keys (it must, to
 * route them), never a private key.
 */
import { TunnelRequest } from '../../proto/tunnel.js'
import { Block } from '../../proto/warren.js'
import { MAX_FRAME_BYTES } from '../constants.js'
import { verifyBlock } from '../keys/block-verify.js'
import { body } from './service.js'
import type { TunnelService } from './service.js'
import type { BlockNetwork } from '../protocol/types.js'

async function collect (source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of source) parts.push(p)
  return Buffer.concat(parts)
}

/** The trusted peer `name`'s block network, as seen from here: `htl` 0 means the peer's default. */
export function tunnelBlockNetwork (tunnels: Pick<TunnelService, 'request' | 'response'>, name: string): BlockNetwork {
  return {
    request: async (key, { htl, signal }) => {
      const session = await tunnels.request(name, { op: TunnelRequest.Op.BLOCK_REQUEST, target: key.hex, htl }, signal)
      const res = await tunnels.response(name, session)
      if (res.size > BigInt(MAX_FRAME_BYTES)) {
        session.abort(new Error('block too large'))
        throw new Error(`the trusted peer sent a ${res.size}-byte block (at most ${MAX_FRAME_BYTES})`)
      }
      const block = Block.decode(await collect(body(session, Number(res.size))))
      if (!verifyBlock(key, block)) throw new Error('the trusted peer sent a block that does not match its key')
      return { block, hops: res.hops, source: '' }
    },
    insert: async (key, block, { htl, signal }) => {
      const bytes = Block.encode(block)
      const session = await tunnels.request(name, { op: TunnelRequest.Op.BLOCK_INSERT, target: key.hex, htl, bodySize: BigInt(bytes.length) }, signal)
      try {
        await session.sendAll([bytes])
      } catch (err) {
        session.abort(err as Error)
        throw err
      }
      const res = await tunnels.response(name, session)
      let existing: Block | undefined
      if (res.collision && res.size > 0n && res.size <= BigInt(MAX_FRAME_BYTES)) {
        existing = Block.decode(await collect(body(session, Number(res.size))))
        if (!verifyBlock(key, existing)) throw new Error('the trusted peer reported a colliding block that does not match its key')
      } else {
        await session.close()
      }
      return { collision: res.collision, block: existing, stored: res.stored, depth: 0, remainingHtl: 0, hops: res.hops }
    }
  }
}

/**
 * Routing decisions for tunnels (pure): where an OPEN goes next, and what each answer means.
 *
 * A tunnel is routed like a Freenet request whose "key" is the trusted peer's own routing key
 * (SHA-256 of its peer ID, the location its neighbours file it under), so the routing core of
 * src/routing/node-core.ts runs it unchanged: greedy key-closeness with backtracking, HTL with
 * Freenet's probabilistic decrement at the maximum and at 1 (a middleman cannot tell whether
 * its upstream neighbour originated the tunnel), loop rejection by operation ID, deadlines.
 * "Found" means "this node is the trusted peer": its store view holds exactly its own key.
 * A tunnel core keeps only operation ID -> previous hop while routing, as Freenet does, and
 * learns "the trusted peer is behind this neighbour" from each successful tunnel (the core's
 * route-on-success rule), its known routes.
 *
 * Differences from a request, set in `tunnelCoreOptions`: no failure table (one tunnel that ran
 * out of HTL must not blackhole a trusted peer for minutes), and nothing to cache.
 */
import { NodeCore } from '../routing/node-core.js'
import { TunnelFrame } from '../../proto/tunnel.js'
import { CHUNK_SIZE_CLASSES, TAG_BYTES } from './constants.js'
import { headerWellFormed } from './seal.js'
import type { RoutingKey } from '../keys/routing-key.js'
import type { NodeCoreOptions, Reply, Response } from '../routing/node-core.js'
import type { Rng } from '../routing/random.js'

const MAX_HTL_ON_WIRE = 255

export function tunnelCoreOptions (base: NodeCoreOptions): NodeCoreOptions {
  return { ...base, failureTableSize: 0, cacheProb: 0, sourceResetProb: 0 }
}

/** A routing core for tunnels at node `self`, whose own routing key is `selfKey`. */
export function tunnelCore (self: string, selfKey: RoutingKey, rng: Rng, now: () => number, base: NodeCoreOptions): NodeCore<string> {
  return new NodeCore<string>({ self, store: { has: (k) => k.equals(selfKey) }, rng, now, options: tunnelCoreOptions(base) })
}

/** Is `f` a well-formed OPEN (header shape, size class, HTL range)? */
export function validOpen (f: TunnelFrame): boolean {
  return f.type === TunnelFrame.Type.OPEN && f.htl <= MAX_HTL_ON_WIRE && headerWellFormed(f.header, f.sealed.length)
}

/** The frame a final reply of the tunnel core becomes upstream (found: the tunnel is up). */
export function replyFrame (r: Reply<string>): TunnelFrame {
  const base = { sealed: new Uint8Array(), htl: 0, remainingHtl: 0, hops: 0 }
  switch (r.type) {
    case 'found': return { ...base, type: TunnelFrame.Type.ACCEPTED, hops: r.hops }
    case 'not-found': return { ...base, type: TunnelFrame.Type.NOT_FOUND, hops: r.hops }
    case 'route-not-found': return { ...base, type: TunnelFrame.Type.ROUTE_NOT_FOUND, remainingHtl: r.remaining, hops: r.hops }
    case 'loop': return { ...base, type: TunnelFrame.Type.LOOP }
    default: return errorFrame()
  }
}

/** The one generic failure frame (also what a hop answers anything malformed with). */
export function errorFrame (): TunnelFrame {
  return { type: TunnelFrame.Type.ERROR, sealed: new Uint8Array(), htl: 0, remainingHtl: 0, hops: 0 }
}

/**
 * What a child's answer `f` to an OPEN means to the core; `terminal` when it ends the tunnel
 * everywhere upstream without trying other routes (the trusted peer refused the message:
 * another route would reach the same peer and the same refusal).
 */
export function toResponse (f: TunnelFrame, child: string): { res: Response<string>, terminal?: true } {
  switch (f.type) {
    case TunnelFrame.Type.ACCEPTED: return { res: { type: 'found', source: child, hops: f.hops } }
    case TunnelFrame.Type.NOT_FOUND: return { res: { type: 'not-found', hops: f.hops } }
    case TunnelFrame.Type.ROUTE_NOT_FOUND: return { res: { type: 'route-not-found', remaining: f.remainingHtl, hops: f.hops } }
    case TunnelFrame.Type.LOOP: return { res: { type: 'loop' } }
    case TunnelFrame.Type.ERROR: return { res: { type: 'failed', reason: 'error' }, terminal: true }
    default: return { res: { type: 'failed', reason: 'invalid' } }
  }
}

/** Frames a hop passes along once the tunnel is up: chunks both ways, the generic error downstream-to-upstream. */
export function relayable (f: TunnelFrame, towardRequester: boolean): boolean {
  if (f.type === TunnelFrame.Type.CHUNK) return f.header === undefined && CHUNK_SIZE_CLASSES.some((c) => c + TAG_BYTES === f.sealed.length)
  return towardRequester && f.type === TunnelFrame.Type.ERROR
}

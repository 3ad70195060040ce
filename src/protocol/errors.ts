/**
 * Errors the block network reports to its callers. The client, the API and the gateway depend
 * on these (and on the types in ./types.ts), never on the libp2p service that throws them.
 */

/** The network did not find the data (or a signed key has nothing under it yet). */
export class NotFoundError extends Error {
  constructor (message: string, readonly hops: number) {
    super(message)
    this.name = 'NotFoundError'
  }
}

/**
 * An insert placed its block on no peer: the node tried its routes and every one failed, timed
 * out or was rejected, so the block is only in this node's client cache, which peers never read
 * (src/routing/core-ops.ts, endInsertHere).
 */
export class InsertNotPlacedError extends Error {
  /** A peer answered OVERLOADED (its insert quota or operation limits): worth trying again later. */
  overloaded = false
  constructor (message: string, readonly hops: number) {
    super(message)
    this.name = 'InsertNotPlacedError'
  }
}

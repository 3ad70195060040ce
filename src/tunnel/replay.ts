/**
 * Replay protection for sealed requests (issue 13, item 2). HPKE gives none across contexts
 * (RFC 9180 §9.7.3), so the trusted peer remembers the encapsulated key of every request it
 * accepted, per key epoch: the same sealed request again is refused. The set of an epoch dies
 * with its key (after that nothing sealed to it opens anyway), which bounds it; a cap per
 * epoch bounds it against floods (past it, new requests to that epoch are refused, and the
 * requester picks up the newer key from any card). Pure: the node persists `added` entries
 * (./files.ts) and feeds them back after a restart, so a replay is refused then too.
 */
import { REPLAY_CACHE_MAX } from './constants.js'

export class ReplayCache {
  private readonly seen = new Map<bigint, Set<string>>()

  constructor (private readonly max = REPLAY_CACHE_MAX) {}

  /**
   * Record `enc` for `epoch`; false when it was already there (a replay) or the epoch's set is
   * full. Only a true answer lets the request through.
   */
  add (epoch: bigint, enc: Uint8Array): boolean {
    let s = this.seen.get(epoch)
    if (s === undefined) {
      s = new Set()
      this.seen.set(epoch, s)
    }
    const k = Buffer.from(enc).toString('base64')
    if (s.has(k) || s.size >= this.max) return false
    s.add(k)
    return true
  }

  /** Keep only the epochs still in `live` (their keys were dropped). */
  retain (live: bigint[]): bigint[] {
    const gone: bigint[] = []
    for (const e of this.seen.keys()) {
      if (!live.includes(e)) {
        this.seen.delete(e)
        gone.push(e)
      }
    }
    return gone
  }

  size (epoch: bigint): number {
    return this.seen.get(epoch)?.size ?? 0
  }
}

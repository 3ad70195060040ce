/**
 * Per-peer insert quota: blocks and bytes one peer may make this node store per time window
 * (issue 11, finding 4). A fixed window per peer from libp2p's RateLimiter (@libp2p/utils, the
 * limiter of its inbound connection rate): entries expire with their window, so the state is
 * bounded by the peers active in one window. Over quota is a ProtocolViolation(OVERLOADED),
 * answered to the peer like any other refusal; the routing core never sees the insert.
 */
import { RateLimiter } from '@libp2p/utils'
import { ProtocolViolation, WireError } from './messages.js'
import type { Block } from '../../proto/warren.js'

export interface InsertQuotaInit {
  /** Inserts (blocks) per peer per window. */
  blocks: number
  /** Bytes of block data per peer per window. */
  bytes: number
  windowMs: number
}

export class InsertQuota {
  private readonly blocks: RateLimiter
  private readonly bytes: RateLimiter

  constructor (readonly init: InsertQuotaInit) {
    const duration = init.windowMs / 1000
    this.blocks = new RateLimiter({ points: init.blocks, duration, keyPrefix: '' })
    this.bytes = new RateLimiter({ points: init.bytes, duration, keyPrefix: '' })
  }

  /** Charge one insert to `peer`; throws ProtocolViolation(OVERLOADED) past the quota. */
  admit (peer: string): void {
    this.consume(this.blocks, peer, 1)
  }

  /** Charge `n` bytes of block data to `peer`; throws ProtocolViolation(OVERLOADED) past the quota. */
  charge (peer: string, n: number): void {
    this.consume(this.bytes, peer, n)
  }

  /** Charge a block's stored bytes (its fields; the framing is not charged) to `peer`. */
  chargeBlock (peer: string, b: Block): void {
    this.charge(peer, b.data.length + b.pubkey.length + b.signature.length + b.headers.length)
  }

  private consume (limiter: RateLimiter, peer: string, n: number): void {
    try {
      limiter.consume(peer, n)
    } catch (err: any) {
      const wait = Math.max(1, Math.ceil((err.msBeforeNext ?? this.init.windowMs) / 1000))
      throw new ProtocolViolation(WireError.Code.OVERLOADED,
        `insert quota exceeded: at most ${this.init.blocks} blocks and ${Math.round(this.init.bytes / 1024)} KiB per peer every ${this.init.windowMs / 1000} s; try again in ${wait} s`)
    }
  }
}

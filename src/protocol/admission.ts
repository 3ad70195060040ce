/**
 * Who may start an operation at this node (issue 11's limits), decided before anything
 * asynchronous so that concurrent streams cannot all pass: a node-wide cap on operations in
 * flight, a per-peer and a per-IP (IPv6: per /64) slot, and for inserts the peer's quota of
 * blocks per window. A refusal is an OVERLOADED error for the peer to take elsewhere.
 */
import { ipGroup } from './address-book.js'
import { ProtocolViolation, WireError } from './messages.js'
import type { InsertQuota } from './quota.js'
import type { PeerSlots } from './stream.js'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface AdmissionComponents {
  /** Operations each upstream peer holds here (MAX_OPS_PER_PEER). */
  slots: PeerSlots
  /** Operations the peers at each IP address (IPv6: each /64) hold here together (MAX_OPS_PER_IP). */
  ipSlots: PeerSlots
  /** Inserts (blocks and bytes) each peer may make this node take per window. */
  quota: InsertQuota
}

/** The slots one admitted operation holds, given back by `release`. */
export interface Admitted {
  peer: string
  ip: string
}

export class Admission {
  constructor (private readonly c: AdmissionComponents, private readonly maxOps: number) {}

  /** Reserve the slots of an inbound operation; throws ProtocolViolation(OVERLOADED) when it may not start. */
  admit (kind: 'request' | 'insert', peer: string, remoteAddr: Multiaddr): Admitted {
    if (kind === 'insert') this.c.quota.admit(peer)
    const refuse = (why: string): ProtocolViolation => new ProtocolViolation(WireError.Code.OVERLOADED, why)
    if (this.c.slots.total >= this.maxOps) throw refuse(`this node is busy (${this.maxOps} operations in progress); try another`)
    if (!this.c.slots.acquire(peer)) throw refuse(`too many operations in progress from you (max ${this.c.slots.limit})`)
    const ip = ipGroup(remoteAddr)
    if (!this.c.ipSlots.acquire(ip)) {
      this.c.slots.release(peer)
      throw refuse(`too many operations in progress from your address (max ${this.c.ipSlots.limit})`)
    }
    return { peer, ip }
  }

  release (a: Admitted): void {
    this.c.slots.release(a.peer)
    this.c.ipSlots.release(a.ip)
  }
}

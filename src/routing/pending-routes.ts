/**
 * Routes waiting for their peer to be verified (issue 11, finding 2). A peer reference a node
 * is told about (a join's newcomer, a walk or join reference, an insert's or a reply's data
 * source) is a claim: 300 forged joins naming made-up peers at a tarpit address took a node's
 * routing table from 21 entries / 2 peers to 250 / 250 and its own gets failed. So a reference
 * to a peer the node has not verified (connected to: the handshake proves the peer ID) waits
 * here, apart from the routing table, until the driver has connected to it; routing never
 * uses it and it never displaces a routing entry.
 *
 * Bounded twice: per sender (the peer that told us; one sender cannot crowd out the others)
 * and in total (the oldest reference goes first). A peer is handed to the driver for
 * verification once (`next`); its references wait until the driver reports the outcome.
 */

interface Pending<P> {
  peer: P
  loc: number
  via: P | undefined
}

export class PendingRoutes<P> {
  /** Oldest first; one entry per (peer, location). */
  private readonly entries: Array<Pending<P>> = []
  /** Peers handed to the driver and not yet reported on. */
  private verifying?: Set<P>

  constructor (readonly capacity: number, readonly perSender: number) {
    if (!Number.isInteger(capacity) || capacity < 0 || !Number.isInteger(perSender) || perSender < 0) {
      throw new Error('pending route bounds must be non-negative integers')
    }
  }

  get size (): number {
    return this.entries.length
  }

  /** Hold a route to `peer` for keys near `loc`, told by `via`. */
  add (loc: number, peer: P, via: P | undefined): void {
    const i = this.entries.findIndex((e) => e.peer === peer && e.loc === loc)
    if (i >= 0) this.entries.splice(i, 1)
    this.entries.push({ peer, loc, via })
    let fromVia = 0
    for (const e of this.entries) if (e.via === via) fromVia++
    if (fromVia > this.perSender) this.drop(this.entries.findIndex((e) => e.via === via))
    if (this.entries.length > this.capacity) this.drop(0)
  }

  /**
   * Up to `max` peers to verify now, oldest reference first, each handed out once until
   * `take` or `forget` reports on it.
   */
  next (max: number): P[] {
    const out: P[] = []
    for (const e of this.entries) {
      if (out.length >= max) break
      this.verifying ??= new Set()
      if (!this.verifying.has(e.peer)) {
        this.verifying.add(e.peer)
        out.push(e.peer)
      }
    }
    return out
  }

  /** `peer` was verified: its waiting routes, which leave this list. */
  take (peer: P): Array<{ loc: number, peer: P }> {
    this.verifying?.delete(peer)
    const out: Array<{ loc: number, peer: P }> = []
    for (let i = this.entries.length - 1; i >= 0; i--) {
      if (this.entries[i].peer === peer) out.unshift({ loc: this.entries[i].loc, peer })
    }
    this.remove(peer)
    return out
  }

  /** `peer` could not be verified (or is to be forgotten): drop its routes. */
  forget (peer: P): void {
    this.verifying?.delete(peer)
    this.remove(peer)
  }

  has (peer: P): boolean {
    return this.entries.some((e) => e.peer === peer)
  }

  private remove (peer: P): void {
    for (let i = this.entries.length - 1; i >= 0; i--) if (this.entries[i].peer === peer) this.entries.splice(i, 1)
  }

  private drop (i: number): void {
    const [e] = this.entries.splice(i, 1)
    // A peer whose last reference went is no longer waiting for anything.
    if (!this.has(e.peer)) this.verifying?.delete(e.peer)
  }
}

/**
 * The Freenet routing table: a bounded set of (key location -> peer) entries with
 * least-recently-used replacement. Several entries may point at the same peer (one per key
 * it has served); one key location has at most one entry (a newer source replaces it).
 *
 * Plain TypeScript over typed arrays: the simulator keeps hundreds of thousands of these.
 * All operations are O(capacity) scans, which for the default 250 entries is cheaper than
 * maintaining an index.
 */
import { distance } from '../keys/routing-key.js'

/** Slots a table starts with; it grows them by half as it fills, up to its capacity. */
const INITIAL_SLOTS = 16

/** The bucket counts of every table without spread buckets: empty, never written. */
const NO_BUCKETS = new Uint16Array(0)

export interface RoutingEntry<P> {
  loc: number
  peer: P
  /** Logical time of the last use (insert, success or refresh). */
  lastUsed: number
}

/** Peer references of a table: a plain array, or an Int32Array for integer peers (the simulator's node indices). */
type Peers<P> = Array<P | undefined> | Int32Array

export class RoutingTable<P> {
  readonly capacity: number
  // Memory per table, measured at 10,000 simulated nodes (docs/simulation.md, "A million
  // nodes"): one Float64Array holds each entry's location and stamp side by side (slot i at 2i
  // and 2i + 1), a pinned entry's stamp negated, since every typed array costs ~200 bytes of
  // objects besides its data; the arrays grow by half (not doubling) up to `capacity`, as a table
  // holds 138 of its 250 entries on average there; integer peers live in an Int32Array (4 bytes
  // an entry instead of an 8-byte array slot). 13.8 kB per node before, of which ~4.5 kB tables.
  private slots: Float64Array
  private peers: Peers<P>
  private count = 0
  private tick = 0
  /**
   * Spread-keeping replacement: entries per slice of the circle (`spreadBuckets` equal
   * slices); LRU replacement skips an entry that is alone in its slice. Empty: plain LRU.
   */
  private readonly bucketCounts: Uint16Array

  /** `intPeers`: every peer is an integer in [0, 2^31) (the simulator's node indices), kept in an Int32Array. */
  constructor (capacity: number, spreadBuckets = 0, intPeers = false) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error('routing table capacity must be a positive integer')
    if (!Number.isInteger(spreadBuckets) || spreadBuckets < 0) throw new Error('spread buckets must be a non-negative integer')
    this.capacity = capacity
    this.bucketCounts = spreadBuckets === 0 ? NO_BUCKETS : new Uint16Array(spreadBuckets)
    const initial = Math.min(capacity, INITIAL_SLOTS)
    this.slots = new Float64Array(2 * initial)
    this.peers = intPeers ? new Int32Array(initial) : []
  }

  /** Room for one more entry below capacity: grow the arrays by half when they are full. */
  private makeRoom (): void {
    const n = this.slots.length / 2
    if (this.count < n) return
    const m = Math.min(this.capacity, n + Math.max(1, n >> 1))
    const slots = new Float64Array(2 * m)
    slots.set(this.slots)
    this.slots = slots
    if (this.peers instanceof Int32Array) {
      const peers = new Int32Array(m)
      peers.set(this.peers)
      this.peers = peers
    }
  }

  /**
   * Entry `i`'s location and peer, for 0 <= i < size (in the order of `entries()`). The callers that scan
   * the whole table on every join and announcement (announce.ts) loop over these rather than
   * `entries()`, whose object per entry was 14 % of a 40,000-node growth run's CPU samples
   * and much of its garbage (docs/simulation.md, "A million nodes").
   */
  locAt (i: number): number {
    return this.slots[2 * i]
  }

  private pinned (i: number): boolean {
    return this.slots[2 * i + 1] < 0
  }

  /** Stamp slot `i` with time `t`, pinned or not. */
  private stamp (i: number, t: number, pinned: boolean): void {
    this.slots[2 * i + 1] = pinned ? -t : t
  }

  peerAt (i: number): P {
    return this.peers[i] as P
  }

  private setPeer (i: number, peer: P): void {
    if (this.peers instanceof Int32Array) {
      if (typeof peer !== 'number' || (peer | 0) !== peer || peer < 0) throw new Error(`a table of integer peers got ${String(peer)}`)
      this.peers[i] = peer
    } else {
      this.peers[i] = peer
    }
  }

  /** Move slot `from` to slot `to`. */
  private move (from: number, to: number): void {
    this.slots[2 * to] = this.slots[2 * from]
    this.slots[2 * to + 1] = this.slots[2 * from + 1]
    this.peers[to] = this.peers[from] as P & number
  }

  /** Drop slots from `n` on. */
  private truncate (n: number): void {
    this.count = n
    if (Array.isArray(this.peers)) this.peers.length = n
  }

  get size (): number {
    return this.count
  }

  /**
   * Add or refresh the entry for `loc`. An existing entry for the same location is
   * repointed at `peer`; a full table drops its least recently used unpinned entry (if
   * every entry is pinned, the new one is not added). With spread buckets, an entry alone
   * in its slice of the circle is kept (unless every candidate is alone): the table keeps
   * covering the whole key space instead of forgetting regions it rarely uses. `pinned` protects the entry from
   * LRU replacement until `unpinPeer`: without it, a burst of inserts from one source
   * would evict the seed entries of every other neighbour.
   */
  add (loc: number, peer: P, pinned = false): void {
    const t = ++this.tick
    for (let i = 0; i < this.count; i++) {
      if (this.locAt(i) === loc) {
        // A pin belongs to the peer it was made for: repointing the entry drops it.
        const pin = pinned || (this.pinned(i) && this.peerAt(i) === peer)
        this.setPeer(i, peer)
        this.stamp(i, t, pin)
        return
      }
    }
    let slot = this.count
    if (this.count < this.capacity) {
      this.makeRoom()
      this.count++
    } else {
      slot = -1
      let lone = true
      const b = this.bucketCounts
      for (let i = 0; i < this.count; i++) {
        if (this.pinned(i)) continue
        const alone = b.length > 0 && b[this.bucketOf(this.locAt(i))] <= 1
        if (slot < 0 || (lone && !alone) || (alone === lone && this.slots[2 * i + 1] < this.slots[2 * slot + 1])) {
          slot = i
          lone = alone
        }
      }
      if (slot < 0) return
      if (b.length > 0) b[this.bucketOf(this.locAt(slot))]--
    }
    if (this.bucketCounts.length > 0) this.bucketCounts[this.bucketOf(loc)]++
    this.slots[2 * slot] = loc
    this.setPeer(slot, peer)
    this.stamp(slot, t, pinned)
  }

  /** Make `peer`'s entries ordinary LRU entries again (it disconnected). */
  unpinPeer (peer: P): void {
    for (let i = 0; i < this.count; i++) if (this.peerAt(i) === peer && this.pinned(i)) this.slots[2 * i + 1] = -this.slots[2 * i + 1]
  }

  /**
   * The peer of the entry closest to `target` among peers for which `exclude` is false,
   * or undefined. Ties go to the earlier slot.
   */
  closest (target: number, exclude?: (peer: P) => boolean): P | undefined {
    let best = -1
    let bestD = Infinity
    const slots = this.slots
    for (let i = 0; i < this.count; i++) {
      const d = distance(slots[2 * i], target)
      if (d < bestD && (exclude === undefined || !exclude(this.peers[i] as P))) {
        bestD = d
        best = i
      }
    }
    return best < 0 ? undefined : this.peerAt(best)
  }

  /** Mark every entry pointing at `peer` as just used (optional LRU refresh on forward). */
  touchPeer (peer: P): void {
    const t = ++this.tick
    for (let i = 0; i < this.count; i++) if (this.peerAt(i) === peer) this.stamp(i, t, this.pinned(i))
  }

  has (peer: P): boolean {
    for (let i = 0; i < this.count; i++) if (this.peerAt(i) === peer) return true
    return false
  }

  /** Remove every entry pointing at `peer` (pinned ones too unless `keepPinned`); returns how many. */
  removePeer (peer: P, keepPinned = false): number {
    let removed = 0
    let w = 0
    for (let r = 0; r < this.count; r++) {
      if (this.peerAt(r) === peer && !(keepPinned && this.pinned(r))) {
        removed++
        if (this.bucketCounts.length > 0) this.bucketCounts[this.bucketOf(this.locAt(r))]--
        continue
      }
      if (w !== r) this.move(r, w)
      w++
    }
    this.truncate(w)
    return removed
  }

  /** The peer of an entry drawn uniformly at random among those whose peer `exclude` does not reject; undefined if none. */
  randomPeer (rng: () => number, exclude: (peer: P) => boolean): P | undefined {
    const candidates: number[] = []
    for (let i = 0; i < this.count; i++) if (!exclude(this.peerAt(i))) candidates.push(i)
    return candidates.length === 0 ? undefined : this.peerAt(candidates[Math.floor(rng() * candidates.length)])
  }

  /** Remove the unpinned entry at exactly `loc` if it points at `peer`; returns whether there was one. */
  remove (loc: number, peer: P): boolean {
    for (let i = 0; i < this.count; i++) {
      if (this.locAt(i) !== loc || this.peerAt(i) !== peer || this.pinned(i)) continue
      if (this.bucketCounts.length > 0) this.bucketCounts[this.bucketOf(loc)]--
      const last = this.count - 1
      this.move(last, i)
      this.truncate(last)
      return true
    }
    return false
  }

  /** Distinct peers referenced by the table. */
  peerSet (): Set<P> {
    const s = new Set<P>()
    for (let i = 0; i < this.count; i++) s.add(this.peerAt(i))
    return s
  }

  * entries (): Generator<RoutingEntry<P>> {
    for (let i = 0; i < this.count; i++) {
      yield { loc: this.locAt(i), peer: this.peerAt(i), lastUsed: Math.abs(this.slots[2 * i + 1]) }
    }
  }

  private bucketOf (loc: number): number {
    const n = this.bucketCounts.length
    return Math.min(n - 1, Math.floor(loc * n))
  }

  /** Histogram of entry locations in `buckets` equal slices of the circle: the node's key spread. */
  spread (buckets = 16): number[] {
    const h = new Array<number>(buckets).fill(0)
    for (let i = 0; i < this.count; i++) h[Math.min(buckets - 1, Math.floor(this.locAt(i) * buckets))]++
    return h
  }
}

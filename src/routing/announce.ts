/**
 * Node announcement (Freenet 2001, section 3.5): how a new node gets a routing key that no
 * single participant chose, and gets into other nodes' routing tables under that key.
 *
 * The newcomer sends an announcement with hops-to-live `h` to a node it knows out of band.
 * Each receiving node draws a random seed, appends its commitment SHA-256(seed) to the list
 * it received and forwards the announcement to a node picked at random from its routing
 * table, until the HTL runs out (a random walk of up to `h` hops). Then:
 *
 *   1. commit  (back up the walk)   the complete commitment list returns to the newcomer, so
 *                                   every participant holds every commitment before any seed
 *                                   is revealed;
 *   2. reveal  (down the walk)      each node appends its seed to the seeds revealed so far;
 *   3. result  (back up the walk)   the last node computes key = SHA-256(XOR of all seeds);
 *                                   every node checks each revealed seed against its
 *                                   commitment and the key, adds the newcomer to its routing
 *                                   table under the key and passes the result on.
 *
 * A seed that does not match its commitment (a participant trying to steer the key after
 * seeing the others' seeds) is detected by every node above it, which then refuses the
 * announcement. Since all commitments are fixed before the first reveal, the key is
 * uniformly random as long as one participant is honest.
 *
 * 4. join (optional, `joinHtl`)     once the newcomer has its key it routes a join message
 *                                   greedily toward that location (Freenet 0.7's routed
 *                                   announcement): each node on the route adds the newcomer
 *                                   under the key, and the route's references (each node and
 *                                   its entries nearest the key) come back to the newcomer. The
 *                                   walk gives the newcomer links; the join gives the nodes
 *                                   already living near its location links to it.
 *
 * Like node-core, this is a pure event -> actions state machine: no I/O, no timers. A driver
 * (the simulator in src/sim, the libp2p announce handler) delivers messages and executes
 * the actions. Failures travel away from where they happened: a child that fails during the
 * walk is replaced by another random peer; any failure after the commit phase ends the
 * announcement for every node on the path.
 *
 * This file holds the walk (1-3); the join (4), with the references walk and join pass up, is
 * in announce-join.ts (JoinCore, which AnnounceCore extends); the messages are in
 * announce-messages.ts, the options in announce-options.ts.
 */
import { randomBytes } from 'node:crypto'
import { equals } from 'uint8arrays/equals'
import { RoutingKey, sha256 } from '../keys/routing-key.js'
import { JoinCore } from './announce-join.js'
import { LazyMap } from './lazy-map.js'
import { SeenCache } from './seen-cache.js'
import type { AnnounceAction, AnnounceFailure, AnnounceMessage, WalkRef } from './announce-messages.js'
import type { AnnounceInit } from './announce-options.js'
import type { Rng } from './random.js'
import type { RoutingTable } from './routing-table.js'

export const ANNOUNCE_SEED_BYTES = 32

type Phase = 'walking' | 'committed' | 'revealed'

interface AnnounceOp<P> {
  id: bigint
  node: P
  from: P | null
  htl: number
  /** Position of this node's commitment in the list. */
  index: number
  seed: Uint8Array
  /** Commitments known so far (up to ours while walking; all of them after the commit phase). */
  commitments: Uint8Array[]
  to?: P
  tried: P[]
  phase: Phase
}

/** The commitment to a seed. */
export function commitmentOf (seed: Uint8Array): Uint8Array {
  return sha256(seed)
}

/** The agreed key: SHA-256 of the XOR of all seeds. */
export function announceKey (seeds: Uint8Array[]): RoutingKey {
  const x = new Uint8Array(ANNOUNCE_SEED_BYTES)
  for (const s of seeds) for (let i = 0; i < ANNOUNCE_SEED_BYTES; i++) x[i] ^= s[i]
  return RoutingKey.hash(x)
}

/**
 * Index of the first seed that does not match its commitment (or is malformed), the number
 * of commitments when seeds are missing, or -1 when every seed is honest.
 */
export function verifySeeds (commitments: Uint8Array[], seeds: Uint8Array[]): number {
  const n = Math.min(commitments.length, seeds.length)
  for (let i = 0; i < n; i++) {
    if (seeds[i].length !== ANNOUNCE_SEED_BYTES || !equals(commitmentOf(seeds[i]), commitments[i])) return i
  }
  return seeds.length === commitments.length ? -1 : n
}

/**
 * A peer drawn uniformly from the routing table's entries (a peer with more entries is more
 * likely: the preferential attachment the IEEE article describes), skipping `exclude`.
 */
export function randomPeer<P> (table: RoutingTable<P>, rng: Rng, exclude: (peer: P) => boolean): P | undefined {
  let chosen: P | undefined
  let seen = 0
  for (let i = 0; i < table.size; i++) {
    const peer = table.peerAt(i)
    if (exclude(peer)) continue
    seen++
    if (rng() * seen < 1) chosen = peer
  }
  return chosen
}

export class AnnounceCore<P> extends JoinCore<P> {
  private readonly rng: Rng
  private readonly randomSeed: () => Uint8Array
  private readonly seen: SeenCache
  private readonly ops = new LazyMap<bigint, AnnounceOp<P>>()

  constructor (init: AnnounceInit<P>) {
    super(init)
    this.rng = init.rng
    this.randomSeed = init.randomSeed ?? (() => new Uint8Array(randomBytes(ANNOUNCE_SEED_BYTES)))
    this.seen = new SeenCache(this.options.seenCacheSize, this.options.seenCacheTtlMs)
  }

  /** Announcements in progress here. */
  get activeOps (): number {
    return this.ops.size + this.joins.size
  }

  /** The newcomer announces itself through `bootstrap` with hops-to-live `htl`. */
  start (id: bigint, bootstrap: P, htl: number): Array<AnnounceAction<P>> {
    this.seen.add(id, this.now())
    const seed = this.randomSeed()
    const op: AnnounceOp<P> = {
      id,
      node: this.self,
      from: null,
      htl: Math.min(htl, this.options.maxHtl),
      index: 0,
      seed,
      commitments: [commitmentOf(seed)],
      tried: [bootstrap],
      to: bootstrap,
      phase: 'walking'
    }
    if (op.htl < 1) return [{ type: 'failed', id, to: null, reason: 'invalid' }]
    this.ops.set(id, op)
    return [{ type: 'announce', id, to: bootstrap, htl: op.htl - 1, node: op.node, commitments: op.commitments }]
  }

  /** An announcement arrives from `from`. */
  receive (from: P, msg: AnnounceMessage<P>): Array<AnnounceAction<P>> {
    // Nobody may announce someone else's identity or addresses into routing tables: the sender
    // must be the newcomer, or relay an announcement the newcomer signed. (Issue 11: checked
    // only at one commitment, two made-up commitments completed a walk for an impostor.)
    // Checked before the seen cache, so that a forged announcement cannot burn the newcomer's ID.
    if (msg.node !== from && msg.signed !== true) return [{ type: 'failed', id: msg.id, to: from, reason: 'impostor' }]
    // An ID in progress here is a loop even if it has left the seen cache.
    if (this.ops.has(msg.id) || !this.seen.add(msg.id, this.now())) return [{ type: 'failed', id: msg.id, to: from, reason: 'loop' }]
    const c = msg.commitments
    if (msg.node === this.self || c.length < 1 || c.length > this.options.maxHtl + 1 || c.some((x) => x.length !== 32)) {
      return [{ type: 'failed', id: msg.id, to: from, reason: 'invalid' }]
    }
    const seed = this.randomSeed()
    const op: AnnounceOp<P> = {
      id: msg.id,
      node: msg.node,
      from,
      htl: Math.max(0, Math.min(msg.htl, this.options.maxHtl)),
      index: c.length,
      seed,
      commitments: [...c, commitmentOf(seed)],
      tried: [],
      phase: 'walking'
    }
    this.ops.set(op.id, op)
    return this.walk(op)
  }

  /** The walk ended below `from`: the complete commitment list. */
  commit (id: bigint, from: P, commitments: Uint8Array[]): Array<AnnounceAction<P>> {
    const op = this.ops.get(id)
    if (op === undefined || op.phase !== 'walking' || from !== op.to) return []
    const mine = op.commitments
    const ok = commitments.length > mine.length &&
      commitments.length <= this.options.maxHtl + 2 &&
      mine.every((m, i) => equals(m, commitments[i])) &&
      commitments.every((x) => x.length === 32)
    if (!ok) return this.fail(op, 'invalid')
    op.commitments = commitments
    op.phase = 'committed'
    if (op.from !== null) return [{ type: 'commit', id, to: op.from, commitments }]
    // The newcomer: everyone has committed, start the reveal.
    op.phase = 'revealed'
    return [{ type: 'reveal', id, to: op.to as P, seeds: [op.seed] }]
  }

  /** Seeds revealed above this node arrive from upstream. */
  reveal (id: bigint, from: P, seeds: Uint8Array[]): Array<AnnounceAction<P>> {
    const op = this.ops.get(id)
    if (op === undefined || op.phase !== 'committed' || from !== op.from) return []
    if (seeds.length !== op.index) return this.fail(op, 'invalid')
    const all = [...seeds, op.seed]
    if (op.to === undefined) return this.conclude(op, all)
    op.phase = 'revealed'
    return [{ type: 'reveal', id, to: op.to, seeds: all }]
  }

  /** The result comes back up from `from`, with the walk's references below us (`shareWalk`). */
  result (id: bigint, from: P, key: RoutingKey, seeds: Uint8Array[], refs?: Array<WalkRef<P>>): Array<AnnounceAction<P>> {
    const op = this.ops.get(id)
    if (op === undefined || op.phase !== 'revealed' || from !== op.to) return []
    if (!equals(seeds[op.index] ?? new Uint8Array(0), op.seed)) return this.fail(op, 'invalid')
    return this.conclude(op, seeds, key, refs)
  }

  /** `from` (our child or our parent) failed, timed out or gave up. */
  failed (id: bigint, from: P, reason: AnnounceFailure): Array<AnnounceAction<P>> {
    const op = this.ops.get(id)
    if (op === undefined) return []
    if (from === op.to && op.phase === 'walking') {
      op.to = undefined
      return this.walk(op)
    }
    if (from === op.to || from === op.from) {
      this.ops.delete(id)
      const other = from === op.to ? op.from : op.to
      return other === undefined ? [] : [{ type: 'failed', id, to: other, reason }]
    }
    return []
  }

  /** Is announcement `id` in progress here? */
  has (id: bigint): boolean {
    return this.ops.has(id)
  }

  /**
   * Forget an announcement or join (its stream went away); `only` forgets just one of the two
   * (a driver releasing the newcomer's finished announcement keeps the join it just started).
   */
  abort (id: bigint, only?: 'announce' | 'join'): void {
    if (only !== 'join') this.ops.delete(id)
    if (only !== 'announce') this.joins.delete(id)
  }

  private walk (op: AnnounceOp<P>): Array<AnnounceAction<P>> {
    let next: P | undefined
    if (op.htl > 0 && op.tried.length < this.options.maxTries) {
      const { from, node, tried } = op
      const self = this.self
      next = randomPeer(this.table, this.rng, (p) => p === from || p === node || p === self || tried.includes(p))
    }
    if (next === undefined) {
      if (op.from === null) {
        this.ops.delete(op.id)
        return [{ type: 'failed', id: op.id, to: null, reason: 'unreachable' }]
      }
      // The walk ends here: this node is the last participant.
      op.phase = 'committed'
      return [{ type: 'commit', id: op.id, to: op.from, commitments: op.commitments }]
    }
    op.tried.push(next)
    op.to = next
    return [{ type: 'announce', id: op.id, to: next, htl: op.htl - 1, node: op.node, commitments: op.commitments }]
  }

  /** Verify all seeds (and the key claimed below us); on success record the newcomer and pass the result up. */
  private conclude (op: AnnounceOp<P>, seeds: Uint8Array[], claimed?: RoutingKey, below?: Array<WalkRef<P>>): Array<AnnounceAction<P>> {
    if (verifySeeds(op.commitments, seeds) !== -1) return this.fail(op, 'invalid')
    const key = announceKey(seeds)
    if (claimed !== undefined && !claimed.equals(key)) return this.fail(op, 'invalid')
    this.ops.delete(op.id)
    if (op.from !== null) this.addRoute(key.loc, op.node, op.from)
    const share = this.options.shareWalk
    if (share === 'off') return [{ type: 'result', id: op.id, to: op.from, key, seeds }, ...(op.from === null ? this.startJoin(op.id, key.loc) : [])]
    const checked = this.checkRefs(below ?? [], op.node)
    // Where the references become routes (the newcomer; every walk node with 'all'), the ones
    // that would repoint another peer's entry are dropped, here and for the nodes above.
    const refs = op.from === null || share === 'all' ? this.withoutTaken(checked) : checked
    if (op.from === null || share === 'all') for (const r of refs) this.addRoute(r.loc, r.peer, op.to)
    if (op.from === null) return [{ type: 'result', id: op.id, to: null, key, seeds, refs }, ...this.startJoin(op.id, key.loc)]
    refs.push(...this.ownRefs(key.loc, op.node, op.from))
    return [{ type: 'result', id: op.id, to: op.from, key, seeds, refs }]
  }

  /** Give up on `op`, telling both neighbours on the path. */
  private fail (op: AnnounceOp<P>, reason: AnnounceFailure): Array<AnnounceAction<P>> {
    this.ops.delete(op.id)
    const out: Array<AnnounceAction<P>> = [{ type: 'failed', id: op.id, to: op.from, reason }]
    if (op.to !== undefined) out.push({ type: 'failed', id: op.id, to: op.to, reason })
    return out
  }
}

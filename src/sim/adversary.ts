/**
 * What a passive adversary that runs some nodes of a simulated network can conclude about who
 * originated a request or an insert (docs/anonymity.md).
 *
 * The simulator records everything every node sees (`Trace`): each request and insert as it
 * arrives (previous hop, HTL, key, `source`, simulated time) and each answer (`found` replies
 * with their `source` and `hops`). An adversary is a set of nodes; it sees exactly the trace
 * entries delivered to its nodes, and links entries of one operation by its ID (the ID is
 * end-to-end: every hop forwards it unchanged).
 *
 * **Certainty** is defined from the protocol, never from the simulation's ground truth: an
 * observation is *certain* when the protocol rules make it impossible unless the previous hop
 * originated the operation (or, for a `source`, unless the source is the originator). The rules
 * (`ProtocolFacts`) are derived from the routing options: the HTL values a relay can send come
 * from the real core's `nextHtl` (src/routing/core-peers.ts), the insert-source rules from what
 * `NodeCore.receive` does with a source. The evaluation then checks every certain claim against
 * the ground truth (`certainWrong`): a rule that is not sound shows there, so the measure itself
 * can fail.
 */
import { NodeCore, type NodeCoreOptions } from '../routing/node-core.js'

/** A request, insert or tunnel message as it reached node `at`. */
export interface Arrival {
  id: bigint
  at: number
  from: number
  htl: number
  /** Inserts: the claimed data source; undefined if the message named none. */
  source?: number
  time: number
}

/** A `found` answer as it reached node `at` from `from`. */
export interface FoundSeen {
  id: bigint
  at: number
  from: number
  source: number
  hops: number
}

export type TracedKind = 'request' | 'insert' | 'tunnel'

/** Ground truth of one operation. */
export interface TracedOp {
  id: bigint
  kind: TracedKind
  origin: number
  /** Requests: the node that answered from its store (hops 0), if one did. */
  holder?: number
  /** A request that a trusted peer (`origin`) makes for `requester` through a tunnel. */
  requester?: number
  /** The tunnel that carried it. */
  tunnel?: bigint
}

export interface Trace {
  ops: Map<bigint, TracedOp>
  arrivals: Arrival[]
  found: FoundSeen[]
  /** Nodes that may have sent any message to each node during the trace (routing-table links both ways, and every real sender). */
  mayReach: Array<Set<number>>
  maxHtl: number
}

/** What the protocol allows a relay (a node that did not originate) to send. */
export interface ProtocolFacts {
  /** HTL values a relay can send on: anything else comes from an originator. */
  relayHtl: Set<number>
  /** An insert naming no source: relays always name one (NodeCore.receive). */
  missingSourceCertain: boolean
  /** An insert whose source is its previous hop: impossible for a relay (no reset, originators name themselves). */
  sourceIsPredCertain: boolean
  /** Every insert names its originator as the source (originators name themselves, nobody resets). */
  sourceIsOriginCertain: boolean
}

/**
 * The protocol facts for `options` and an own-operation HTL of `clientHtl`. The HTL a relay
 * can send is computed by the routing core itself: `nextHtl` for every budget a relay can hold
 * (up to the largest HTL any node can send, a fixpoint) under both outcomes of each
 * probabilistic decision.
 */
export function protocolFacts (options: NodeCoreOptions, clientHtl: number): ProtocolFacts {
  const cores = [0, 0.999999].map((r) => new NodeCore<number>({ self: 0, store: { has: () => false }, rng: () => r, now: () => 0, options }))
  const start = Math.min(clientHtl, options.maxHtl)
  const sendable = new Set<number>()
  // A budget never exceeds what arrived (backtracking and retries only lower it).
  for (const c of cores) for (let b = 1; b <= start; b++) sendable.add(c.nextHtl(b, null))
  const relayHtl = new Set<number>()
  for (let top = -1; top !== Math.max(...sendable);) {
    top = Math.max(...sendable)
    for (const c of cores) {
      for (let b = 1; b <= Math.min(top, options.maxHtl); b++) {
        const h = c.nextHtl(b, 1)
        relayHtl.add(h)
        sendable.add(h)
      }
    }
  }
  const noReset = options.sourceResetProb <= 0
  return {
    relayHtl,
    missingSourceCertain: true,
    // With 'other', an originator may name any node, also one that a later hop then forwards from.
    sourceIsPredCertain: noReset && options.insertOriginSource === 'self',
    sourceIsOriginCertain: noReset && options.insertOriginSource === 'self'
  }
}

export type CertainRule = 'htl' | 'source' | 'timing'

/** A claim "node `named` originated operation `id`". */
interface Claim {
  id: bigint
  named: number
}

export interface GuessFigures {
  /** Claims made (distinct operation and node). */
  claims: number
  /** Share of claims that name the originator. */
  precision: number
  /** Share of the operations considered whose originator some claim names. */
  recall: number
}

export interface KindFigures {
  /** Operations considered (originated by honest nodes, or by the target). */
  ops: number
  /** Share of them that some adversary node saw. */
  observed: number
  /** Share of them whose originator the adversary is certain of. */
  certain: number
  /** Certain claims per rule (operations). */
  certainBy: Record<CertainRule, number>
  /** Certain claims that named a node that did not originate (must be 0: else a rule is unsound). */
  certainWrong: number
  /** "The previous hop originated it when HTL is the maximum", per observation. */
  htlMax: GuessFigures
  /** Over all adversary nodes that saw the operation: the previous hop of the highest HTL seen (earliest first). */
  combined: GuessFigures
}

export interface HolderFigures {
  /** Successful requests whose data an honest node other than the requester served from its store. */
  requests: number
  /** Share in which some adversary node saw a `found` answer naming that node as the source. */
  named: number
  /** Share in which that is certain: the holder itself answered an adversary node (hops 0). */
  certain: number
}

export interface TunnelFigures {
  /** Requests made through a trusted peer. */
  requests: number
  /** Share in which the adversary is certain who opened the tunnel (it learns A talks to T, not the key). */
  openerCertain: number
  /** Combined guess of the tunnel's opener: precision and recall. */
  opener: GuessFigures
  /** Share in which the adversary is certain the requester originated the request for the key. */
  requesterCertain: number
  /** Share in which the combined guess on the key's request names the requester. */
  requesterGuessed: number
  /** Share in which the adversary guessed the opener right and saw the trusted peer's request too (timing may link them). */
  linkable: number
}

export interface AdversaryFigures {
  request: KindFigures
  insert: KindFigures
  holder: HolderFigures
  tunnel: TunnelFigures
}

/**
 * Evaluate adversary `bad` on `trace`. With `target`, only what concerns the target counts:
 * its own operations are the positives, and only claims naming it are made (the surrounding
 * placement); otherwise every operation an honest node originated.
 */
export function evaluate (trace: Trace, facts: ProtocolFacts, bad: Uint8Array, target?: number): AdversaryFigures {
  const byOp = new Map<bigint, Arrival[]>()
  for (const a of trace.arrivals) {
    if (bad[a.at] !== 1) continue
    let l = byOp.get(a.id)
    if (l === undefined) byOp.set(a.id, (l = []))
    l.push(a)
  }
  // When an adversary node sent each operation to each honest node: arrivals at honest nodes from adversary nodes.
  const sentTo = new Map<bigint, Map<number, number>>()
  for (const a of trace.arrivals) {
    if (bad[a.from] !== 1 || bad[a.at] === 1) continue
    let m = sentTo.get(a.id)
    if (m === undefined) sentTo.set(a.id, (m = new Map()))
    if (!m.has(a.at)) m.set(a.at, a.time)
  }
  const enclosed = (p: number): boolean => {
    for (const q of trace.mayReach[p]) if (bad[q] !== 1) return false
    return true
  }
  const enclosedCache = new Map<number, boolean>()
  const isEnclosed = (p: number): boolean => {
    let e = enclosedCache.get(p)
    if (e === undefined) enclosedCache.set(p, (e = enclosed(p)))
    return e
  }
  const honest = (n: number): boolean => bad[n] !== 1 && (target === undefined || n === target)

  /** Certain claims from one operation's arrivals. */
  const certainClaims = (op: TracedOp, seen: Arrival[]): Map<number, CertainRule> => {
    const out = new Map<number, CertainRule>()
    for (const a of seen) {
      if (bad[a.from] !== 1 && !facts.relayHtl.has(a.htl)) out.set(a.from, 'htl')
      if (op.kind === 'insert') {
        if (a.source === undefined && facts.missingSourceCertain && bad[a.from] !== 1) out.set(a.from, 'source')
        else if (a.source === a.from && facts.sourceIsPredCertain && bad[a.from] !== 1) out.set(a.from, 'source')
        else if (a.source !== undefined && facts.sourceIsOriginCertain && honest(a.source)) out.set(a.source, 'source')
      }
      // Timing: every node that could have sent this operation to the previous hop is the
      // adversary's, and none of them had sent it there before the previous hop sent it on.
      if (bad[a.from] !== 1 && !out.has(a.from) && isEnclosed(a.from)) {
        const first = sentTo.get(a.id)?.get(a.from)
        if (first === undefined || first >= a.time) out.set(a.from, 'timing')
      }
    }
    for (const n of out.keys()) if (!honest(n)) out.delete(n)
    return out
  }

  /** The combined guess: previous hop of the highest HTL seen, earliest first. */
  const combinedGuess = (seen: Arrival[]): number | undefined => {
    let best: Arrival | undefined
    for (const a of seen) {
      if (bad[a.from] === 1) continue
      if (best === undefined || a.htl > best.htl || (a.htl === best.htl && a.time < best.time)) best = a
    }
    return best !== undefined && honest(best.from) ? best.from : undefined
  }

  const kindFigures = (kind: TracedKind): KindFigures => {
    let ops = 0; let observed = 0; let certain = 0; let certainWrong = 0
    const certainBy: Record<CertainRule, number> = { htl: 0, source: 0, timing: 0 }
    const htlMax = new Tally(); const combined = new Tally()
    for (const op of trace.ops.values()) {
      // A trusted peer's request for someone else counts among the tunnel figures.
      if (op.kind !== kind || op.requester !== undefined) continue
      const seen = byOp.get(op.id) ?? []
      const positive = target === undefined ? bad[op.origin] !== 1 : op.origin === target
      if (positive) {
        ops++
        if (seen.length > 0) observed++
      }
      if (seen.length === 0) continue
      const cc = certainClaims(op, seen)
      let right = false
      for (const [n, rule] of cc) {
        if (n === op.origin) {
          right = true
          certainBy[rule]++
        } else certainWrong++
      }
      if (right && positive) certain++
      const maxClaims = new Set<number>()
      for (const a of seen) if (a.htl >= trace.maxHtl && honest(a.from)) maxClaims.add(a.from)
      htlMax.add(op, positive, [...maxClaims].map((named) => ({ id: op.id, named })))
      const g = combinedGuess(seen)
      combined.add(op, positive, g === undefined ? [] : [{ id: op.id, named: g }])
    }
    return { ops, observed: ratio(observed, ops), certain: ratio(certain, ops), certainBy, certainWrong, htlMax: htlMax.figures(ops), combined: combined.figures(ops) }
  }

  return { request: kindFigures('request'), insert: kindFigures('insert'), holder: holderFigures(trace, bad, honest), tunnel: tunnelFigures(trace, byOp, certainClaims, combinedGuess, bad, target) }
}

class Tally {
  claims = 0
  right = 0
  recalled = 0

  add (op: TracedOp, positive: boolean, claims: Claim[]): void {
    let hit = false
    for (const c of claims) {
      this.claims++
      if (c.named === op.origin) {
        this.right++
        hit = true
      }
    }
    if (hit && positive) this.recalled++
  }

  figures (ops: number): GuessFigures {
    return { claims: this.claims, precision: ratio(this.right, this.claims), recall: ratio(this.recalled, ops) }
  }
}

function holderFigures (trace: Trace, bad: Uint8Array, honest: (n: number) => boolean): HolderFigures {
  const named = new Set<bigint>(); const certain = new Set<bigint>()
  for (const f of trace.found) {
    if (bad[f.at] !== 1) continue
    const op = trace.ops.get(f.id)
    if (op?.holder === undefined) continue
    if (f.source === op.holder) named.add(f.id)
    if (f.hops === 0 && f.from === op.holder) certain.add(f.id)
  }
  let requests = 0; let n = 0; let c = 0
  for (const op of trace.ops.values()) {
    if (op.kind !== 'request' || op.holder === undefined || op.holder === op.origin || !honest(op.holder) || bad[op.origin] === 1) continue
    requests++
    if (named.has(op.id)) n++
    if (certain.has(op.id)) c++
  }
  return { requests, named: ratio(n, requests), certain: ratio(c, requests) }
}

function tunnelFigures (
  trace: Trace, byOp: Map<bigint, Arrival[]>,
  certainClaims: (op: TracedOp, seen: Arrival[]) => Map<number, CertainRule>,
  combinedGuess: (seen: Arrival[]) => number | undefined,
  bad: Uint8Array, target?: number
): TunnelFigures {
  let requests = 0; let openerCertain = 0; let requesterCertain = 0; let requesterGuessed = 0; let linkable = 0
  const opener = new Tally()
  for (const op of trace.ops.values()) {
    if (op.kind !== 'request' || op.requester === undefined || op.tunnel === undefined) continue
    const leg = trace.ops.get(op.tunnel)
    if (leg === undefined || bad[op.requester] === 1) continue
    const positive = target === undefined || op.requester === target
    if (positive) requests++
    const legSeen = byOp.get(leg.id) ?? []
    const g = combinedGuess(legSeen)
    opener.add(leg, positive, g === undefined ? [] : [{ id: leg.id, named: g }])
    if (!positive) continue
    if (certainClaims(leg, legSeen).has(op.requester)) openerCertain++
    const seen = byOp.get(op.id) ?? []
    if (certainClaims(op, seen).has(op.requester)) requesterCertain++
    if (combinedGuess(seen) === op.requester) requesterGuessed++
    if (g === op.requester && seen.length > 0) linkable++
  }
  return {
    requests,
    openerCertain: ratio(openerCertain, requests),
    opener: opener.figures(requests),
    requesterCertain: ratio(requesterCertain, requests),
    requesterGuessed: ratio(requesterGuessed, requests),
    linkable: ratio(linkable, requests)
  }
}

function ratio (a: number, b: number): number {
  return b === 0 ? NaN : a / b
}

/**
 * The predecessor attack (Wright et al.) on one user's linkable stream of operations (e.g. the
 * blocks of one file): over every operation `target` originated, the adversary tallies the
 * previous hop of the highest HTL it saw (its combined guess) and names the most frequent one.
 * True: it named the target; false: another node (or a tie); undefined: it saw none of them.
 */
export function predecessorAttack (trace: Trace, bad: Uint8Array, target: number): boolean | undefined {
  const best = new Map<bigint, Arrival>()
  for (const a of trace.arrivals) {
    if (bad[a.at] !== 1 || bad[a.from] === 1 || trace.ops.get(a.id)?.origin !== target || trace.ops.get(a.id)?.requester !== undefined) continue
    const b = best.get(a.id)
    if (b === undefined || a.htl > b.htl || (a.htl === b.htl && a.time < b.time)) best.set(a.id, a)
  }
  if (best.size === 0) return undefined
  const tally = new Map<number, number>()
  for (const a of best.values()) tally.set(a.from, (tally.get(a.from) ?? 0) + 1)
  const sorted = [...tally.entries()].sort((x, y) => y[1] - x[1])
  return sorted[0][0] === target && (sorted.length === 1 || sorted[1][1] < sorted[0][1])
}

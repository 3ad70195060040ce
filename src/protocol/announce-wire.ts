/**
 * What the announcement and join drivers (announce.ts, join.ts) share: the core and plumbing
 * they are built from, admission of an inbound walk or join, one exchange on a hop, the
 * refusal frames, and the translation of walk references to and from the wire.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { HOP_TIMEOUT_MS } from '../constants.js'
import { MAX_PADDED_FRAME_BYTES } from './padding.js'
import { errorFrame, fitPeerRef, FrameType, ProtocolViolation, WireError } from './messages.js'
import { abortHops, answerViolation, deadlineSignal, exchange, hopFailure, openLink, readFirst, send } from './stream.js'
import type { AddressBook } from './address-book.js'
import type { Frame } from './messages.js'
import type { HopLinks, Link, PeerSlots, WireErrorHook } from './stream.js'
import type { WalkRef as WireWalkRef } from '../../proto/warren.js'
import type { AnnounceCore } from '../routing/announce.js'
import type { AnnounceAction, AnnounceFailure, WalkRef } from '../routing/announce-messages.js'
import type { Rng } from '../routing/random.js'
import type { Logger } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

export interface AnnounceComponents {
  core: AnnounceCore<string>
  addressBook: AddressBook
  connectionManager: ConnectionManager
  /** Announcements and joins each upstream peer has in progress here, together (MAX_ANNOUNCES_PER_PEER). */
  slots: PeerSlots
  /** IDs of the node's own announcements and joins. */
  rng: Rng
  log: Logger
  /** Told of every ERROR frame on announcement and join streams. */
  onWireError?: WireErrorHook
}

/** A walk or join in progress here, as a driver keeps it. */
/**
 * What both AnnounceCore drivers (walks, joins) share: their components and the table of hops in
 * progress here, all ended when the node stops.
 */
export abstract class HopTable<C extends AnnounceComponents, T extends HopLinks> {
  protected readonly hops = new Map<bigint, T>()

  constructor (protected readonly c: C) {}

  /** Operations in progress here. */
  get active (): number {
    return this.hops.size
  }

  stop (): void {
    for (const [id, h] of this.hops) {
      this.settleOnStop(h)
      this.c.core.abort(id)
    }
    abortHops(this.hops.values(), new Error('node stopping'))
    this.hops.clear()
  }

  /** Settle the local caller of a hop (if it is this node's own) as the node stops. */
  protected abstract settleOnStop (hop: T): void
}

export interface AnnounceHop extends HopLinks {
  deadline: number
}

const FAILURE_CODE: Record<AnnounceFailure, WireError.Code> = {
  loop: WireError.Code.UNEXPECTED,
  unreachable: WireError.Code.INTERNAL,
  invalid: WireError.Code.INVALID_KEY,
  timeout: WireError.Code.TIMEOUT,
  error: WireError.Code.INTERNAL,
  impostor: WireError.Code.MALFORMED,
  taken: WireError.Code.INVALID_KEY
}

/** Refusals that say more than their reason. */
const REFUSAL_TEXT: Partial<Record<AnnounceFailure, string>> = {
  impostor: 'an announcement must come from the node it announces, or carry its signature',
  taken: 'join location is held here by another peer'
}

/** How a node refusing an announcement or a join says so. */
export function refusal (reason: AnnounceFailure, what: string): Frame {
  if (reason === 'loop') return { type: FrameType.REJECTED_LOOP }
  return errorFrame(FAILURE_CODE[reason], REFUSAL_TEXT[reason] ?? `${what} refused: ${reason}`)
}

/** The ERROR frame telling a neighbour on the walk that the announcement failed here. */
export function failureFrame (reason: AnnounceFailure): Frame {
  return errorFrame(FAILURE_CODE[reason], `announcement failed: ${reason}`)
}

const SIGNING_PREFIX = new TextEncoder().encode('warren/announce/1')

/** What a newcomer signs for its announcement `id` (proto/warren.proto, Announce.signature). */
export function announceSigningBytes (id: bigint, first: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(SIGNING_PREFIX.length + 8 + first.length)
  out.set(SIGNING_PREFIX)
  new DataView(out.buffer).setBigUint64(SIGNING_PREFIX.length, BigInt.asUintN(64, id))
  out.set(first, SIGNING_PREFIX.length + 8)
  return out
}

/**
 * Did newcomer `node` sign announcement `id` whose first commitment is `first`? False when
 * anything is missing or the peer ID does not carry its public key (it must, to announce
 * through a relay: Ed25519 and secp256k1 IDs do).
 */
export async function signedByNewcomer (node: string, id: bigint, first: Uint8Array | undefined, signature: Uint8Array | undefined): Promise<boolean> {
  if (first === undefined || signature === undefined) return false
  try {
    const key = peerIdFromString(node).publicKey
    return key !== undefined && await key.verify(announceSigningBytes(id, first), signature)
  } catch {
    return false
  }
}

/** protons types bytes fields as ArrayBuffer-backed; the core's seeds and commitments are. */
export function wire (list: Uint8Array[]): Array<Uint8Array<ArrayBuffer>> {
  return list as Array<Uint8Array<ArrayBuffer>>
}

/** Send `frame` and close: an announcement's or join's last word on a stream. */
export async function sendClose (l: Link, frame: Frame): Promise<void> {
  await send(l, frame, true, HOP_TIMEOUT_MS, HOP_TIMEOUT_MS)
}

/**
 * The first frame of an inbound walk or join stream, of type `type` and well formed, with its
 * node's addresses learnt (filtered); undefined once the stream has been answered with an ERROR.
 */
export async function readAnnouncement (l: Link, type: FrameType.ANNOUNCE | FrameType.ANNOUNCE_JOIN, book: AddressBook): Promise<{ frame: Frame, node: string } | undefined> {
  const frame = await readFirst(l, [type], HOP_TIMEOUT_MS * 2, HOP_TIMEOUT_MS, HOP_TIMEOUT_MS)
  if (frame === undefined) return undefined
  try {
    const ref = frame.announce?.node ?? frame.announceJoin?.node
    if (ref === undefined) throw new ProtocolViolation(WireError.Code.MALFORMED, 'announcement without its node')
    return { frame, node: book.learn(ref) }
  } catch (err) {
    await answerViolation(l, err, HOP_TIMEOUT_MS, HOP_TIMEOUT_MS)
    return undefined
  }
}

/**
 * Admission of an inbound announcement or join: the per-peer limit, then the core's answer to
 * `enter()`. A refusal is answered and the stream closed (undefined); otherwise the peer holds
 * one more slot until the state is released.
 */
export async function admit (c: AnnounceComponents, l: Link, what: 'announcement' | 'join',
  enter: () => Array<AnnounceAction<string>>): Promise<Array<AnnounceAction<string>> | undefined> {
  if (!c.slots.acquire(l.peer)) {
    await sendClose(l, errorFrame(WireError.Code.OVERLOADED, `too many ${what}s in progress from you`))
    return undefined
  }
  const actions = enter()
  const f = actions[0]
  if (actions.length === 1 && (f.type === 'failed' || f.type === 'join-failed')) {
    c.slots.release(l.peer)
    await sendClose(l, refusal(f.reason, what))
    return undefined
  }
  return actions
}

/**
 * Write `frame` on `l` and read the answer by `deadline`: `onAnswer` for one of `expect` (it
 * may throw a ProtocolViolation), `onFail` for a refusal, an error or the deadline passing.
 */
export async function step (l: Link, frame: Frame, expect: FrameType[], deadline: number,
  onAnswer: (f: Frame) => Array<AnnounceAction<string>>, onFail: (reason: AnnounceFailure) => Array<AnnounceAction<string>>): Promise<Array<AnnounceAction<string>>> {
  let signal: AbortSignal | undefined
  try {
    signal = deadlineSignal(deadline)
    const answer = await exchange(l, frame, [...expect, FrameType.REJECTED_LOOP, FrameType.ERROR], signal)
    if (answer.type === FrameType.REJECTED_LOOP || answer.type === FrameType.ERROR) {
      // The other side's last word: nothing more goes on this stream.
      l.abort(new Error(`${answer.type} from ${l.peer}`))
      return onFail(answer.type === FrameType.ERROR ? 'error' : 'loop')
    }
    return onAnswer(answer)
  } catch (err: any) {
    // A wrong or malformed answer is answered with an ERROR saying so (a peer that breaks the
    // protocol learns why); a missed deadline or a stream gone just ends the stream.
    const reason = hopFailure(err, signal)
    if (reason === 'timeout') l.abort(err)
    else await answerViolation(l, err, HOP_TIMEOUT_MS, HOP_TIMEOUT_MS)
    return onFail(reason)
  }
}

/** A stream to `to` for `protocol`, or undefined if it cannot be reached by `deadline`. */
export async function openHop (c: AnnounceComponents, to: string, protocol: string, deadline: number): Promise<Link | undefined> {
  try {
    return await openLink(c.connectionManager, async (p) => { await c.addressBook.prepareDial(p) }, to, protocol, deadlineSignal(deadline), c.onWireError)
  } catch {
    return undefined
  }
}

/** Frame bytes kept for the key, the seeds and the framing when the references' addresses are fitted in. */
const RESULT_RESERVE_BYTES = 4096

/** The references for a result or joined frame, each with the addresses we know for it, fitted into one frame. */
export async function writeRefs (book: AddressBook, refs: Array<WalkRef<string>>): Promise<WireWalkRef[]> {
  const budget = Math.floor((MAX_PADDED_FRAME_BYTES - RESULT_RESERVE_BYTES) / Math.max(1, refs.length))
  return await Promise.all(refs.map(async (r) => ({ peer: fitPeerRef(await book.ref(r.peer), budget), loc: r.loc })))
}

/**
 * The references of a result or joined frame from `from`: hostile input, translated for the
 * core. Only those the core would keep at all (`boundRefs`: how many, which ones) are parsed,
 * so a flood of references cannot fill the address book; a malformed one is dropped here, the
 * rest (locations, repointing) is the core's to judge.
 */
export function readRefs (c: AnnounceComponents, id: bigint, from: string, refs: WireWalkRef[]): Array<WalkRef<string>> {
  const out: Array<WalkRef<string>> = []
  for (const r of c.core.boundRefs(refs)) {
    if (r.peer === undefined || !Number.isFinite(r.loc) || r.loc < 0 || r.loc >= 1) continue
    try {
      out.push({ peer: c.addressBook.learn(r.peer), loc: r.loc })
    } catch {}
  }
  if (out.length < refs.length) c.log('announce %s: %d of %d references from %s are well formed and within the bound', id, out.length, refs.length, from)
  return out
}

/** Forget walk or join `id` here: driver state, core state, and its upstream's slot. */
export function releaseHop (c: AnnounceComponents, states: Map<bigint, AnnounceHop>, id: bigint, kind: 'announce' | 'join'): void {
  const s = states.get(id)
  if (s === undefined) return
  states.delete(id)
  // Only the one: the newcomer's join starts as its announcement ends.
  c.core.abort(id, kind)
  if (s.upstream !== undefined) c.slots.release(s.upstream.peer)
}

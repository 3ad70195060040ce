/**
 * Frame construction and validation for the warren wire protocol (proto/warren.proto).
 * Everything read from the network passes through `expectFrame`, which checks that the
 * frame type is one the protocol state allows and that exactly the matching field is set
 * with sane values; anything else is a `ProtocolViolation` carrying the error code to reply with.
 */
import { Error as WireError, Frame, FrameType } from '../../proto/warren.js'
import type { Block, PeerRef } from '../../proto/warren.js'
import { MAX_FRAME_BYTES } from '../constants.js'
import { ROUTING_KEY_BYTES } from '../keys/routing-key.js'

/** At most this many multiaddrs are accepted in a peer reference. */
export const MAX_PEER_ADDRS = 8
const MAX_ADDR_BYTES = 256
const MAX_PEER_ID_BYTES = 64
const MAX_HTL_ON_WIRE = 255

export class ProtocolViolation extends Error {
  constructor (readonly code: WireError.Code, message: string) {
    super(message)
    this.name = 'ProtocolViolation'
  }
}

/** The field of `Frame` that must be set for each frame type. */
const FIELD: Partial<Record<FrameType, keyof Frame>> = {
  [FrameType.REQUEST]: 'request',
  [FrameType.INSERT]: 'insert',
  [FrameType.DATA_FOUND]: 'dataFound',
  [FrameType.DATA_NOT_FOUND]: 'dataNotFound',
  [FrameType.ROUTE_NOT_FOUND]: 'routeNotFound',
  [FrameType.ERROR]: 'error',
  [FrameType.ALL_CLEAR]: 'allClear',
  [FrameType.COLLISION]: 'collision',
  [FrameType.INSERT_DATA]: 'insertData',
  [FrameType.INSERT_STORED]: 'insertStored',
  [FrameType.ANNOUNCE]: 'announce',
  [FrameType.ANNOUNCE_COMMIT]: 'announceCommit',
  [FrameType.ANNOUNCE_REVEAL]: 'announceReveal',
  [FrameType.ANNOUNCE_RESULT]: 'announceResult',
  [FrameType.ANNOUNCE_JOIN]: 'announceJoin',
  [FrameType.ANNOUNCE_JOINED]: 'announceJoined'
}

const ALL_FIELDS = Object.values(FIELD)

/**
 * Check that `frame` is one of `allowed` and well formed. Returns the frame narrowed to
 * its type; throws ProtocolViolation (UNEXPECTED or MALFORMED) otherwise.
 */
export function expectFrame (frame: Frame, allowed: FrameType[]): Frame {
  if (!allowed.includes(frame.type)) {
    throw new ProtocolViolation(WireError.Code.UNEXPECTED, `unexpected ${frame.type} frame here (expected ${allowed.join(' or ')})`)
  }
  const field = FIELD[frame.type]
  if (field !== undefined && frame[field] === undefined) {
    throw new ProtocolViolation(WireError.Code.MALFORMED, `${frame.type} frame without its ${field} field`)
  }
  for (const f of ALL_FIELDS) {
    if (f !== field && frame[f] !== undefined) {
      throw new ProtocolViolation(WireError.Code.MALFORMED, `${frame.type} frame carries a stray ${f} field`)
    }
  }
  const m = frame.request ?? frame.insert
  if (m !== undefined) {
    if (m.key.length !== ROUTING_KEY_BYTES) throw new ProtocolViolation(WireError.Code.INVALID_KEY, `routing key must be ${ROUTING_KEY_BYTES} bytes, got ${m.key.length}`)
    if (m.htl > MAX_HTL_ON_WIRE) throw new ProtocolViolation(WireError.Code.MALFORMED, `htl ${m.htl} is above ${MAX_HTL_ON_WIRE}`)
  }
  const join = frame.announceJoin
  if (join !== undefined) {
    if (join.node === undefined) throw new ProtocolViolation(WireError.Code.MALFORMED, 'join without its node')
    if (join.htl > MAX_HTL_ON_WIRE) throw new ProtocolViolation(WireError.Code.MALFORMED, `htl ${join.htl} is above ${MAX_HTL_ON_WIRE}`)
    if (!(join.loc >= 0 && join.loc < 1)) throw new ProtocolViolation(WireError.Code.MALFORMED, `join location ${join.loc} is not in [0, 1)`)
  }
  const ref = frame.insert?.source ?? frame.dataFound?.source ?? frame.collision?.source ?? join?.node
  if (ref !== undefined) checkPeerRef(ref)
  const block = frame.dataFound?.block ?? frame.collision?.block ?? frame.insertData?.block
  if ((frame.dataFound !== undefined || frame.collision !== undefined || frame.insertData !== undefined) && block === undefined) {
    throw new ProtocolViolation(WireError.Code.MALFORMED, `${frame.type} frame without a block`)
  }
  return frame
}

export function checkPeerRef (ref: PeerRef): void {
  if (ref.peerId.length === 0 || ref.peerId.length > MAX_PEER_ID_BYTES) {
    throw new ProtocolViolation(WireError.Code.MALFORMED, 'peer reference with an invalid peer ID')
  }
  if (ref.multiaddrs.length > MAX_PEER_ADDRS || ref.multiaddrs.some((a) => a.length > MAX_ADDR_BYTES)) {
    throw new ProtocolViolation(WireError.Code.MALFORMED, `peer reference with too many or too long multiaddrs (max ${MAX_PEER_ADDRS})`)
  }
}

/**
 * The ERROR frame answering a stream whose frame could not be read or was refused (`err`
 * from reading or from `expectFrame`); undefined when the stream ended early (nobody to answer).
 */
export function violationFrame (err: unknown): Frame | undefined {
  const e = err as Error & { name?: string }
  let code = WireError.Code.MALFORMED
  // Only our own refusals go to the peer as they are: any other error's text (a decoder's,
  // a library's) stays in the local log (answerViolation), the peer gets the generic words.
  let message = 'malformed frame: it could not be decoded as a warren Frame'
  const detail = e?.message ?? String(err)
  if (err instanceof ProtocolViolation) {
    code = err.code
    message = err.message
  } else if (e?.name === 'InvalidDataLengthError' || e?.name === 'MaxLengthError' || /too long|length/i.test(detail)) {
    code = WireError.Code.TOO_LARGE
    message = `frame too large (max ${MAX_FRAME_BYTES} bytes)`
  } else if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
    code = WireError.Code.TIMEOUT
    message = 'timed out waiting for a frame'
  } else if (e?.name === 'UnexpectedEOFError') {
    return undefined
  }
  return errorFrame(code, message)
}

export function errorFrame (code: WireError.Code, message: string): Frame {
  return { type: FrameType.ERROR, error: { code, message } }
}

/** Encoding overhead of one reference besides its peer ID and addresses (tags, lengths, a double). */
const REF_OVERHEAD_BYTES = 24

/**
 * Encoded bytes a source reference may take in a DATA_FOUND, COLLISION or INSERT frame: so that
 * a 32 KiB block with its source always fits the largest padded frame (padding.ts), whatever
 * addresses a peer reports (8 of 256 bytes would pass checkPeerRef).
 */
export const SOURCE_REF_BYTES = 1024

/**
 * `ref` with only as many of its addresses (in order) as fit in `budget` encoded bytes, so that
 * the frame carrying it fits its padded size.
 */
export function fitPeerRef (ref: PeerRef, budget: number): PeerRef {
  let left = budget - REF_OVERHEAD_BYTES - ref.peerId.length
  const multiaddrs: Array<Uint8Array<ArrayBuffer>> = []
  for (const a of ref.multiaddrs) {
    left -= a.length + 3
    if (left < 0) break
    multiaddrs.push(a)
  }
  return { peerId: ref.peerId, multiaddrs }
}

export function requestFrame (id: bigint, key: Uint8Array, htl: number): Frame {
  return { type: FrameType.REQUEST, request: { id, key: key as Uint8Array<ArrayBuffer>, htl } }
}

/** An INSERT; `source` unset when the originator has no other node to name (NodeCoreOptions.insertOriginSource). */
export function insertFrame (id: bigint, key: Uint8Array, htl: number, source?: PeerRef): Frame {
  return { type: FrameType.INSERT, insert: { id, key: key as Uint8Array<ArrayBuffer>, htl, source: source === undefined ? undefined : fitPeerRef(source, SOURCE_REF_BYTES) } }
}

export function dataFrame (type: FrameType.DATA_FOUND | FrameType.COLLISION, block: Block, source: PeerRef, hops: number): Frame {
  const body = { block, source: fitPeerRef(source, SOURCE_REF_BYTES), hops }
  return type === FrameType.DATA_FOUND ? { type, dataFound: body } : { type, collision: body }
}

export { Frame, FrameType, WireError }

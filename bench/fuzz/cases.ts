/**
 * Structure-aware malformed input for every warren protocol handler (bench/fuzz/fuzz.ts):
 * valid Frame encodings with fields out of range, of the wrong length or missing, stray bodies,
 * frame types the protocol does not allow, valid frames in the wrong order, protobuf fields of
 * the wrong wire type (written by hand: protons would refuse to), truncated and bit-flipped
 * encodings, zero-length and oversized frames, and plain random bytes now and then.
 *
 * A case is one or two frames: the second goes only if the node answered the first with the
 * frame that lets the exchange go on (ALL_CLEAR, ANNOUNCE_COMMIT). Everything is drawn from a
 * seeded Rng, so a campaign is replayable by its seed.
 */
import { createHash } from 'node:crypto'
import { Error as WireError, Frame, FrameType, KeyType } from '../../proto/warren.js'
import { MAX_FRAME_BYTES } from '../../src/constants.js'
import { ChkType, encodeChk } from '../../src/keys/chk.js'
import type { Block, PeerRef } from '../../proto/warren.js'
import type { Rng } from '../../src/routing/random.js'

export type Protocol = 'request' | 'insert' | 'announce' | 'join'
export const PROTOCOLS: Protocol[] = ['request', 'insert', 'announce', 'join']

export interface Case {
  /** Which generator made it (reported with the answers). */
  kind: string
  first: Uint8Array
  /** Sent after an ALL_CLEAR or ANNOUNCE_COMMIT answer to `first`. */
  second?: Uint8Array
}

/** Genuine CHK blocks (encoding one costs ~1 ms, so a campaign reuses a few). */
export interface Material {
  blocks: Array<{ key: Uint8Array, block: Block }>
  /** The fuzzing peer's own reference (a first-hop announcement must name its sender). */
  self: PeerRef
}

export function material (self: PeerRef, rng: Rng, n = 16): Material {
  const blocks = Array.from({ length: n }, () => {
    const c = encodeChk(ChkType.DATA, bytes(rng, 1 + Math.floor(rng() * 2000)))
    return { key: c.routingKey.bytes, block: { type: KeyType.CHK, data: c.block, pubkey: new Uint8Array(), signature: new Uint8Array(), headers: new Uint8Array() } }
  })
  return { blocks, self }
}

// ---- drawing ------------------------------------------------------------------------------

export function int (rng: Rng, n: number): number {
  return Math.floor(rng() * n)
}

export function pick<T> (rng: Rng, list: readonly T[]): T {
  return list[int(rng, list.length)]
}

export function bytes (rng: Rng, n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = int(rng, 256)
  return out
}

export function u64 (rng: Rng): bigint {
  return (BigInt(int(rng, 2 ** 32)) << 32n) | BigInt(int(rng, 2 ** 32))
}

const ODD_LENGTHS = [0, 1, 16, 31, 33, 64, 255, 1024]
export const ODD_U32 = [21, 100, 255, 256, 65_535, 2 ** 31, 2 ** 32 - 1]
export const ODD_IDS = [0n, 1n, 2n ** 63n, 2n ** 64n - 1n]
const ODD_LOCS = [NaN, -0, -1e-300, 1, 1 + 1e-15, Infinity, -Infinity, 1e308, 5e-324, 1 - Number.EPSILON / 2]
const ALL_TYPES = Object.values(FrameType).filter((t) => typeof t === 'string') as FrameType[]

function key (rng: Rng): Uint8Array<ArrayBuffer> {
  return rng() < 0.85 ? bytes(rng, 32) : bytes(rng, pick(rng, ODD_LENGTHS))
}

function htl (rng: Rng): number {
  return rng() < 0.8 ? int(rng, 4) : pick(rng, ODD_U32)
}

function id (rng: Rng): bigint {
  return rng() < 0.95 ? u64(rng) : pick(rng, ODD_IDS)
}

/** A valid multiaddr of the fuzzing kind: public, private, loopback, not TCP, or with junk after /tcp. */
function addr (rng: Rng): Uint8Array<ArrayBuffer> {
  const ip = [int(rng, 256), int(rng, 256), int(rng, 256), int(rng, 256)]
  switch (int(rng, 6)) {
    case 0: return Uint8Array.from([0x04, ...ip, 0x06, int(rng, 256), int(rng, 256)]) // /ip4/x/tcp/p
    case 1: return Uint8Array.from([0x04, 127, 0, 0, 1, 0x06, 0x1c, 0xe8]) // loopback
    case 2: return Uint8Array.from([0x04, 10, ...ip.slice(1), 0x06, 0x1c, 0xe8]) // private
    case 3: return Uint8Array.from([0x04, ...ip, 0x91, 0x02, int(rng, 256), int(rng, 256)]) // /udp
    case 4: return bytes(rng, int(rng, 40)) // garbage
    default: return bytes(rng, 257 + int(rng, 100)) // too long
  }
}

function peerRef (m: Material, rng: Rng, valid: boolean): PeerRef {
  if (valid || rng() < 0.3) return { peerId: m.self.peerId, multiaddrs: rng() < 0.5 ? [] : [addr(rng)] }
  switch (int(rng, 5)) {
    case 0: return { peerId: new Uint8Array(0), multiaddrs: [] }
    case 1: return { peerId: bytes(rng, pick(rng, [2, 34, 38, 65, 200])), multiaddrs: [] }
    case 2: return { peerId: Uint8Array.from([0x00, 0x24, 0x08, 0x01, 0x12, 0x20, ...bytes(rng, 32)]), multiaddrs: Array.from({ length: int(rng, 12) }, () => addr(rng)) }
    case 3: return { peerId: m.self.peerId, multiaddrs: Array.from({ length: 9 + int(rng, 20) }, () => addr(rng)) }
    default: return { peerId: Uint8Array.from([0x12, 0x20, ...bytes(rng, 32)]), multiaddrs: [addr(rng)] } // sha2-256 multihash: not a key
  }
}

function block (m: Material, rng: Rng, forKey?: Uint8Array): Block {
  const genuine = m.blocks.find((b) => b.key === forKey)?.block ?? pick(rng, m.blocks).block
  switch (int(rng, 6)) {
    case 0: return genuine
    case 1: return { ...genuine, data: bytes(rng, pick(rng, [0, 1, 32 * 1024 - 1, 32 * 1024])) }
    case 2: return { ...genuine, type: KeyType.SSK, pubkey: bytes(rng, pick(rng, [0, 32, 33])), signature: bytes(rng, pick(rng, [0, 64])), headers: bytes(rng, int(rng, 200)) }
    case 3: return { ...genuine, type: genuine.type === KeyType.CHK ? KeyType.SSK : KeyType.CHK }
    case 4: return pick(rng, m.blocks).block // genuine, but maybe for another key
    default: return { type: KeyType.CHK, data: bytes(rng, int(rng, 4000)), pubkey: new Uint8Array(), signature: new Uint8Array(), headers: new Uint8Array() }
  }
}

/** A valid REQUEST for a random key or one of the material's blocks. */
export function requestFrame (m: Material, rng: Rng): Frame {
  const k = rng() < 0.3 ? pick(rng, m.blocks).key : bytes(rng, 32)
  return { type: FrameType.REQUEST, request: { id: u64(rng), key: k as Uint8Array<ArrayBuffer>, htl: int(rng, 3) } }
}

// ---- frames -------------------------------------------------------------------------------

function enc (f: Frame): Uint8Array {
  return Frame.encode(f)
}

/** A frame of any type with a plausible body (the wrong type for most protocol states). */
function anyFrame (m: Material, rng: Rng): Frame {
  const t = pick(rng, ALL_TYPES)
  const ref = peerRef(m, rng, true)
  const b = pick(rng, m.blocks)
  switch (t) {
    case FrameType.REQUEST: return { type: t, request: { id: id(rng), key: key(rng), htl: htl(rng) } }
    case FrameType.INSERT: return { type: t, insert: { id: id(rng), key: key(rng), htl: htl(rng), source: ref } }
    case FrameType.DATA_FOUND: return { type: t, dataFound: { block: b.block, source: ref, hops: int(rng, 30) } }
    case FrameType.COLLISION: return { type: t, collision: { block: b.block, source: ref, hops: int(rng, 30) } }
    case FrameType.DATA_NOT_FOUND: return { type: t, dataNotFound: { hops: int(rng, 30) } }
    case FrameType.ROUTE_NOT_FOUND: return { type: t, routeNotFound: { remainingHtl: htl(rng), hops: int(rng, 30) } }
    case FrameType.ERROR: return { type: t, error: { code: WireError.Code.INTERNAL, message: 'x'.repeat(int(rng, 100)) } }
    case FrameType.ALL_CLEAR: return { type: t, allClear: { depth: int(rng, 9), remainingHtl: htl(rng), hops: int(rng, 9) } }
    case FrameType.INSERT_DATA: return { type: t, insertData: { block: b.block } }
    case FrameType.INSERT_STORED: return { type: t, insertStored: { stored: int(rng, 9) } }
    case FrameType.ANNOUNCE: return { type: t, announce: { id: id(rng), htl: htl(rng), node: ref, commitments: [bytes(rng, 32)] } }
    case FrameType.ANNOUNCE_COMMIT: return { type: t, announceCommit: { commitments: [bytes(rng, 32)] } }
    case FrameType.ANNOUNCE_REVEAL: return { type: t, announceReveal: { seeds: [bytes(rng, 32)] } }
    case FrameType.ANNOUNCE_RESULT: return { type: t, announceResult: { key: bytes(rng, 32), seeds: [bytes(rng, 32)], refs: [{ peer: ref, loc: rng() }] } }
    case FrameType.ANNOUNCE_JOIN: return { type: t, announceJoin: { id: id(rng), htl: htl(rng), node: ref, loc: rng() } }
    case FrameType.ANNOUNCE_JOINED: return { type: t, announceJoined: { refs: [{ peer: ref, loc: rng() }] } }
    default: return { type: t }
  }
}

/** The protocol's valid opening frame, with each field mutated with probability `p`. */
function opening (proto: Protocol, m: Material, rng: Rng, p: number): { frame: Frame, second?: () => Frame } {
  const odd = (): boolean => rng() < p
  switch (proto) {
    case 'request': {
      const stored = rng() < 0.3 ? pick(rng, m.blocks).key : undefined
      return { frame: { type: FrameType.REQUEST, request: { id: odd() ? pick(rng, ODD_IDS) : u64(rng), key: (stored ?? (odd() ? key(rng) : bytes(rng, 32))) as Uint8Array<ArrayBuffer>, htl: odd() ? pick(rng, ODD_U32) : int(rng, 3) } } }
    }
    case 'insert': {
      const b = pick(rng, m.blocks)
      const k = odd() ? key(rng) : b.key as Uint8Array<ArrayBuffer>
      return {
        frame: { type: FrameType.INSERT, insert: { id: odd() ? pick(rng, ODD_IDS) : u64(rng), key: k, htl: odd() ? pick(rng, ODD_U32) : int(rng, 2), source: odd() ? peerRef(m, rng, false) : peerRef(m, rng, true) } },
        second: () => rng() < 0.5 ? { type: FrameType.INSERT_DATA, insertData: { block: block(m, rng, k) } } : anyFrame(m, rng)
      }
    }
    case 'announce': {
      const seed = bytes(rng, 32)
      const commitment = createHash('sha256').update(seed).digest()
      const commitments = odd() ? Array.from({ length: pick(rng, [0, 2, 50]) }, () => bytes(rng, pick(rng, [32, 31, 0]))) : [new Uint8Array(commitment)]
      return {
        frame: { type: FrameType.ANNOUNCE, announce: { id: odd() ? pick(rng, ODD_IDS) : u64(rng), htl: odd() ? pick(rng, ODD_U32) : int(rng, 2), node: peerRef(m, rng, !odd()), commitments } },
        second: () => {
          if (rng() < 0.3) return anyFrame(m, rng)
          const seeds = rng() < 0.5 ? [seed] : Array.from({ length: int(rng, 4) }, () => bytes(rng, pick(rng, [32, 31, 33, 0])))
          return { type: FrameType.ANNOUNCE_REVEAL, announceReveal: { seeds } }
        }
      }
    }
    default: // 'join'
      return { frame: { type: FrameType.ANNOUNCE_JOIN, announceJoin: { id: odd() ? pick(rng, ODD_IDS) : u64(rng), htl: odd() ? pick(rng, ODD_U32) : int(rng, 3), node: peerRef(m, rng, !odd()), loc: odd() ? pick(rng, ODD_LOCS) : rng() } } }
  }
}

// ---- hand-written protobuf (wrong wire types) -----------------------------------------------

export function varint (n: bigint): number[] {
  const out: number[] = []
  let v = BigInt.asUintN(64, n)
  do {
    let b = Number(v & 0x7fn)
    v >>= 7n
    if (v > 0n) b |= 0x80
    out.push(b)
  } while (v > 0n)
  return out
}

export function tag (field: number, wire: number): number[] {
  return varint(BigInt(field * 8 + wire))
}

export function len (field: number, body: number[] | Uint8Array): number[] {
  return [...tag(field, 2), ...varint(BigInt(body.length)), ...body]
}

const TYPE_NUMBER: Record<Protocol, number> = { request: 1, insert: 7, announce: 12, join: 16 }
const BODY_FIELD: Record<Protocol, number> = { request: 2, insert: 3, announce: 12, join: 16 }

/** The frame type right, its body's fields with the wrong wire types, bad tags or lengths. */
function wrongWire (proto: Protocol, rng: Rng): Uint8Array {
  const t = TYPE_NUMBER[proto]
  const bf = BODY_FIELD[proto]
  const k = Array.from(bytes(rng, 32))
  const body: number[][] = [
    [...tag(1, 2), 8, ...bytes(rng, 8)], // id as bytes
    [...tag(1, 1), ...bytes(rng, 8)], // id as fixed64
    [...tag(2, 0), ...varint(u64(rng))], // key (or htl, node) as varint
    [...tag(3, 5), ...bytes(rng, 4)], // htl as fixed32
    [...tag(3, 0), ...varint(-1n)], // a ten-byte varint
    [...tag(4, 2), 200, ...bytes(rng, 10)], // length beyond the end
    [...tag(4, 1), ...bytes(rng, 8)], // node/source/loc as a double
    [...tag(0, 0), 1], // field number 0
    [...tag(5, 6), 1], // wire type 6
    [...tag(9, 3), ...tag(10, 0), 1, ...tag(9, 4)], // a group
    [...len(2, k), ...len(2, k)] // a repeated key
  ]
  const chosen = Array.from({ length: 1 + int(rng, 3) }, () => pick(rng, body)).flat()
  switch (int(rng, 4)) {
    case 0: return Uint8Array.from([...tag(1, 0), t, ...len(bf, chosen)])
    case 1: return Uint8Array.from([...tag(1, 2), 1, t, ...len(bf, chosen)]) // type as bytes
    case 2: return Uint8Array.from([...tag(1, 0), t, ...tag(bf, 0), ...varint(u64(rng))]) // body as a varint
    default: return Uint8Array.from([...tag(1, 0), ...varint(BigInt(pick(rng, [0, 18, 99, 2 ** 31]))), ...len(bf, chosen)]) // unknown type
  }
}

// ---- byte-level mutations of valid encodings -------------------------------------------------

export function mutateBytes (b: Uint8Array, rng: Rng): Uint8Array {
  const out = Array.from(b)
  switch (int(rng, 5)) {
    case 0: return Uint8Array.from(out.slice(0, int(rng, out.length))) // truncated
    case 1: {
      for (let i = 0, n = 1 + int(rng, 4); i < n && out.length > 0; i++) out[int(rng, out.length)] ^= 1 << int(rng, 8)
      return Uint8Array.from(out)
    }
    case 2: {
      const at = int(rng, out.length + 1)
      return Uint8Array.from([...out.slice(0, at), ...bytes(rng, 1 + int(rng, 16)), ...out.slice(at)])
    }
    case 3: return Uint8Array.from([...out, ...out]) // every field twice (protobuf merges)
    default: return Uint8Array.from([...out, ...tag(100 + int(rng, 1000), 0), int(rng, 128)]) // an unknown field
  }
}

/**
 * One case for `proto`. Mix: 20 % valid exchanges (the second frame possibly wrong), 25 %
 * valid encodings with mutated fields, 15 % frame types the protocol does not allow, 15 %
 * wrong wire types, 15 % byte-level mutations of valid encodings, 10 % empty, oversized or
 * random frames.
 */
export function makeCase (proto: Protocol, m: Material, rng: Rng): Case {
  const r = rng()
  if (r < 0.20) {
    const o = opening(proto, m, rng, 0)
    return { kind: 'valid', first: enc(o.frame), second: o.second === undefined ? undefined : enc(o.second()) }
  }
  if (r < 0.45) {
    const o = opening(proto, m, rng, 0.5)
    return { kind: 'fields', first: enc(o.frame), second: o.second === undefined ? undefined : enc(o.second()) }
  }
  if (r < 0.60) {
    const f = anyFrame(m, rng)
    // A second body beside the right one now and then: a stray field.
    if (rng() < 0.3) {
      const other = anyFrame(m, rng)
      const field = Object.keys(other).find((k) => k !== 'type')
      if (field !== undefined) Object.assign(f, { [field]: other[field as keyof Frame] })
    }
    return { kind: 'type', first: enc(f) }
  }
  if (r < 0.75) return { kind: 'wire', first: wrongWire(proto, rng) }
  if (r < 0.90) {
    const o = opening(proto, m, rng, 0.2)
    return { kind: 'bytes', first: mutateBytes(enc(o.frame), rng) }
  }
  switch (int(rng, 3)) {
    case 0: return { kind: 'empty', first: new Uint8Array(0) }
    case 1: return { kind: 'oversized', first: bytes(rng, MAX_FRAME_BYTES + 1 + int(rng, 4096)) }
    default: return { kind: 'random', first: bytes(rng, int(rng, 300)) }
  }
}

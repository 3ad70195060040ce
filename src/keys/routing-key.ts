/**
 * 256-bit routing keys and the closeness metric.
 *
 * Every key in warren (CHK, SSK, KSK, the key of a peer in a routing table) is a 32-byte
 * SHA-256 output. For routing, a key is placed on a circle: its *location* is the first
 * 52 bits of the key read as a big-endian fraction in [0, 1). Closeness is the circular
 * distance between locations, `min(|a - b|, 1 - |a - b|)`, so there is no edge at 0x00../0xff..
 * (the 2001 paper used plain lexicographic distance; the circle removes its edge effect).
 * 52 bits is exactly a double's mantissa: locations are exact, and two distinct SHA-256
 * keys share a location with probability 2^-52 per pair (then either is an equally good
 * route). Identity (store, failure table) always uses all 256 bits.
 */
import { createHash } from 'node:crypto'
import { sha256 as jsSha256 } from '@noble/hashes/sha2.js'

export const ROUTING_KEY_BYTES = 32

const TWO_POW_20 = 1_048_576
const TWO_POW_52 = 4_503_599_627_370_496

/** Location in [0, 1) of a 32-byte key: its first 52 bits as a fraction. */
export function locationOf (bytes: Uint8Array): number {
  const hi = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0
  const lo = ((bytes[4] << 12) | (bytes[5] << 4) | (bytes[6] >>> 4)) >>> 0
  return (hi * TWO_POW_20 + lo) / TWO_POW_52
}

/** Location of a key given as lower- or upper-case hex (its first 52 bits, 13 hex digits). */
export function locationOfHex (hex: string): number {
  return parseInt(hex.slice(0, 13), 16) / TWO_POW_52
}

/** Circular distance between two locations, in [0, 0.5]. */
export function distance (a: number, b: number): number {
  const d = a > b ? a - b : b - a
  return d > 0.5 ? 1 - d : d
}

/**
 * Inputs up to this many bytes are hashed in JavaScript (@noble/hashes), longer ones by
 * node:crypto. Each `createHash` is a C++ object behind a weak handle, and its digest a fresh
 * off-heap buffer: the million-node simulation, which hashes ~20,000 short announcement
 * commitments a second, spent 65-115 ms of every young-generation collection (one every
 * ~0.6-0.7 s) in those weak handles' callbacks (`--trace-gc-nvp`, 5 December 2026). A block's
 * 32 KiB is faster through OpenSSL, and rare enough.
 */
const JS_HASH_MAX_BYTES = 1024

export function sha256 (...parts: Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.length
  if (n <= JS_HASH_MAX_BYTES) {
    if (parts.length === 1) return jsSha256(parts[0])
    const h = jsSha256.create()
    for (const p of parts) h.update(p)
    return h.digest()
  }
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest())
}

/**
 * Lower-case hex, as one flat string. Built by `+=`, V8 makes a rope of about 26 cons-string
 * cells of 32 bytes for a 32-byte key (any concatenation past 13 characters is a cons string),
 * and keys held as map keys were never flattened: a heap snapshot of a node that had fetched
 * a 128 MiB file held 112,000 such cells, about 830 bytes per key against 80 for a flat
 * string, and the simulator's millions of stored keys carried the same (5 December 2026).
 */
export function toHex (bytes: Uint8Array): string {
  // A copy into Buffer's shared pool: reading `bytes.buffer` would move a short array V8 keeps
  // inside its heap out to an ArrayBuffer of its own, one more off-heap allocation per key.
  return Buffer.from(bytes).toString('hex')
}

export function fromHex (hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(hex)) throw new Error('invalid hex string')
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}

/** An immutable 256-bit routing key with its cached location and hex identity. */
export class RoutingKey {
  readonly bytes: Uint8Array
  readonly loc: number
  private _hex?: string

  constructor (bytes: Uint8Array) {
    if (bytes.length !== ROUTING_KEY_BYTES) {
      throw new Error(`a routing key is ${ROUTING_KEY_BYTES} bytes, got ${bytes.length}`)
    }
    this.bytes = bytes
    this.loc = locationOf(bytes)
  }

  /** Lower-case hex of all 256 bits: the key's identity in maps and on disk. */
  get hex (): string {
    this._hex ??= toHex(this.bytes)
    return this._hex
  }

  equals (other: RoutingKey): boolean {
    return this === other || this.hex === other.hex
  }

  toString (): string {
    return this.hex
  }

  /** The routing key of arbitrary bytes: SHA-256 of them. */
  static hash (...parts: Uint8Array[]): RoutingKey {
    return new RoutingKey(sha256(...parts))
  }

  static fromHex (hex: string): RoutingKey {
    return new RoutingKey(fromHex(hex))
  }
}

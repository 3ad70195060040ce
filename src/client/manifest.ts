/**
 * Split-file manifests (format in proto/manifest.proto): the payload of a CHK block with
 * envelope type MANIFEST, naming either data blocks (height 0) or child manifests (height > 0)
 * as a compact list of 64-byte refs, so about 500 refs fit one block.
 */
import { Manifest } from '../../proto/manifest.js'
import { CHK_DECRYPT_KEY_BYTES, CHK_MAX_PAYLOAD } from '../keys/chk.js'
import { RoutingKey, ROUTING_KEY_BYTES } from '../keys/routing-key.js'
import type { ChkRef } from '../keys/chk.js'

/** One ref on the wire: routing key || decryption key. */
export const REF_BYTES = ROUTING_KEY_BYTES + CHK_DECRYPT_KEY_BYTES

/**
 * Worst-case protobuf framing of a manifest: size (tag + 10-byte varint), height (tag +
 * 5-byte varint), refs (tag + 3-byte length, enough for any length below 2^21).
 */
const MANIFEST_OVERHEAD = (1 + 10) + (1 + 5) + (1 + 3)

/** Most refs one manifest block holds (511 with 32 KiB blocks). */
export const MANIFEST_FANOUT = Math.floor((CHK_MAX_PAYLOAD - MANIFEST_OVERHEAD) / REF_BYTES)

/**
 * Deepest manifest tree. A tree of height h names up to 511^(h+1) data blocks: height 3
 * already covers 2.2e15 bytes, height 4 every size below 2^53. The bound keeps a hostile
 * manifest from sending a reader down a long chain.
 */
export const MAX_MANIFEST_HEIGHT = 4

export interface DecodedManifest {
  /** Plaintext bytes below this manifest. */
  size: number
  /** 0: `refs` name data blocks; h > 0: they name manifests of height h - 1. */
  height: number
  refs: ChkRef[]
}

/** Serialise a manifest into a CHK payload. */
export function encodeManifest (manifest: DecodedManifest): Uint8Array {
  const { size, height, refs } = manifest
  if (!Number.isSafeInteger(size) || size < 0) throw new Error(`invalid manifest size ${size}`)
  if (!Number.isInteger(height) || height < 0 || height > MAX_MANIFEST_HEIGHT) {
    throw new Error(`manifest height must be 0..${MAX_MANIFEST_HEIGHT}, got ${height}`)
  }
  if (refs.length === 0 || refs.length > MANIFEST_FANOUT) {
    throw new Error(`a manifest holds 1..${MANIFEST_FANOUT} refs, got ${refs.length}`)
  }
  const packed = new Uint8Array(refs.length * REF_BYTES)
  refs.forEach((ref, i) => {
    if (ref.decryptKey.length !== CHK_DECRYPT_KEY_BYTES) {
      throw new Error(`a CHK decryption key is ${CHK_DECRYPT_KEY_BYTES} bytes, got ${ref.decryptKey.length}`)
    }
    packed.set(ref.routingKey.bytes, i * REF_BYTES)
    packed.set(ref.decryptKey, i * REF_BYTES + ROUTING_KEY_BYTES)
  })
  return Manifest.encode({ size, height, refs: packed })
}

/** Parse and sanity-check a manifest payload; throws `malformed manifest: ...`. */
export function decodeManifest (payload: Uint8Array): DecodedManifest {
  let manifest: Manifest
  try {
    manifest = Manifest.decode(payload)
  } catch (err) {
    throw new Error(`malformed manifest: ${(err as Error).message}`, { cause: err })
  }
  const { size, height, refs: packed } = manifest
  if (!Number.isSafeInteger(size) || size < 0) throw new Error(`malformed manifest: size ${size}`)
  if (height > MAX_MANIFEST_HEIGHT) {
    throw new Error(`malformed manifest: height ${height} exceeds ${MAX_MANIFEST_HEIGHT}`)
  }
  if (packed.length === 0 || packed.length % REF_BYTES !== 0 || packed.length > MANIFEST_FANOUT * REF_BYTES) {
    throw new Error(`malformed manifest: refs are ${packed.length} bytes, not 1..${MANIFEST_FANOUT} entries of ${REF_BYTES}`)
  }
  const count = packed.length / REF_BYTES
  if (height === 0 && size > count * CHK_MAX_PAYLOAD) {
    throw new Error(`malformed manifest: ${count} data blocks cannot hold ${size} bytes`)
  }
  // One copy of the refs (not a view of the whole block), and every key a view of it. A slice
  // per key was two ArrayBuffers and their backing stores per ref, ~700 bytes a block of the
  // file: a heap snapshot of a node that had read a 128 MiB file held 8,200 keys in 12,600
  // ArrayBuffers, and a reader's heap grew by ~50 MiB per GiB read (docs/benchmarks.md).
  const own = packed.slice()
  const refs: ChkRef[] = []
  for (let off = 0; off < own.length; off += REF_BYTES) {
    refs.push({
      routingKey: new RoutingKey(own.subarray(off, off + ROUTING_KEY_BYTES)),
      decryptKey: own.subarray(off + ROUTING_KEY_BYTES, off + REF_BYTES)
    })
  }
  return { size, height, refs }
}

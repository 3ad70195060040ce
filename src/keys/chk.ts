/**
 * Content-hash keys (CHK): fixed-size, convergently encrypted blocks.
 *
 * A payload is wrapped in a fixed-size envelope `[type u8][length u32 BE][payload][zero padding]`
 * sized so that envelope + 16-byte AEAD tag is exactly BLOCK_SIZE: every CHK block on the wire
 * and on disk looks the same whatever it holds. The envelope is encrypted with ChaCha20-Poly1305
 * under the *decryption key* SHA-256("warren-chk-v1" || type || payload), so the same content
 * always gives the same key, the same block and the same routing key SHA-256(block): identical
 * inserts coalesce in the network, and a node storing a block cannot read it without the URI.
 *
 * The routing key commits to the ciphertext and the decryption key to the plaintext, so a
 * (routing key, decryption key) pair names exactly one payload.
 */
import { createCipheriv, createDecipheriv, timingSafeEqual } from 'node:crypto'
import { BLOCK_SIZE } from '../constants.js'
import { RoutingKey, ROUTING_KEY_BYTES, sha256 } from './routing-key.js'

/** What a CHK envelope holds. Values are part of the stored format: never renumber. */
export enum ChkType {
  /** Raw file data (a whole small file, or one slice of a split file). */
  DATA = 0,
  /** A split-file manifest (src/client/manifest.ts). */
  MANIFEST = 1,
  /** Split-file metadata with FEC segments, or a small file inline (src/client/splitfile.ts). */
  SPLITFILE = 2,
  /** A site manifest: path -> URI, MIME type, default index (src/client/site.ts). */
  SITE = 3,
  /** A redirect: the payload is another warren URI (UTF-8), followed by readers (at most MAX_REDIRECTS). */
  REDIRECT = 4
}

export const CHK_TAG_BYTES = 16
/** Envelope header: type (1 byte) and payload length (4 bytes, big-endian). */
export const CHK_HEADER_BYTES = 5
export const CHK_ENVELOPE_BYTES = BLOCK_SIZE - CHK_TAG_BYTES
/** Largest payload one CHK block carries. */
export const CHK_MAX_PAYLOAD = CHK_ENVELOPE_BYTES - CHK_HEADER_BYTES
export const CHK_DECRYPT_KEY_BYTES = 32

const KEY_DOMAIN = new TextEncoder().encode('warren-chk-v1')
/**
 * A fixed all-zero nonce. Reusing a nonce under one key is fatal for ChaCha20-Poly1305, but
 * here each key encrypts exactly one plaintext: the key is derived from that very plaintext,
 * so a second encryption under the same key is an encryption of the same envelope and yields
 * the same bytes. Never reuse this nonce with a key that is not derived this way.
 */
const NONCE = new Uint8Array(12)
const CIPHER = 'chacha20-poly1305'

/** The two keys that name a CHK: where it lives and how to read it. */
export interface ChkRef {
  routingKey: RoutingKey
  decryptKey: Uint8Array
}

export interface EncodedChk extends ChkRef {
  /** The BLOCK_SIZE bytes to store and transfer: ciphertext || tag. */
  block: Uint8Array<ArrayBuffer>
}

export interface DecodedChk {
  type: ChkType
  payload: Uint8Array
}

function isChkType (type: number): type is ChkType {
  return ChkType[type] !== undefined
}

/** The convergent decryption key of an envelope's contents. */
export function chkDecryptKey (type: ChkType, payload: Uint8Array): Uint8Array {
  return sha256(KEY_DOMAIN, Uint8Array.of(type), payload)
}

/** Encrypt one payload into a CHK block. */
export function encodeChk (type: ChkType, payload: Uint8Array): EncodedChk {
  if (!isChkType(type)) throw new Error(`unknown CHK envelope type ${String(type)}`)
  if (payload.length > CHK_MAX_PAYLOAD) {
    throw new Error(`a CHK payload is at most ${CHK_MAX_PAYLOAD} bytes, got ${payload.length}`)
  }
  const envelope = new Uint8Array(CHK_ENVELOPE_BYTES)
  envelope[0] = type
  new DataView(envelope.buffer).setUint32(1, payload.length)
  envelope.set(payload, CHK_HEADER_BYTES)

  const decryptKey = chkDecryptKey(type, payload)
  const cipher = createCipheriv(CIPHER, decryptKey, NONCE, { authTagLength: CHK_TAG_BYTES })
  const block = new Uint8Array(BLOCK_SIZE)
  const head = cipher.update(envelope)
  const tail = cipher.final()
  block.set(head, 0)
  block.set(tail, head.length)
  block.set(cipher.getAuthTag(), CHK_ENVELOPE_BYTES)
  return { routingKey: RoutingKey.hash(block), decryptKey, block }
}

/**
 * Decrypt and unwrap a CHK block. Throws if the key does not open the block, if the envelope
 * is malformed, or if the key is not the convergent key of the contents (a non-canonical
 * block that no honest inserter produces).
 */
export function decodeChk (block: Uint8Array, decryptKey: Uint8Array): DecodedChk {
  if (block.length !== BLOCK_SIZE) {
    throw new Error(`a CHK block is ${BLOCK_SIZE} bytes, got ${block.length}`)
  }
  if (decryptKey.length !== CHK_DECRYPT_KEY_BYTES) {
    throw new Error(`a CHK decryption key is ${CHK_DECRYPT_KEY_BYTES} bytes, got ${decryptKey.length}`)
  }
  const decipher = createDecipheriv(CIPHER, decryptKey, NONCE, { authTagLength: CHK_TAG_BYTES })
  decipher.setAuthTag(block.subarray(CHK_ENVELOPE_BYTES))
  let envelope: Uint8Array
  try {
    const head = decipher.update(block.subarray(0, CHK_ENVELOPE_BYTES))
    const tail = decipher.final()
    // A stream cipher leaves nothing for final(): the envelope is the update's own output, read
    // in place, not copied into one more 32 KiB buffer per block at the requester of a get.
    envelope = tail.byteLength === 0 ? head : Buffer.concat([head, tail])
  } catch {
    throw new Error('CHK block failed authentication: wrong decryption key or corrupted block')
  }
  if (envelope.byteLength !== CHK_ENVELOPE_BYTES) throw new Error(`CHK decryption gave ${envelope.byteLength} bytes, not ${CHK_ENVELOPE_BYTES}`)

  const type = envelope[0]
  if (!isChkType(type)) throw new Error(`malformed CHK envelope: unknown type ${type}`)
  const length = new DataView(envelope.buffer, envelope.byteOffset, envelope.byteLength).getUint32(1)
  if (length > CHK_MAX_PAYLOAD) {
    throw new Error(`malformed CHK envelope: payload length ${length} exceeds ${CHK_MAX_PAYLOAD}`)
  }
  const end = CHK_HEADER_BYTES + length
  for (let i = end; i < envelope.length; i++) {
    if (envelope[i] !== 0) throw new Error('malformed CHK envelope: non-zero padding')
  }
  // A plain Uint8Array view, not the Buffer node:crypto returned (callers compare and copy it).
  const payload = new Uint8Array(envelope.buffer, envelope.byteOffset + CHK_HEADER_BYTES, length)
  if (!bytesEqual(chkDecryptKey(type, payload), decryptKey)) {
    throw new Error('malformed CHK block: decryption key is not derived from its contents')
  }
  return { type, payload }
}

/**
 * Whether `block` is the CHK named by `key`: the right size and hashing to it. Every node
 * checks this before storing or forwarding a block; it needs no decryption key.
 */
export function verifyChkBlock (key: RoutingKey, block: Uint8Array): boolean {
  return block.length === BLOCK_SIZE && key.bytes.length === ROUTING_KEY_BYTES &&
    bytesEqual(sha256(block), key.bytes)
}

/** Constant-time comparison (the decryption-key check must not leak where it differs). */
function bytesEqual (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * Signed-subspace keys (SSK): a publisher's own namespace, in which only the holder of an
 * Ed25519 private key can insert, and which anyone holding the request URI can read.
 *
 * The Freenet papers used DSA and SHA-1; warren uses Ed25519 signatures, SHA-256, HKDF-SHA-256
 * and ChaCha20-Poly1305 (all from node:crypto). A subspace is (key pair, 32-byte crypto key);
 * a document in it has a name (any UTF-8 string). From those:
 *
 *   pubKeyHash  = SHA-256("warren-ssk-pubkey-v1" || public key)           (in the request URI)
 *   nameHash    = HKDF-SHA-256(crypto key, salt "warren-ssk-v1", info "name\0" || name)
 *   routing key = SHA-256("warren-ssk-key-v1" || pubKeyHash || nameHash)
 *   content key = HKDF-SHA-256(crypto key, salt "warren-ssk-v1", info "content\0" || name)
 *
 * A block carries the public key, signed headers (version, nameHash, nonce; proto/keys.proto),
 * the data (a fixed-size envelope `[type u8][length u32 BE][payload][zero padding]` encrypted
 * with ChaCha20-Poly1305 under the content key, routing key as associated data) and an Ed25519
 * signature over ("warren-ssk-sig-v1" || routing key || headers length || headers || data).
 *
 * Every node can check, without learning the name or reading the data, that the block's public
 * key and nameHash hash to the routing key it travels under and that the signature is good. So
 * nobody but the key holder can produce a valid block for a routing key, a block for one name
 * (or one edition, since editions are names) never verifies under another, and tampered data
 * fails the signature. The crypto key keeps names unguessable: nodes see only HKDF outputs.
 */
import {
  createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, generateKeyPairSync, hkdfSync,
  randomBytes, sign, verify
} from 'node:crypto'
import { KeyType } from '../../proto/warren.js'
import { SskHeaders } from '../../proto/keys.js'
import { RoutingKey, sha256 } from './routing-key.js'
import type { Block } from '../../proto/warren.js'
import type { BlockCheck } from './block-verify.js'

/** What an SSK envelope holds. Values are part of the stored format: never renumber. */
export enum SskType {
  // 0 is reserved. Content always lives under CHKs: an SSK points at it (Freenet's indirect file).
  /** A redirect: the payload is the UTF-8 text of another warren URI. */
  REDIRECT = 1,
  /** An updatable-content descriptor (editions or date-based redirects; src/client/updatable.ts). */
  UPDATABLE = 2,
  /** A node's address record (src/ark/ark.ts). */
  ARK = 3
}

export const SSK_VERSION = 1
export const SSK_PUBKEY_BYTES = 32
export const SSK_PRIVATE_KEY_BYTES = 32
export const SSK_SIGNATURE_BYTES = 64
export const SSK_CRYPTO_KEY_BYTES = 32
export const SSK_NAME_HASH_BYTES = 32
export const SSK_NONCE_BYTES = 12
export const SSK_TAG_BYTES = 16
/** Plaintext envelope size: every SSK block looks the same whatever it holds. */
export const SSK_ENVELOPE_BYTES = 1024
export const SSK_DATA_BYTES = SSK_ENVELOPE_BYTES + SSK_TAG_BYTES
const SSK_HEADER_BYTES = 5
/** Largest payload one SSK block carries inline; larger content goes to a CHK behind a redirect. */
export const SSK_MAX_PAYLOAD = SSK_ENVELOPE_BYTES - SSK_HEADER_BYTES
/** Upper bound on encoded headers (version + two short byte fields), so hostile headers stay cheap. */
const MAX_HEADERS_BYTES = 128

const enc = new TextEncoder()
const PUBKEY_DOMAIN = enc.encode('warren-ssk-pubkey-v1')
const KEY_DOMAIN = enc.encode('warren-ssk-key-v1')
const SIG_DOMAIN = enc.encode('warren-ssk-sig-v1')
const HKDF_SALT = enc.encode('warren-ssk-v1')
const CIPHER = 'chacha20-poly1305'
// DER prefixes of an Ed25519 PKCS#8 private key (32-byte seed) and SPKI public key (RFC 8410).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

export interface SskKeyPair {
  /** The 32-byte Ed25519 seed (RFC 8032 private key). */
  privateKey: Uint8Array
  publicKey: Uint8Array
}

/** What a reader needs to find and open one document: the request URI's parts. */
export interface SskRef {
  pubKeyHash: Uint8Array
  cryptoKey: Uint8Array
  name: string
}

/** What an inserter needs: the insert URI's parts. */
export interface SskInsertRef {
  privateKey: Uint8Array
  cryptoKey: Uint8Array
  name: string
}

export interface DecodedSsk {
  type: SskType
  payload: Uint8Array
}

function expectLength (what: string, bytes: Uint8Array, n: number): void {
  if (bytes.length !== n) throw new Error(`${what} is ${n} bytes, got ${bytes.length}`)
}

function privateKeyObject (seed: Uint8Array): ReturnType<typeof createPrivateKey> {
  expectLength('an SSK private key', seed, SSK_PRIVATE_KEY_BYTES)
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' })
}

function publicKeyObject (pub: Uint8Array): ReturnType<typeof createPublicKey> {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pub]), format: 'der', type: 'spki' })
}

/** A new random subspace key pair. */
export function generateSskKeyPair (): SskKeyPair {
  const { privateKey } = generateKeyPairSync('ed25519')
  const der = privateKey.export({ format: 'der', type: 'pkcs8' })
  const seed = new Uint8Array(der.subarray(der.length - SSK_PRIVATE_KEY_BYTES))
  return { privateKey: seed, publicKey: sskPublicKey(seed) }
}

/** The Ed25519 public key of a 32-byte seed. */
export function sskPublicKey (privateKey: Uint8Array): Uint8Array {
  const der = createPublicKey(privateKeyObject(privateKey)).export({ format: 'der', type: 'spki' })
  return new Uint8Array(der.subarray(der.length - SSK_PUBKEY_BYTES))
}

/** A fresh random crypto key (the second half of both SSK URIs). */
export function generateCryptoKey (): Uint8Array {
  return new Uint8Array(randomBytes(SSK_CRYPTO_KEY_BYTES))
}

export function sskPubKeyHash (publicKey: Uint8Array): Uint8Array {
  return sha256(PUBKEY_DOMAIN, publicKey)
}

function derive (cryptoKey: Uint8Array, label: string, name: string): Uint8Array {
  expectLength('an SSK crypto key', cryptoKey, SSK_CRYPTO_KEY_BYTES)
  return new Uint8Array(hkdfSync('sha256', cryptoKey, HKDF_SALT, enc.encode(`${label}\0${name}`), 32))
}

/** The name commitment nodes see instead of the document name. */
export function sskNameHash (cryptoKey: Uint8Array, name: string): Uint8Array {
  return derive(cryptoKey, 'name', name)
}

function routingKeyOf (pubKeyHash: Uint8Array, nameHash: Uint8Array): RoutingKey {
  return RoutingKey.hash(KEY_DOMAIN, pubKeyHash, nameHash)
}

/** The routing key of a document, from the request URI's parts. */
export function sskRoutingKey (ref: SskRef): RoutingKey {
  return routingKeyOf(ref.pubKeyHash, sskNameHash(ref.cryptoKey, ref.name))
}

/** The request-side reference of an insert reference (what `keygen` publishes). */
export function sskRefOf (ref: SskInsertRef): SskRef {
  return { pubKeyHash: sskPubKeyHash(sskPublicKey(ref.privateKey)), cryptoKey: ref.cryptoKey, name: ref.name }
}

function signedMessage (key: RoutingKey, headers: Uint8Array, data: Uint8Array): Uint8Array {
  const len = new Uint8Array(4)
  new DataView(len.buffer).setUint32(0, headers.length)
  return Buffer.concat([SIG_DOMAIN, key.bytes, len, headers, data])
}

/** Build the signed, encrypted block of one document. */
export function encodeSsk (ref: SskInsertRef, type: SskType, payload: Uint8Array): { routingKey: RoutingKey, block: Block } {
  if (SskType[type] === undefined) throw new Error(`unknown SSK envelope type ${type}`)
  if (payload.length > SSK_MAX_PAYLOAD) {
    throw new Error(`an SSK payload is at most ${SSK_MAX_PAYLOAD} bytes, got ${payload.length} (put larger content under a CHK and redirect to it)`)
  }
  const publicKey = sskPublicKey(ref.privateKey)
  const nameHash = sskNameHash(ref.cryptoKey, ref.name)
  const routingKey = routingKeyOf(sskPubKeyHash(publicKey), nameHash)

  const envelope = new Uint8Array(SSK_ENVELOPE_BYTES)
  envelope[0] = type
  new DataView(envelope.buffer).setUint32(1, payload.length)
  envelope.set(payload, SSK_HEADER_BYTES)
  const nonce = new Uint8Array(randomBytes(SSK_NONCE_BYTES))
  const cipher = createCipheriv(CIPHER, derive(ref.cryptoKey, 'content', ref.name), nonce, { authTagLength: SSK_TAG_BYTES })
  cipher.setAAD(routingKey.bytes, { plaintextLength: SSK_ENVELOPE_BYTES })
  const data = new Uint8Array(Buffer.concat([cipher.update(envelope), cipher.final(), cipher.getAuthTag()]))

  const headers = SskHeaders.encode({ version: SSK_VERSION, nameHash: nameHash as Uint8Array<ArrayBuffer>, nonce })
  const signature = new Uint8Array(sign(null, signedMessage(routingKey, headers, data), privateKeyObject(ref.privateKey)))
  return {
    routingKey,
    block: { type: KeyType.SSK, data, pubkey: publicKey as Uint8Array<ArrayBuffer>, signature, headers }
  }
}

function readHeaders (bytes: Uint8Array): SskHeaders | string {
  if (bytes.length > MAX_HEADERS_BYTES) return `SSK headers are ${bytes.length} bytes (max ${MAX_HEADERS_BYTES})`
  let h: SskHeaders
  try {
    h = SskHeaders.decode(bytes)
  } catch {
    return 'SSK headers are not a valid SskHeaders message'
  }
  if (h.version !== SSK_VERSION) return `unsupported SSK headers version ${h.version}`
  if (h.nameHash.length !== SSK_NAME_HASH_BYTES) return `SSK name hash is ${h.nameHash.length} bytes, not ${SSK_NAME_HASH_BYTES}`
  if (h.nonce.length !== SSK_NONCE_BYTES) return `SSK nonce is ${h.nonce.length} bytes, not ${SSK_NONCE_BYTES}`
  return h
}

/**
 * Whether `block` is a valid SSK block for routing key `key`: well-formed, its public key and
 * name hash bound to `key`, and signed by that key. Needs no URI: every node runs it.
 */
export function checkSskBlock (key: RoutingKey, block: Block): BlockCheck {
  if (block.pubkey.length !== SSK_PUBKEY_BYTES) return { ok: false, reason: `SSK public key is ${block.pubkey.length} bytes, not ${SSK_PUBKEY_BYTES}` }
  if (block.signature.length !== SSK_SIGNATURE_BYTES) return { ok: false, reason: `SSK signature is ${block.signature.length} bytes, not ${SSK_SIGNATURE_BYTES}` }
  if (block.data.length !== SSK_DATA_BYTES) return { ok: false, reason: `SSK data is ${block.data.length} bytes, not ${SSK_DATA_BYTES}` }
  const h = readHeaders(block.headers)
  if (typeof h === 'string') return { ok: false, reason: h }
  if (!routingKeyOf(sskPubKeyHash(block.pubkey), h.nameHash).equals(key)) {
    return { ok: false, reason: `SSK block is not bound to key ${key.hex} (wrong public key or document name)` }
  }
  let good = false
  try {
    good = verify(null, signedMessage(key, block.headers, block.data), publicKeyObject(block.pubkey), block.signature)
  } catch {
    good = false
  }
  return good ? { ok: true } : { ok: false, reason: `SSK block for key ${key.hex} has a bad signature` }
}

/**
 * Decrypt a (verified) SSK block with the reader's crypto key and document name. Throws if
 * the block is for another document or the envelope is malformed.
 */
export function decodeSsk (key: RoutingKey, block: Block, ref: Pick<SskRef, 'cryptoKey' | 'name'>): DecodedSsk {
  const h = readHeaders(block.headers)
  if (typeof h === 'string') throw new Error(h)
  if (block.data.length !== SSK_DATA_BYTES) throw new Error(`SSK data is ${block.data.length} bytes, not ${SSK_DATA_BYTES}`)
  const decipher = createDecipheriv(CIPHER, derive(ref.cryptoKey, 'content', ref.name), h.nonce, { authTagLength: SSK_TAG_BYTES })
  decipher.setAAD(key.bytes, { plaintextLength: SSK_ENVELOPE_BYTES })
  decipher.setAuthTag(block.data.subarray(SSK_ENVELOPE_BYTES))
  let envelope: Uint8Array
  try {
    envelope = new Uint8Array(Buffer.concat([decipher.update(block.data.subarray(0, SSK_ENVELOPE_BYTES)), decipher.final()]))
  } catch {
    throw new Error('SSK block failed authentication: wrong crypto key or document name')
  }
  const type = envelope[0]
  if (SskType[type] === undefined) throw new Error(`malformed SSK envelope: unknown type ${type}`)
  const length = new DataView(envelope.buffer).getUint32(1)
  if (length > SSK_MAX_PAYLOAD) throw new Error(`malformed SSK envelope: payload length ${length} exceeds ${SSK_MAX_PAYLOAD}`)
  // `type` was checked against SskType above.
  // oxlint-disable-next-line typescript/no-unsafe-enum-assignment
  return { type, payload: envelope.slice(SSK_HEADER_BYTES, SSK_HEADER_BYTES + length) }
}

/**
 * The ciphers under @libp2p/noise, through its documented "bring your own crypto" option: the
 * library's own node:crypto implementation (`defaultCrypto`), with two costs per Noise message
 * taken out of it. Same primitives, same wire: ChaCha20-Poly1305 from node:crypto (OpenSSL).
 *
 * - **The session key as a KeyObject, made once.** Noise encrypts every transport message under
 *   its session key with a fresh nonce, and node:crypto needs a new cipher per nonce. Given the
 *   key as bytes, each cipher first imports them into a key object of its own: measured on this
 *   machine kind, 15-23 us per cipher for that alone, against 7 us when handed a KeyObject made
 *   once per key (bench/noise-crypto.ts; docs/benchmarks.md, "Noise's per-message cost"). A
 *   block's hop costs one or two Noise messages each way, so this is paid on every hop of
 *   every block.
 * - **No joining copy.** The default encryption returns `ciphertext || tag` joined with
 *   `Buffer.concat`, a copy of up to 64 KiB per message, only for the socket to write it out
 *   again; here the two go on as the pieces of a list, which Noise appends to its output as it
 *   is. (Decryption already writes no more than its output.)
 *
 * Small messages still go to the library's WebAssembly cipher, faster for them (see
 * SMALL_MESSAGE_BYTES); the handshake (X25519, HKDF, SHA-256) is the library's own.
 */
import { createCipheriv, createDecipheriv, createSecretKey } from 'node:crypto'
import { defaultCrypto } from '@libp2p/noise/crypto'
import { Uint8ArrayList } from 'uint8arraylist'
import type { ICryptoInterface } from '@libp2p/noise'
import type { KeyObject } from 'node:crypto'

const CIPHER = 'chacha20-poly1305'
const TAG_BYTES = 16
/**
 * Below this many bytes the library's WebAssembly cipher is the faster one. The library switches
 * at 1,200 bytes, measured against node:crypto importing the key per message; with the key made
 * once, node:crypto wins from ~700 bytes (seal + open, this machine kind: 512 bytes 10.9 us
 * against 9.5, 800 bytes 10.8 against 12.7, 1,200 bytes 13.4 against 18.0).
 */
const SMALL_MESSAGE_BYTES = 640

interface CachedKey { bytes: Uint8Array, key: KeyObject }

/**
 * Noise hands the same key array to every message of a session direction (its CipherState
 * keeps it), so the KeyObject is cached against that array. The bytes are compared as well, so
 * that an array written over with another key can never be encrypted to under the old one.
 */
const keys = new WeakMap<Uint8Array, CachedKey>()

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

/** The KeyObject of session key `k`, made on its first message. */
export function sessionKey (k: Uint8Array): KeyObject {
  const hit = keys.get(k)
  if (hit !== undefined && sameBytes(hit.bytes, k)) return hit.key
  const bytes = Uint8Array.from(k)
  const key = createSecretKey(bytes)
  keys.set(k, { bytes, key })
  return key
}

function encrypt (plaintext: Uint8Array | Uint8ArrayList, nonce: Uint8Array, ad: Uint8Array, k: Uint8Array): Uint8Array | Uint8ArrayList {
  if (plaintext.byteLength < SMALL_MESSAGE_BYTES) return defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k)
  const cipher = createCipheriv(CIPHER, sessionKey(k), nonce, { authTagLength: TAG_BYTES })
  cipher.setAAD(ad, { plaintextLength: plaintext.byteLength })
  const output = new Uint8ArrayList()
  if (plaintext instanceof Uint8Array) output.append(cipher.update(plaintext))
  else for (const buf of plaintext) output.append(cipher.update(buf))
  const final = cipher.final()
  if (final.byteLength > 0) output.append(final)
  output.append(cipher.getAuthTag())
  return output
}

function decrypt (ciphertext: Uint8Array | Uint8ArrayList, nonce: Uint8Array, ad: Uint8Array, k: Uint8Array, dst?: Uint8Array): Uint8Array | Uint8ArrayList {
  if (ciphertext.byteLength < SMALL_MESSAGE_BYTES) return defaultCrypto.chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst)
  const text = ciphertext.byteLength - TAG_BYTES
  const decipher = createDecipheriv(CIPHER, sessionKey(k), nonce, { authTagLength: TAG_BYTES })
  decipher.setAAD(ad, { plaintextLength: text })
  decipher.setAuthTag(ciphertext.subarray(text))
  if (ciphertext instanceof Uint8Array) {
    const output = decipher.update(ciphertext.subarray(0, text))
    const final = decipher.final()
    return final.byteLength > 0 ? new Uint8ArrayList(output, final) : output
  }
  const output = new Uint8ArrayList()
  for (const buf of ciphertext.sublist(0, text)) output.append(decipher.update(buf))
  const final = decipher.final()
  if (final.byteLength > 0) output.append(final)
  return output
}

/** What `noise({ crypto })` runs on in every warren node. */
export const noiseCrypto: ICryptoInterface = {
  ...defaultCrypto,
  chaCha20Poly1305Encrypt: encrypt,
  chaCha20Poly1305Decrypt: decrypt
}

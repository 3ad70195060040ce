/**
 * Keyword-signed keys (KSK): `warren:KSK@<keyword>`. The whole subspace (Ed25519 key pair and
 * crypto key) is derived deterministically from the keyword, so anyone who knows the word can
 * both read and *sign*: a KSK is an SSK whose private key is public knowledge to anyone who can
 * guess the word. The first insert under a word owns it, because keys are never overwritten.
 *
 * KDF (stable across runs and machines; test/keys/ksk.test.ts pins a vector):
 *
 *   master     = scrypt(NFC(keyword) as UTF-8, salt "warren-ksk-v1", N=2^14, r=8, p=1, 32 bytes)
 *   seed       = HKDF-SHA-256(master, salt "warren-ksk-v1", info "ed25519 seed", 32)
 *   crypto key = HKDF-SHA-256(master, salt "warren-ksk-v1", info "crypto key", 32)
 *   document name = "" (the key pair already names the keyword)
 *
 * Freenet used SHA-1 and DSA. scrypt costs ~30-60 ms per keyword, negligible for a reader but a
 * large factor for someone hashing a dictionary to learn which keywords nodes carry (nodes see
 * only routing keys). It does not make guessable words safe: see docs/keys.md, "Weaknesses".
 */
import { hkdfSync, scryptSync } from 'node:crypto'
import { sskPubKeyHash, sskPublicKey } from './ssk.js'
import type { SskInsertRef, SskRef } from './ssk.js'

export const KSK_SALT = 'warren-ksk-v1'
export const KSK_SCRYPT = { N: 1 << 14, r: 8, p: 1 }
/** Longest keyword accepted (bytes of UTF-8). */
export const KSK_MAX_KEYWORD_BYTES = 1024

export interface KskKeys {
  /** Everything an inserter needs (the derived private key). */
  insert: SskInsertRef
  /** Everything a reader needs. */
  request: SskRef
  publicKey: Uint8Array
}

const CACHE_SIZE = 64
const cache = new Map<string, KskKeys>()

/** Normalise a keyword: Unicode NFC, so that the same word typed on any system names the same key. */
export function normaliseKeyword (keyword: string): string {
  const k = keyword.normalize('NFC')
  if (k === '') throw new Error('a KSK keyword must not be empty')
  if (Buffer.byteLength(k) > KSK_MAX_KEYWORD_BYTES) throw new Error(`a KSK keyword is at most ${KSK_MAX_KEYWORD_BYTES} bytes`)
  return k
}

/** Derive the subspace of a keyword (cached: scrypt is deliberately slow). */
export function deriveKsk (keyword: string): KskKeys {
  const k = normaliseKeyword(keyword)
  const hit = cache.get(k)
  if (hit !== undefined) return hit
  const master = scryptSync(Buffer.from(k, 'utf8'), KSK_SALT, 32, { ...KSK_SCRYPT, maxmem: 64 * 1024 * 1024 })
  const expand = (info: string): Uint8Array => new Uint8Array(hkdfSync('sha256', master, KSK_SALT, info, 32))
  const privateKey = expand('ed25519 seed')
  const cryptoKey = expand('crypto key')
  const publicKey = sskPublicKey(privateKey)
  const keys: KskKeys = {
    insert: { privateKey, cryptoKey, name: '' },
    request: { pubKeyHash: sskPubKeyHash(publicKey), cryptoKey, name: '' },
    publicKey
  }
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string)
  cache.set(k, keys)
  return keys
}

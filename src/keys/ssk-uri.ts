/**
 * The signed URI forms (parsed and formatted through src/keys/uri.ts):
 *
 *   warren:SSK@<public key hash>,<crypto key>/<document name>[//<path>]     request URI (share it)
 *   warren:SSK-INSERT@<private key>,<crypto key>/<document name>            insert URI (keep it secret)
 *   warren:KSK@<keyword>[//<path>]                                          keyword key
 *
 * Keys are 32 bytes in base58btc. The document name is everything after the first `/` up to an
 * optional `//` (it may contain single slashes: editions and date slots are names too, see
 * src/client/updatable.ts). A KSK keyword is everything after `@` up to `//`, slashes included
 * ("text/philosophy/art-of-war"). As in Freenet 0.5's `MSK@SSK@key/site//index.html`, what
 * follows `//` is a path inside the content the key leads to (a file in a site), so `path`
 * means the same on every URI type.
 */
import { base58btc } from 'multiformats/bases/base58'
import { normaliseKeyword } from './ksk.js'
import { SSK_CRYPTO_KEY_BYTES, SSK_PRIVATE_KEY_BYTES, sskPubKeyHash, sskPublicKey } from './ssk.js'
import type { SskInsertRef, SskRef } from './ssk.js'

export interface SskUri {
  type: 'SSK'
  pubKeyHash: Uint8Array
  cryptoKey: Uint8Array
  /** The document name ('' for the subspace's root document). */
  name: string
  /** A path inside the content the document leads to (after `//`). */
  path?: string
}

export interface SskInsertUri {
  type: 'SSK-INSERT'
  privateKey: Uint8Array
  cryptoKey: Uint8Array
  name: string
  path?: string
}

export interface KskUri {
  type: 'KSK'
  keyword: string
  path?: string
}

export type SignedUri = SskUri | SskInsertUri | KskUri

const FORMS: Record<SignedUri['type'], string> = {
  SSK: 'warren:SSK@<public key hash>,<crypto key>/<name> (two base58btc-encoded 32-byte keys)',
  'SSK-INSERT': 'warren:SSK-INSERT@<private key>,<crypto key>/<name> (two base58btc-encoded 32-byte keys)',
  KSK: 'warren:KSK@<keyword>'
}

type Fail = (problem: string, form: string) => never

function withPath<T extends SignedUri> (uri: T, path: string | undefined): T {
  return path === undefined || path === '' ? uri : { ...uri, path }
}

/** Split `<name>[//<path>]`. */
function splitName (rest: string): { name: string, path?: string } {
  if (rest.startsWith('/')) return { name: '', path: rest.slice(1) }
  const i = rest.indexOf('//')
  return i < 0 ? { name: rest } : { name: rest.slice(0, i), path: rest.slice(i + 2) }
}

/** Parse the part after `<type>@` of a signed URI; `fail` reports a problem with the input. */
export function parseSignedKeys (type: SignedUri['type'], keys: string, rest: string, fail: Fail): SignedUri {
  const form = FORMS[type]
  if (type === 'KSK') {
    // The keyword may contain single slashes: rejoin what the caller split at the first one.
    const { name, path } = splitName(rest === '' ? keys : `${keys}/${rest}`)
    try {
      return withPath({ type, keyword: normaliseKeyword(name) }, path)
    } catch (err: any) {
      return fail(err.message, form)
    }
  }
  const { name, path } = splitName(rest)
  const parts = keys.split(',')
  if (parts.length !== 2) fail(`an ${type} URI has 2 comma-separated keys, found ${parts.length}`, form)
  const decode = (text: string, name: string): Uint8Array => {
    if (text === '') fail(`the ${name} is empty`, form)
    let key: Uint8Array
    try {
      key = base58btc.baseDecode(text)
    } catch {
      return fail(`the ${name} is not valid base58btc`, form)
    }
    if (key.length !== 32) fail(`the ${name} decodes to ${key.length} bytes, not 32`, form)
    return key
  }
  const cryptoKey = decode(parts[1], 'crypto key')
  return type === 'SSK'
    ? withPath({ type, pubKeyHash: decode(parts[0], 'public key hash'), cryptoKey, name }, path)
    : withPath({ type, privateKey: decode(parts[0], 'private key'), cryptoKey, name }, path)
}

/** The text after `warren:` of a signed URI. */
export function formatSignedKeys (uri: SignedUri): string {
  const path = uri.path !== undefined && uri.path !== '' ? `//${uri.path}` : ''
  if (uri.type === 'KSK') return `KSK@${uri.keyword}${path}`
  const first = uri.type === 'SSK' ? uri.pubKeyHash : uri.privateKey
  const keys = `${uri.type}@${base58btc.baseEncode(first)},${base58btc.baseEncode(uri.cryptoKey)}`
  return uri.name === '' && path !== '' ? `${keys}${path}` : `${keys}/${uri.name}${path}`
}

/** The reader's reference of an SSK request or insert URI. */
export function sskRefOfUri (uri: SskUri | SskInsertUri): SskRef {
  if (uri.type === 'SSK') return { pubKeyHash: uri.pubKeyHash, cryptoKey: uri.cryptoKey, name: uri.name }
  return { pubKeyHash: sskPubKeyHash(sskPublicKey(uri.privateKey)), cryptoKey: uri.cryptoKey, name: uri.name }
}

export function sskInsertRefOfUri (uri: SskInsertUri): SskInsertRef {
  return { privateKey: uri.privateKey, cryptoKey: uri.cryptoKey, name: uri.name }
}

/** The request URI of a document given its insert-side or request-side reference. */
export function sskUriOf (ref: SskRef | SskInsertRef): SskUri {
  const r = 'privateKey' in ref ? { pubKeyHash: sskPubKeyHash(sskPublicKey(ref.privateKey)), cryptoKey: ref.cryptoKey, name: ref.name } : ref
  return { type: 'SSK', pubKeyHash: r.pubKeyHash, cryptoKey: r.cryptoKey, name: r.name }
}

/** Both URIs of a subspace's root, from its private and crypto keys. */
export function subspaceUris (privateKey: Uint8Array, cryptoKey: Uint8Array): { insert: SskInsertUri, request: SskUri } {
  if (privateKey.length !== SSK_PRIVATE_KEY_BYTES || cryptoKey.length !== SSK_CRYPTO_KEY_BYTES) throw new Error('subspace keys are 32 bytes each')
  const insert: SskInsertUri = { type: 'SSK-INSERT', privateKey, cryptoKey, name: '' }
  return { insert, request: sskUriOf(sskInsertRefOfUri(insert)) }
}

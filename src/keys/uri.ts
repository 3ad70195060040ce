/**
 * Warren URIs: `warren:CHK@<routing key>,<decryption key>[/<path>]`, both keys 32 bytes in
 * base58btc (no multibase prefix).
 *
 * Parsing is lenient about form (surrounding whitespace, a missing or differently cased
 * `warren:` scheme, the key type's case) and strict about content. The key type before `@`
 * selects a parser, and the result is a union discriminated by `type`, so SSK@ and KSK@ slot
 * in as new cases.
 */
import { base58btc } from 'multiformats/bases/base58'
import { CHK_DECRYPT_KEY_BYTES } from './chk.js'
import { RoutingKey, ROUTING_KEY_BYTES } from './routing-key.js'
import { formatSignedKeys, parseSignedKeys } from './ssk-uri.js'
import type { SignedUri } from './ssk-uri.js'

export type { KskUri, SignedUri, SskInsertUri, SskUri } from './ssk-uri.js'

export const URI_SCHEME = 'warren'

export interface ChkUri {
  type: 'CHK'
  routingKey: RoutingKey
  decryptKey: Uint8Array
  /** Anything after the keys' `/`, without that slash (not interpreted yet). */
  path?: string
}

/** Any warren URI; signed forms (SSK, SSK-INSERT, KSK) are in src/keys/ssk-uri.ts. */
export type WarrenUri = ChkUri | SignedUri

const CHK_FORM = `${URI_SCHEME}:CHK@<routing key>,<decryption key> (two base58btc-encoded 32-byte keys)`
const MAX_QUOTED = 120

/** A URI the user got wrong: the HTTP API and the gateway answer 400 with its message. */
export class UriError extends Error {
  readonly statusCode = 400
  constructor (message: string) {
    super(message)
    this.name = 'UriError'
  }
}

function fail (input: string, problem: string, form = CHK_FORM): never {
  const quoted = input.length > MAX_QUOTED ? `${input.slice(0, MAX_QUOTED)}...` : input
  throw new UriError(`invalid warren URI "${quoted}": ${problem}; expected ${form}`)
}

function decodeKey (input: string, text: string, name: string, bytes: number): Uint8Array {
  if (text === '') fail(input, `the ${name} is empty`)
  let key: Uint8Array
  try {
    key = base58btc.baseDecode(text)
  } catch {
    return fail(input, `the ${name} is not valid base58btc`)
  }
  if (key.length !== bytes) fail(input, `the ${name} decodes to ${key.length} bytes, not ${bytes}`)
  return key
}

/** Parse a warren URI. Throws an error that says what is wrong and shows the expected form. */
export function parseUri (input: string): WarrenUri {
  let rest = input.trim()
  const scheme = `${URI_SCHEME}:`
  if (rest.slice(0, scheme.length).toLowerCase() === scheme) rest = rest.slice(scheme.length)

  const at = rest.indexOf('@')
  if (at < 0) fail(input, 'missing "@" after the key type')
  const type = rest.slice(0, at).toUpperCase()
  rest = rest.slice(at + 1)
  const slash = rest.indexOf('/')
  const keys = slash < 0 ? rest : rest.slice(0, slash)
  const path = slash < 0 ? '' : rest.slice(slash + 1)

  switch (type) {
    case 'CHK': {
      const parts = keys.split(',')
      if (parts.length !== 2) fail(input, `a CHK URI has 2 comma-separated keys, found ${parts.length}`)
      const routingKey = new RoutingKey(decodeKey(input, parts[0], 'routing key', ROUTING_KEY_BYTES))
      const decryptKey = decodeKey(input, parts[1], 'decryption key', CHK_DECRYPT_KEY_BYTES)
      return path === '' ? { type: 'CHK', routingKey, decryptKey } : { type: 'CHK', routingKey, decryptKey, path }
    }
    case 'SSK':
    case 'SSK-INSERT':
    case 'KSK':
      return parseSignedKeys(type, keys, path, (problem, form) => fail(input, problem, form))
    default:
      return fail(input, type === '' ? 'missing key type before "@"' : `unsupported key type "${type}"`)
  }
}

/** The canonical text form of a URI (what `parseUri` reads back). */
export function formatUri (uri: WarrenUri): string {
  if (uri.type !== 'CHK') return `${URI_SCHEME}:${formatSignedKeys(uri)}`
  const keys = `${base58btc.baseEncode(uri.routingKey.bytes)},${base58btc.baseEncode(uri.decryptKey)}`
  const path = uri.path != null && uri.path !== '' ? `/${uri.path}` : ''
  return `${URI_SCHEME}:${uri.type}@${keys}${path}`
}

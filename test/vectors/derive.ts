/**
 * What the known-answer vectors (test/vectors/*.json) pin, computed with the project's own
 * code from fixed inputs. make.ts writes the JSON files from these functions once; the test
 * (test/keys/vectors.test.ts) recomputes them on every run and compares with the files.
 */
import { ChkType, decodeChk, encodeChk } from '../../src/keys/chk.js'
import { deriveKsk } from '../../src/keys/ksk.js'
import { toHex } from '../../src/keys/routing-key.js'
import { sskUriOf } from '../../src/keys/ssk-uri.js'
import { sskNameHash, sskPubKeyHash, sskPublicKey, sskRoutingKey } from '../../src/keys/ssk.js'
import { formatUri } from '../../src/keys/uri.js'
import { splitfileBlocks } from '../../src/client/splitfile.js'

/** The input bytes every vector that needs more than a few bytes uses: byte i is i % 251. */
export function pattern (length: number): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = i % 251
  return out
}

export const fromHex = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'))

/** An input: literal hex, or `pattern(length)`. */
export type Input = { hex: string } | { pattern: number }
export const inputBytes = (input: Input): Uint8Array => 'hex' in input ? fromHex(input.hex) : pattern(input.pattern)

export interface ChkCase { name: string, type: number, payload: Input }
export interface ChkResult { decryptKey: string, routingKey: string, uri: string }

export function deriveChk (c: ChkCase): ChkResult {
  const { routingKey, decryptKey, block } = encodeChk(c.type, inputBytes(c.payload))
  // The block must open again to the same payload (a vector that cannot be read is no vector).
  const back = decodeChk(block, decryptKey)
  if (back.type !== c.type || toHex(back.payload) !== toHex(inputBytes(c.payload))) throw new Error(`CHK ${c.name} does not round-trip`)
  return { decryptKey: toHex(decryptKey), routingKey: routingKey.hex, uri: formatUri({ type: 'CHK', routingKey, decryptKey }) }
}

export interface SskSubspace { privateKey: string, cryptoKey: string }
export interface SskDoc { name: string, nameHash: string, routingKey: string, requestUri: string }

export function deriveSskPublic (s: SskSubspace): { publicKey: string, pubKeyHash: string } {
  const publicKey = sskPublicKey(fromHex(s.privateKey))
  return { publicKey: toHex(publicKey), pubKeyHash: toHex(sskPubKeyHash(publicKey)) }
}

export function deriveSskDoc (s: SskSubspace, name: string): SskDoc {
  const insert = { privateKey: fromHex(s.privateKey), cryptoKey: fromHex(s.cryptoKey), name }
  const request = sskUriOf(insert)
  return {
    name,
    nameHash: toHex(sskNameHash(insert.cryptoKey, name)),
    routingKey: sskRoutingKey(request).hex,
    requestUri: formatUri(request)
  }
}

export interface KskResult { keyword: string, privateKey: string, publicKey: string, pubKeyHash: string, cryptoKey: string, routingKey: string }

export function deriveKskVector (keyword: string): KskResult {
  const k = deriveKsk(keyword)
  return {
    keyword,
    privateKey: toHex(k.insert.privateKey),
    publicKey: toHex(k.publicKey),
    pubKeyHash: toHex(k.request.pubKeyHash),
    cryptoKey: toHex(k.request.cryptoKey),
    routingKey: sskRoutingKey(k.request).hex
  }
}

export interface SplitCase { name: string, input: { pattern: number }, mime: string, segmentData?: number, segmentCheck?: number }
export interface SplitResult {
  uri: string
  size: number
  dataBlocks: number
  checkBlocks: number
  segments: number
  /** Routing keys of every block the insert produces, sorted (check blocks come when FEC is done). */
  blocks: string[]
  /** The SPLITFILE metadata block's payload (proto/splitfile.proto), hex: size, MIME, SHA-256, layout. */
  manifest: string
}

export async function deriveSplit (c: SplitCase): Promise<SplitResult> {
  const gen = splitfileBlocks([pattern(c.input.pattern)], { mime: c.mime, segmentData: c.segmentData, segmentCheck: c.segmentCheck })
  const blocks: string[] = []
  const bytes = new Map<string, Uint8Array>()
  let next = await gen.next()
  while (next.done !== true) {
    blocks.push(next.value.routingKey.hex)
    bytes.set(next.value.routingKey.hex, next.value.block)
    next = await gen.next()
  }
  const root = next.value
  const meta = decodeChk(bytes.get(root.routingKey.hex)!, root.decryptKey)
  if (meta.type !== ChkType.SPLITFILE) throw new Error(`split file ${c.name}: root block has type ${meta.type}`)
  return {
    uri: formatUri({ type: 'CHK', routingKey: root.routingKey, decryptKey: root.decryptKey }),
    size: root.size,
    dataBlocks: root.dataBlocks,
    checkBlocks: root.checkBlocks,
    segments: root.segments,
    blocks: blocks.sort(),
    manifest: toHex(meta.payload)
  }
}

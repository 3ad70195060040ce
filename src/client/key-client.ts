/**
 * The key client: inserts and resolves signed keys (SSK, KSK), redirects and updatable
 * content, on top of the block network and the CHK file client.
 *
 * Content always lives under CHKs; a signed document holds a redirect to it (Freenet's
 * indirect file), or an updatable descriptor that leads to the current version's redirect.
 * `resolve` follows that chain, at most MAX_REDIRECTS documents, to the CHK URI a file client
 * can open (WarrenClient's `resolve` component). Every signed block is re-verified here too.
 */
import { DEFAULT_DBR_PERIOD_S, EDITION_MAX_PROBES, MAX_REDIRECTS } from '../constants.js'
import { verifyBlock } from '../keys/block-verify.js'
import { deriveKsk } from '../keys/ksk.js'
import {
  decodeSsk, encodeSsk, generateCryptoKey, generateSskKeyPair, sskRefOf, sskRoutingKey, SskType
} from '../keys/ssk.js'
import { sskInsertRefOfUri, sskRefOfUri, sskUriOf, subspaceUris } from '../keys/ssk-uri.js'
import { formatUri, parseUri } from '../keys/uri.js'
import { NotFoundError } from '../protocol/errors.js'
import type { BlockNetwork } from '../protocol/types.js'
import { insertFile } from './splitfile-insert.js'
import { dbrSlot, decodeDescriptor, editionName, encodeDescriptor, findLatestEdition } from './updatable.js'
import type { Block } from '../../proto/warren.js'
import type { RoutingKey } from '../keys/routing-key.js'
import type { DecodedSsk, SskInsertRef, SskRef } from '../keys/ssk.js'
import type { ChkUri, SignedUri, WarrenUri } from '../keys/uri.js'
import type { SignedTarget } from '../util/params.js'
import type { ClientOptions, SplitSource } from './types.js'
import type { DbrSlot, UpdatableDescriptor } from './updatable.js'

export interface KeyClientComponents {
  network: BlockNetwork
}

/** What a signed key points at: content to insert now, or a URI already inserted (a site, a file). */
export type KeyContent = SplitSource | Uint8Array | { uri: string }

export interface KeyOptions extends ClientOptions {
  htl?: number
}

export interface KeyClientInit {
  htl: number
  /** Inserts in flight when inserting content (CLIENT_CONCURRENCY). */
  concurrency?: number
  /** Clock for date-based redirects (ms since the epoch); tests inject one. */
  now?: () => number
  maxRedirects?: number
  maxProbes?: number
}

export interface KeyPutResult {
  /** The request URI to share. */
  uri: string
  /** The CHK the key points at. */
  target: string
  /** Nodes that stored the signed block (0 when it was already there). */
  stored: number
}

export interface UpdateResult extends KeyPutResult {
  /** The request URI of this version (edition or slot document). */
  version: string
  edition?: number
  slot?: DbrSlot
  descriptor: UpdatableDescriptor
}

export interface Resolution {
  chk: ChkUri
  /** Every signed URI followed, in order. */
  trace: string[]
  edition?: number
  /** Requests spent searching for the latest edition. */
  probes?: number
}

export interface UpdateOptions extends KeyOptions {
  /** MIME type recorded with the content. */
  mime?: string
  /** Create a date-based redirect (if the name is new) with this period and start (seconds). */
  dbr?: { period?: number, start?: number }
  /** Insert the slot of this instant instead of now (ms; date-based only). */
  at?: number
}

export class KeyError extends Error {
  constructor (message: string, readonly statusCode = 400) {
    super(message)
    this.name = 'KeyError'
  }
}

/** Default start of a new date-based redirect: the current period, counted from the epoch (daily slots start at 00:00 UTC). */
function alignedStart (nowMs: number, period: number): number {
  return Math.floor(nowMs / 1000 / period) * period
}

/** A new subspace: the secret insert URI and the public request URI of its root. */
export function keygen (): { insertUri: string, requestUri: string } {
  const { insert, request } = subspaceUris(generateSskKeyPair().privateKey, generateCryptoKey())
  return { insertUri: formatUri(insert), requestUri: formatUri(request) }
}

/** The insert-side reference of a destination: an SSK insert URI, a KSK URI or a bare keyword. */
export function insertTarget (dest: string, kind: 'ssk' | 'ksk'): { ref: SskInsertRef, uri: SignedUri } {
  const parse = (text: string): WarrenUri => {
    try {
      return parseUri(text)
    } catch (err: any) {
      throw new KeyError(err.message)
    }
  }
  if (kind === 'ksk') {
    const u = /^\s*(warren:)?ksk@/i.test(dest) ? parse(dest) : parse(`warren:KSK@${dest}`)
    if (u.type !== 'KSK') throw new KeyError(`expected a keyword or a KSK URI, got a ${u.type} URI`)
    return { ref: deriveKsk(u.keyword).insert, uri: { type: 'KSK', keyword: u.keyword } }
  }
  const u = parse(dest)
  if (u.type !== 'SSK-INSERT') {
    throw new KeyError(`inserting under an SSK needs its insert URI (warren:SSK-INSERT@...; see \`warren keygen\`), got a ${u.type} URI`)
  }
  return { ref: sskInsertRefOfUri(u), uri: sskUriOf(sskInsertRefOfUri(u)) }
}

function readerRef (uri: SignedUri): SskRef {
  return uri.type === 'KSK' ? deriveKsk(uri.keyword).request : sskRefOfUri(uri)
}

export class KeyClient {
  private readonly network: BlockNetwork
  private readonly htl: number
  private readonly concurrency?: number
  private readonly now: () => number
  private readonly maxRedirects: number
  private readonly maxProbes: number
  /** Newest edition seen per updatable document (routing key hex): searches start there. */
  private readonly newest = new Map<string, number>()

  constructor (components: KeyClientComponents, options: KeyClientInit) {
    this.network = components.network
    this.htl = options.htl
    this.concurrency = options.concurrency
    this.now = options.now ?? Date.now
    this.maxRedirects = options.maxRedirects ?? MAX_REDIRECTS
    this.maxProbes = options.maxProbes ?? EDITION_MAX_PROBES
  }

  /** Sign and insert one document. A collision returns the block already stored (never overwritten). */
  async insertSigned (ref: SskInsertRef, type: SskType, payload: Uint8Array, options: KeyOptions = {}): Promise<{ routingKey: RoutingKey, stored: number, existing?: DecodedSsk }> {
    const { routingKey, block } = encodeSsk(ref, type, payload)
    const r = await this.network.insert(routingKey, block, this.networkOptions(options))
    if (!r.collision) return { routingKey, stored: r.stored }
    if (r.block === undefined || !verifyBlock(routingKey, r.block)) throw new Error(`insert of ${routingKey.hex} collided with an invalid block`)
    return { routingKey, stored: 0, existing: decodeSsk(routingKey, r.block, ref) }
  }

  /** Fetch and decrypt one document; undefined when the network does not have it. */
  async fetchSigned (ref: SskRef, options: KeyOptions = {}): Promise<DecodedSsk | undefined> {
    const key = sskRoutingKey(ref)
    let block: Block
    try {
      block = (await this.network.request(key, this.networkOptions(options))).block
    } catch (err) {
      if (err instanceof NotFoundError) return undefined
      throw err
    }
    if (!verifyBlock(key, block)) throw new Error(`the block found for ${key.hex} failed verification`)
    return decodeSsk(key, block, ref)
  }

  /** Point a signed key at `target` (a URI). Idempotent; other existing content is an error. */
  async putRedirect (ref: SskInsertRef, target: string, what: string, options: KeyOptions = {}): Promise<number> {
    const r = await this.insertSigned(ref, SskType.REDIRECT, new TextEncoder().encode(target), options)
    if (r.existing === undefined) return r.stored
    const old = r.existing.type === SskType.REDIRECT ? new TextDecoder().decode(r.existing.payload) : undefined
    if (old === target) return 0
    throw new KeyError(`${what} already holds ${old === undefined ? `a ${SskType[r.existing.type]} document` : `a redirect to ${old}`}; ` +
      'keys are never overwritten (use a new name, or `--update` for updatable content)', 409)
  }

  /** Publish `content` under a signed target (what `?ssk=`, `?ksk=` or `?update=` name: src/util/params.ts). */
  async publish (content: KeyContent, target: SignedTarget, options: KeyOptions & { mime?: string } = {}): Promise<KeyPutResult | UpdateResult> {
    if (target.kind !== 'update') return await this.put(content, target.dest, target.kind, options)
    return await this.update(content, target.dest, { ...options, dbr: target.dbr, at: target.at })
  }

  /** Insert a file as a CHK (or take a URI already inserted) and point an SSK document or a KSK at it. */
  async put (content: KeyContent, dest: string, kind: 'ssk' | 'ksk', options: KeyOptions & { mime?: string } = {}): Promise<KeyPutResult> {
    const { ref, uri } = insertTarget(dest, kind)
    const target = await this.contentUri(content, options)
    const shown = formatUri(uri)
    const stored = await this.putRedirect(ref, target, shown, options)
    return { uri: shown, target, stored }
  }

  /** The URI of `content`, inserting it first unless it is one already. */
  private async contentUri (content: KeyContent, options: KeyOptions & { mime?: string }): Promise<string> {
    if (isUriContent(content)) return content.uri
    const source = content instanceof Uint8Array ? [content] : content
    return (await insertFile(this.network, source, { ...options, htl: options.htl ?? this.htl, concurrency: this.concurrency })).uri
  }

  private networkOptions (options: KeyOptions): { htl: number, signal?: AbortSignal, onProgress?: KeyOptions['onProgress'] } {
    return { htl: options.htl ?? this.htl, signal: options.signal, onProgress: options.onProgress }
  }

  /** The updatable descriptor at `ref`, creating one (editions unless `dbr`) if the name is new. */
  private async descriptor (ref: SskInsertRef, dbr: UpdateOptions['dbr'], options: KeyOptions): Promise<{ d: UpdatableDescriptor, stored: number }> {
    const wanted: UpdatableDescriptor = dbr === undefined
      ? { kind: 'editions' }
      : { kind: 'dbr', period: dbr.period ?? DEFAULT_DBR_PERIOD_S, start: dbr.start ?? alignedStart(this.now(), dbr.period ?? DEFAULT_DBR_PERIOD_S) }
    const found = await this.fetchSigned(sskRefOf(ref), options)
    const r = found === undefined ? await this.insertSigned(ref, SskType.UPDATABLE, encodeDescriptor(wanted), options) : { existing: found, stored: 0 }
    if (r.existing === undefined) return { d: wanted, stored: r.stored }
    if (r.existing.type !== SskType.UPDATABLE) {
      throw new KeyError(`"${ref.name}" already holds a ${SskType[r.existing.type]} document, not updatable content; use a new name`, 409)
    }
    return { d: decodeDescriptor(r.existing.payload), stored: 0 }
  }

  /** Publish a new version under an updatable name: the next edition, or the current date slot. */
  async update (content: KeyContent, insertUri: string, options: UpdateOptions = {}): Promise<UpdateResult> {
    const { ref, uri } = insertTarget(insertUri, 'ssk')
    const { d, stored: descStored } = await this.descriptor(ref, options.dbr, options)
    const target = await this.contentUri(content, options)
    const base = sskRefOf(ref)
    if (d.kind === 'dbr') {
      const slot = dbrSlot(ref.name, d, options.at ?? this.now())
      const stored = await this.putRedirect({ ...ref, name: slot.name }, target, `the slot ${slot.name}`, options)
      return { uri: formatUri(uri), target, stored: stored + descStored, version: formatUri(sskUriOf({ ...base, name: slot.name })), slot, descriptor: d }
    }
    if (options.at !== undefined) throw new KeyError(`"${ref.name}" uses numbered editions: --at applies to date-based redirects only`)
    let { latest } = await this.latestEdition(base, options)
    // Another insert of ours may have raced us: move past any edition already holding other content.
    for (let tries = 0; ; tries++) {
      const n = latest + 1
      try {
        const stored = await this.putRedirect({ ...ref, name: editionName(ref.name, n) }, target, `edition ${n}`, options)
        this.noteEdition(base, n)
        return { uri: formatUri(uri), target, stored: stored + descStored, version: formatUri(sskUriOf({ ...base, name: editionName(ref.name, n) })), edition: n, descriptor: d }
      } catch (err) {
        if (!(err instanceof KeyError) || tries >= 3) throw err
        latest = n
      }
    }
  }

  /** Newest edition of an editions document (searching from the newest seen). */
  async latestEdition (base: SskRef, options: KeyOptions = {}): Promise<{ latest: number, probes: number }> {
    const from = this.newest.get(sskRoutingKey(base).hex) ?? -1
    const r = await findLatestEdition(async (n) => (await this.fetchSigned({ ...base, name: editionName(base.name, n) }, options)) !== undefined, from, this.maxProbes)
    this.noteEdition(base, r.latest)
    return r
  }

  /** Record that edition `n` of `base` exists (searches start after it). */
  noteEdition (base: SskRef, n: number): void {
    const hex = sskRoutingKey(base).hex
    if (n > (this.newest.get(hex) ?? -1)) this.newest.set(hex, n)
  }

  /** Follow a URI through signed documents and redirects to the CHK it currently leads to. */
  async resolve (input: string | WarrenUri, options: KeyOptions = {}): Promise<Resolution> {
    let uri = typeof input === 'string' ? parseUri(input) : input
    let path = uri.path
    const trace: string[] = []
    const result: Omit<Resolution, 'chk' | 'trace'> = {}
    while (uri.type !== 'CHK') {
      const shown = formatUri({ ...uri, path: undefined })
      if (trace.includes(shown)) throw new KeyError(`redirect loop at ${shown}`, 508)
      if (trace.length >= this.maxRedirects) throw new KeyError(`more than ${this.maxRedirects} redirects (last: ${shown})`, 508)
      trace.push(shown)
      const ref = readerRef(uri)
      const doc = await this.fetchSigned(ref, options)
      if (doc === undefined) throw new NotFoundError(`${shown} was not found`, 0)
      let next: WarrenUri
      switch (doc.type) {
        case SskType.REDIRECT:
          next = parseUri(new TextDecoder().decode(doc.payload))
          break
        case SskType.UPDATABLE: {
          const d = decodeDescriptor(doc.payload)
          if (d.kind === 'dbr') {
            next = sskUriOf({ ...ref, name: dbrSlot(ref.name, d, this.now()).name })
          } else {
            const { latest, probes } = await this.latestEdition(ref, options)
            if (latest < 0) throw new NotFoundError(`${shown} has no edition yet`, 0)
            result.edition = latest
            result.probes = probes
            next = sskUriOf({ ...ref, name: editionName(ref.name, latest) })
          }
          break
        }
        default:
          throw new KeyError(`${shown} holds a ${SskType[doc.type]} record, not content`, 422)
      }
      path ??= next.path
      uri = next
    }
    return { ...result, chk: path === undefined ? { ...uri, path: undefined } : { ...uri, path }, trace }
  }

  /** WarrenClient's `resolve` component: any URI to the CHK it leads to. */
  readonly resolveToChk = async (uri: WarrenUri, options: KeyOptions = {}): Promise<ChkUri> => (await this.resolve(uri, options)).chk
}

function isUriContent (content: KeyContent): content is { uri: string } {
  return typeof (content as { uri?: unknown }).uri === 'string'
}

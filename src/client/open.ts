/**
 * Opening any content URI: reads the root block and dispatches on its envelope type: a
 * single DATA block, a plain manifest tree (src/client/assemble.ts), a FEC split file
 * (src/client/splitfile.ts) or a site (src/client/site.ts, resolving the URI's path).
 * The result gives size and MIME type up front and streams any byte range, which is what
 * the API, the gateway (Range requests) and the CLI need.
 */
import { MAX_REDIRECTS } from '../constants.js'
import { ChkType, decodeChk, verifyChkBlock } from '../keys/chk.js'
import { formatUri, parseUri } from '../keys/uri.js'
import { assembleFile } from './assemble.js'
import { decodeManifest } from './manifest.js'
import { ContentError, decodeSite, listSiteDir, resolveSitePath } from './site.js'
import { decodeSplitfile } from './splitfile.js'
import { readSplitfile } from './splitfile-read.js'
import type { ChkRef, DecodedChk } from '../keys/chk.js'
import type { ChkUri, WarrenUri } from '../keys/uri.js'
import type { SiteEntry } from './site.js'
import type { SplitfileReadOptions } from './splitfile-read.js'
import type { FetchBlock } from './types.js'
import type { AbortOptions } from '@libp2p/interface'

export interface ByteRange {
  /** First byte. */
  start: number
  /** One past the last byte. */
  end: number
}

export interface OpenedContent {
  size: number
  /** MIME type from the metadata or the site manifest; '' when unknown. */
  mime: string
  /** Set when the URI named a site: the site root URI and the resolved path. */
  site?: { uri: string, path: string }
  /** A site directory without an index file: its listing (the content is empty). */
  listing?: Array<{ name: string, dir: boolean, entry?: SiteEntry }>
  stream: (range?: ByteRange) => AsyncGenerator<Uint8Array, void, undefined>
}

/** Follow a non-CHK URI (SSK, KSK...) to the CHK URI it currently leads to (KeyClient.resolveToChk). */
export type ResolveUri = (uri: WarrenUri, options?: AbortOptions) => Promise<ChkUri>

export interface OpenOptions extends SplitfileReadOptions {
  resolve?: ResolveUri
}

const MAX_SITE_DEPTH = 4

async function fetchChk (ref: ChkRef, what: string, fetchBlock: FetchBlock, signal: AbortSignal): Promise<DecodedChk> {
  const block = await fetchBlock(ref.routingKey, { signal })
  if (!verifyChkBlock(ref.routingKey, block)) throw new ContentError(`${what} ${ref.routingKey.hex} failed verification`, 502)
  try {
    return decodeChk(block, ref.decryptKey)
  } catch (err) {
    throw new ContentError(`${what} ${ref.routingKey.hex}: ${(err as Error).message}`, 502)
  }
}

async function readAll (gen: AsyncGenerator<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let n = 0
  for await (const p of gen) {
    parts.push(p)
    n += p.length
  }
  const out = new Uint8Array(n)
  let off = 0
  for (const p of parts) {
    out.set(p, off)
    off += p.length
  }
  return out
}

function sliceStream (size: number, source: (signal?: AbortSignal) => AsyncGenerator<Uint8Array>, range?: ByteRange): AsyncGenerator<Uint8Array, void, undefined> {
  const start = range?.start ?? 0
  const end = range?.end ?? size
  return (async function * () {
    let pos = 0
    if (start >= end) return
    for await (const chunk of source()) {
      const a = Math.max(start - pos, 0)
      const b = Math.min(end - pos, chunk.length)
      if (b > a) yield chunk.subarray(a, b)
      pos += chunk.length
      if (pos >= end) return
    }
  })()
}

/** Open `uri` (any supported key, optionally with a path into a site). */
export async function openContent (uri: string | WarrenUri, fetchBlock: FetchBlock, options: OpenOptions = {}, depth = 0): Promise<OpenedContent> {
  let target: WarrenUri
  try {
    target = typeof uri === 'string' ? parseUri(uri) : uri
  } catch (err) {
    throw new ContentError((err as Error).message, 400)
  }
  let chkUri: ChkUri
  if (target.type === 'CHK') chkUri = target
  else if (options.resolve !== undefined) {
    // The URI's own path wins; else keep the one the signed key's redirect names.
    const resolved = await options.resolve(target, { signal: options.signal })
    chkUri = { ...resolved, path: target.path ?? resolved.path }
  }
  else throw new ContentError(`${(target as { type: string }).type} keys are not supported here`, 400)
  const signal = options.signal ?? new AbortController().signal
  const root = await fetchChk(chkUri, 'root block', fetchBlock, signal)
  const path = chkUri.path ?? ''
  if (root.type !== ChkType.SITE && root.type !== ChkType.REDIRECT && path !== '') {
    throw new ContentError(`"/${path}": this URI names a ${ChkType[root.type].toLowerCase()} block, not a site`, 404)
  }
  switch (root.type) {
    case ChkType.DATA: {
      const payload = root.payload
      return { size: payload.length, mime: '', stream: (range) => sliceStream(payload.length, async function * () { yield payload }, range) }
    }
    case ChkType.MANIFEST: {
      let size: number
      try {
        size = decodeManifest(root.payload).size
      } catch (err) {
        throw new ContentError(`root block: ${(err as Error).message}`, 502)
      }
      const plain: ChkUri = { type: 'CHK', routingKey: chkUri.routingKey, decryptKey: chkUri.decryptKey }
      return { size, mime: '', stream: (range) => sliceStream(size, () => assembleFile(plain, fetchBlock, options), range) }
    }
    case ChkType.SPLITFILE: {
      const readNested = async (ref: ChkRef): Promise<Uint8Array> => {
        const nested = await fetchChk(ref, 'layout block', fetchBlock, signal)
        if (nested.type !== ChkType.SPLITFILE) throw new ContentError('layout ref is not a split file', 502)
        const meta = await decodeSplitfile(nested.payload, readNested, 1)
        return await readAll(readSplitfile(meta, fetchBlock, options))
      }
      let meta
      try {
        meta = await decodeSplitfile(root.payload, readNested)
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== undefined) throw err
        throw new ContentError((err as Error).message, (err as Error).message.startsWith('malformed') ? 502 : 404)
      }
      return { size: meta.size, mime: meta.mime, stream: (range) => readSplitfile(meta, fetchBlock, { ...options, ...range }) }
    }
    case ChkType.SITE: {
      if (depth >= MAX_SITE_DEPTH) throw new ContentError('sites nested too deep', 508)
      const site = await decodeSite(root.payload, async (u) => await readAll((await openContent(u, fetchBlock, options, depth + 1)).stream()))
      const siteUri = formatUri({ type: 'CHK', routingKey: chkUri.routingKey, decryptKey: chkUri.decryptKey })
      const entry = resolveSitePath(site, path)
      if (entry === null) {
        const listing = listSiteDir(site, path)
        return { size: 0, mime: '', site: { uri: siteUri, path }, listing, stream: async function * () {} }
      }
      const inner = await openContent(entry.uri, fetchBlock, options, depth + 1)
      if (inner.site !== undefined) throw new ContentError(`site entry "${entry.path}" is itself a site`, 502)
      return { ...inner, mime: entry.mime !== '' ? entry.mime : inner.mime, site: { uri: siteUri, path: entry.path } }
    }
    case ChkType.REDIRECT: {
      if (depth >= MAX_REDIRECTS) throw new ContentError(`more than ${MAX_REDIRECTS} redirects`, 508)
      let next: WarrenUri
      try {
        next = parseUri(new TextDecoder('utf-8', { fatal: true }).decode(root.payload))
      } catch (err) {
        throw new ContentError(`malformed redirect: ${(err as Error).message}`, 502)
      }
      // A path on the redirect's own URI applies to where it leads.
      return await openContent(path === '' ? next : { ...next, path: next.path === undefined || next.path === '' ? path : `${next.path}/${path}` }, fetchBlock, options, depth + 1)
    }
    default:
      throw new ContentError(`root block is a ${ChkType[root.type]} block, not content`, 502)
  }
}

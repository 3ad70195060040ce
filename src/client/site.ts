/**
 * Sites: a manifest mapping relative paths to file URIs (format: proto/site.proto), so a
 * directory can be published under one URI and its pages can link to each other with
 * relative links. `warren:CHK@<site>/docs/a.html` names the file the manifest lists as
 * "docs/a.html"; the site root and directory paths serve the directory's index file.
 */
import { closest, distance } from 'fastest-levenshtein'
import { SiteManifest } from '../../proto/site.js'
import { ChkType, CHK_MAX_PAYLOAD, encodeChk } from '../keys/chk.js'
import { formatUri, parseUri } from '../keys/uri.js'
import { splitfileBlocks } from './splitfile.js'
import type { ChkRef } from '../keys/chk.js'
import type { SplitBlock } from './types.js'
import type { SiteEntry } from '../../proto/site.js'

export type { SiteEntry }

export const DEFAULT_INDEX = 'index.html'
const SITE_MIME = 'application/x-warren-site'
/** Room for the manifest's own framing when deciding whether it fits one block. */
const SITE_BLOCK_BUDGET = CHK_MAX_PAYLOAD - 64

/** An error that maps to an HTTP status (the API and gateway use `statusCode`). */
export class ContentError extends Error {
  constructor (message: string, readonly statusCode: number) {
    super(message)
    this.name = 'ContentError'
  }
}

/**
 * Canonical form of a path inside a site: "/"-separated, no leading slash, no empty, "." or
 * ".." segments, no backslashes or control characters. Throws on anything else.
 */
export function normalizeSitePath (path: string): string {
  const parts = path.split('/').filter((p) => p !== '')
  for (const p of parts) {
    // eslint-disable-next-line no-control-regex
    if (p === '.' || p === '..' || p.includes('\\') || /[\u0000-\u001f]/.test(p)) {
      throw new ContentError(`invalid site path "${path}": no ".", ".." or control characters allowed`, 400)
    }
  }
  return parts.join('/')
}

/** Build the blocks of a site manifest; returns the ref of the SITE block (yielded last). */
export async function * siteBlocks (entries: SiteEntry[], index = DEFAULT_INDEX): AsyncGenerator<SplitBlock, ChkRef, undefined> {
  if (entries.length === 0) throw new ContentError('a site needs at least one file', 400)
  const seen = new Set<string>()
  const clean = entries.map((e) => {
    const path = normalizeSitePath(e.path)
    if (path === '') throw new ContentError('a site entry needs a file path', 400)
    if (seen.has(path)) throw new ContentError(`duplicate site path "${path}"`, 400)
    seen.add(path)
    parseUri(e.uri)
    return { path, uri: e.uri.trim(), mime: e.mime, size: e.size }
  }).sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
  let payload = SiteManifest.encode({ entries: clean, index: normalizeSitePath(index) })
  if (payload.length > SITE_BLOCK_BUDGET) {
    const nested = yield * splitfileBlocks([payload], { mime: SITE_MIME })
    payload = SiteManifest.encode({ entries: [], index: normalizeSitePath(index), continuation: formatUri({ type: 'CHK', ...nested }) })
  }
  const root = encodeChk(ChkType.SITE, payload)
  yield { routingKey: root.routingKey, block: root.block }
  return { routingKey: root.routingKey, decryptKey: root.decryptKey }
}

export interface Site {
  entries: Map<string, SiteEntry>
  index: string
}

/** Parse a SITE payload; `readFile` fetches a continuation (the whole manifest). */
export async function decodeSite (payload: Uint8Array, readFile: (uri: string) => Promise<Uint8Array>): Promise<Site> {
  let m: SiteManifest
  try {
    m = SiteManifest.decode(payload)
    if (m.continuation !== undefined) m = SiteManifest.decode(await readFile(m.continuation))
  } catch (err) {
    if (err instanceof ContentError) throw err
    throw new ContentError(`malformed site manifest: ${(err as Error).message}`, 502)
  }
  const entries = new Map<string, SiteEntry>()
  for (const e of m.entries) entries.set(e.path, e)
  return { entries, index: m.index === '' ? DEFAULT_INDEX : m.index }
}

/**
 * The entry a path names: the file itself, else the index file of that directory.
 * `null` for a path that is a directory without an index (the gateway lists it).
 */
export function resolveSitePath (site: Site, rawPath: string): SiteEntry | null {
  const path = normalizeSitePath(rawPath)
  const direct = site.entries.get(path)
  if (direct !== undefined) return direct
  const index = site.entries.get(path === '' ? site.index : `${path}/${site.index}`)
  if (index !== undefined) return index
  const prefix = path === '' ? '' : `${path}/`
  for (const p of site.entries.keys()) if (p.startsWith(prefix)) return null
  const suggestion = nearestSitePath(site, path)
  throw Object.assign(new ContentError(`no file "${path}" in this site${suggestion === undefined ? '' : `; did you mean "${suggestion}"?`}`, 404), { suggestion })
}

/**
 * The site path a mistyped one most likely meant (the gateway's 404 links it): the same path in
 * another letter case, else the path fewest edits away (at most a third of its length), else the
 * only file with the same name in another folder.
 */
export function nearestSitePath (site: Site, path: string): string | undefined {
  const paths = [...site.entries.keys()]
  const lower = path.toLowerCase()
  const sameCase = paths.find((p) => p.toLowerCase() === lower)
  if (sameCase !== undefined) return sameCase
  const near = closest(path, paths)
  if (near !== undefined && distance(path, near) <= Math.max(1, Math.floor(path.length / 3))) return near
  const name = lower.split('/').at(-1)
  const sameName = paths.filter((p) => p.toLowerCase().split('/').at(-1) === name)
  return sameName.length === 1 ? sameName[0] : undefined
}

/** Entries directly below a directory path (for a listing page). */
export function listSiteDir (site: Site, rawPath: string): Array<{ name: string, dir: boolean, entry?: SiteEntry }> {
  const path = normalizeSitePath(rawPath)
  const prefix = path === '' ? '' : `${path}/`
  const out = new Map<string, { name: string, dir: boolean, entry?: SiteEntry }>()
  for (const [p, e] of site.entries) {
    if (!p.startsWith(prefix)) continue
    const rest = p.slice(prefix.length)
    const slash = rest.indexOf('/')
    if (slash < 0) out.set(rest, { name: rest, dir: false, entry: e })
    else out.set(rest.slice(0, slash), { name: rest.slice(0, slash), dir: true })
  }
  return [...out.values()].sort((a, b) => a.name < b.name ? -1 : 1)
}

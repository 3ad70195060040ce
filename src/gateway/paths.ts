/**
 * Gateway paths as people type and share them, the way fred's fproxy takes its URIs:
 *
 *  - a single slash into a site under a signed key: `/SSK@k/blog/about.html` means the document
 *    `blog` and the site path `about.html`, as `/SSK@k/blog//about.html` does (the "//" form stays
 *    the unambiguous one: src/keys/ssk-uri.ts);
 *  - an updatable document (editions, date-based slots) is looked up anew on every visit and
 *    answered with an uncacheable redirect to the version it currently leads to
 *    (`/SSK@k/blog/3//about.html`), which never changes and so may be cached, like fred's
 *    redirect of a USK to its current edition;
 *  - a file name after a plain file's CHK (`/CHK@…/report.pdf`) names the download and gives its
 *    MIME type.
 */
import { NotFoundError } from '../protocol/errors.js'
import type { KeyClient } from '../client/key-client.js'

export interface SignedLocation {
  /** The signed document that holds the content, without `warren:` (an edition's own document for an updatable one). */
  doc: string
  /** Path inside the content ('' for none). */
  path: string
  /** The requested document is updatable: what it leads to changes over time. */
  mutable: boolean
}

/** The ways to split `<keys>/<a>/<b>/<c>` into a document name and a site path, whole name first. */
export function signedCandidates (type: 'SSK' | 'KSK', afterAt: string): Array<{ name: string, path: string }> {
  const sep = afterAt.indexOf('//')
  if (sep >= 0) return [{ name: afterAt.slice(0, sep), path: afterAt.slice(sep + 2) }]
  const parts = afterAt.split('/')
  const out = [{ name: afterAt, path: '' }]
  // An SSK's name starts after its keys; a KSK's keyword is at least its first segment.
  for (let i = type === 'SSK' ? 2 : 1; i < parts.length; i++) out.push({ name: parts.slice(0, i).join('/'), path: parts.slice(i).join('/') })
  return out
}

/**
 * Find the signed document a gateway path names (trying each split, the whole name first) and
 * whether it is updatable. Throws the NotFoundError of the whole name when no split exists.
 */
export async function locateSigned (keys: Pick<KeyClient, 'resolve'>, type: 'SSK' | 'KSK', afterAt: string, options: { htl?: number, signal?: AbortSignal }): Promise<SignedLocation> {
  let first: unknown
  for (const c of signedCandidates(type, afterAt)) {
    try {
      const r = await keys.resolve(`warren:${type}@${c.name}${c.path === '' ? '' : `//${c.path}`}`, options)
      const [head, next] = r.trace.map((t) => t.replace(/^warren:/, ''))
      // An updatable document leads first to a version below its own name (name/3, name/<date>).
      const mutable = next !== undefined && next.startsWith(`${head}/`)
      return { doc: mutable ? next : head, path: c.path, mutable }
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err
      first ??= err
    }
  }
  throw first
}

/** A gateway path for a signed document and a path inside it, each segment percent-encoded. */
export function signedGatewayPath (doc: string, path: string, keepSeparator: boolean): string {
  const at = doc.indexOf('@')
  const enc = (s: string): string => s.split('/').map(encodeURIComponent).join('/')
  const head = `${doc.slice(0, at + 1)}${doc.slice(at + 1).split('/').map((s, i) => i === 0 ? s : encodeURIComponent(s)).join('/')}`
  return `/${head}${path !== '' || keepSeparator ? `//${enc(path)}` : ''}`
}

/** The file name a path ends with ('' for none), percent-escapes decoded where valid. */
export function fileNameOf (path: string): string {
  const last = path.split('/').filter((s) => s !== '').at(-1) ?? ''
  try {
    return decodeURIComponent(last)
  } catch {
    return last
  }
}

/** A Content-Disposition value naming `name` (RFC 6266: an ASCII fallback and the UTF-8 form). */
export function contentDisposition (kind: 'inline' | 'attachment', name: string): string {
  if (name === '') return kind
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_')
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`
}

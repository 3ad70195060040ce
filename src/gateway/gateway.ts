/**
 * The HTTP gateway (the seeds' fproxy) on the client API's fastify server:
 *
 *   GET  /                          home page: fetch a key, upload a file or a folder
 *   GET  /?key=URI                  redirect to the key's gateway path
 *   GET  /CHK@.../path              content, streamed, with Content-Type and Range support
 *        (also /warren:CHK@... and any key type the client resolves)
 *   POST /fetch, POST /keygen       the home page's fetch form (typed keys stay out of URLs), a new SSK
 *   GET  /node                      node page: own addresses, add a peer, peers, key spread, store, requests
 *   GET  /transfers, /bookmarks     this node's uploads and downloads; bookmarks with their newest edition
 *   POST /bookmarks                 add (uri, title) or remove (uri, remove=1) a bookmark
 *   GET  /settings, POST /settings   the node's settings in its config.json (src/gateway/settings.ts)
 *   GET  /_/...                     the pages' script and style; /_/external: link warning
 *   GET  /api/v1/stats/recent       recent request success rate and hops (JSON)
 *   POST /api/v1/site[?ssk=|ksk=|update=]  {entries:[{path,uri,mime?,size?}], index?} -> {uri}
 *
 * Content is served under the rules of src/gateway/security.ts (docs/gateway.md). Every
 * request must name a loopback Host (DNS rebinding), and state-changing requests must come
 * from the gateway's own origin (cross-site request forgery).
 */
import { Readable } from 'node:stream'
import { serveContent, statusOf } from './content.js'
import { MAX_SITE_JSON_BYTES } from '../constants.js'
import { mimeFor } from '../client/site-mime.js'
import { ContentError } from '../client/site.js'
import { ParamError, parseHtl, parseSignedTarget, withTargetHeaders } from '../util/params.js'
import { keygen } from '../client/key-client.js'
import { parseUri, formatUri } from '../keys/uri.js'
import { sskUriOf } from '../keys/ssk-uri.js'
import { BOOKMARKS_JS, HOME_JS, NODE_JS, STYLE_CSS, TRANSFERS_JS } from './assets.js'
import { bookmarksPage, confirmFetchPage, settingsPage, errorPage, externalLinkPage, homePage, keygenPage, nodePage, transfersPage } from './pages.js'
import type { Bookmarks } from './bookmarks.js'
import type { TransferLog } from './transfers.js'
import { foreignNavigation, pageHeaders } from './security.js'
import { RecentRequests } from './stats.js'
import { readSettings, saveSettings, SETTINGS } from './settings.js'
import type { WarrenConfig } from '../config.js'
import { locateSigned, signedGatewayPath } from './paths.js'
import { viaClients } from './via.js'
import type { WarrenClient, WarrenClientEvents } from '../client/client.js'
import type { KeyClient } from '../client/key-client.js'
import type { SiteEntry } from '../client/site.js'
import type { TunnelService } from '../tunnel/service.js'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** What the gateway needs of a node (WarrenNode satisfies it). */
export interface GatewayNode {
  readonly client: WarrenClient
  readonly keys: KeyClient
  /** Tunnels to trusted peers (the `via` option); absent: the gateway fetches directly only. */
  readonly tunnels?: TunnelService
  /** Lifetime counters of this node's own inserts (the node page shows them). */
  status: () => { counters: { local: { inserts: { success: number, collision: number, failure: number } } } }
}

/** Key types a gateway path may start with (`/CHK@...`, `/warren:SSK@...`). */
const KEY_PATH = /^\/(?:warren:)?([A-Za-z]{3})@([^/?#]*)(\/[^?#]*)?/

export interface GatewayOptions {
  /** Accept any Host header (the API was deliberately bound to a non-loopback address). */
  allowRemote?: boolean
  /** Where uploads and downloads are listed (the /transfers page). */
  transfers?: TransferLog
  /** The /bookmarks page's list. */
  bookmarks?: Bookmarks
  /** The node's data dir (its config.json is what /settings shows and changes) and the config it runs with. */
  settings?: { dataDir: string, running?: Partial<WarrenConfig> }
  /**
   * Fetch every key path, and check the bookmarks' editions, through this trusted peer (config
   * gatewayVia, the /settings page): the node's neighbours see only sealed tunnel traffic
   * (src/gateway/via.ts).
   */
  via?: string
}

function isLoopbackHost (host: string | undefined): boolean {
  if (host === undefined) return false
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '')
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name)
}

function wantsHtml (req: FastifyRequest): boolean {
  return (req.headers.accept ?? '').includes('text/html')
}

/** A small request body as text (at most `limit` bytes: 413 beyond). */
export async function readBody (body: unknown, limit: number): Promise<string> {
  if (!(body instanceof Readable)) return typeof body === 'string' ? body : ''
  const parts: Buffer[] = []
  let n = 0
  for await (const chunk of body) {
    n += (chunk as Buffer).length
    if (n > limit) throw new ContentError(`request body over ${limit} bytes`, 413)
    parts.push(chunk as Buffer)
  }
  return Buffer.concat(parts).toString('utf8')
}

/** A small JSON object request body (`shape` says what was expected, for the 400's message). */
export async function readJsonBody (body: unknown, limit: number, shape: string): Promise<Record<string, unknown>> {
  const text = await readBody(body, limit)
  let value: unknown
  try {
    value = JSON.parse(text === '' ? '{}' : text)
  } catch (err) {
    throw new ContentError(`the body must be JSON ${shape}: ${(err as Error).message}`, 400)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ContentError(`the body must be a JSON object ${shape}`, 400)
  return value as Record<string, unknown>
}

function decodeURIComponentSafe (s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

/** A link to the site path a 404 suggests (src/client/site.ts nearestSitePath), on the requested path's key. */
function suggestionLink (requested: string, err: unknown): { href: string, text: string } | undefined {
  const suggestion = (err as { suggestion?: unknown }).suggestion
  const missing = /no file "([^"]*)" in this site/.exec((err as Error).message)?.[1]
  if (typeof suggestion !== 'string' || missing === undefined) return undefined
  const encode = (p: string): string => p.split('/').map(encodeURIComponent).join('/')
  let decoded: string
  try {
    decoded = decodeURIComponent(requested)
  } catch {
    return undefined
  }
  if (!decoded.endsWith(missing)) return undefined
  const prefix = requested.slice(0, requested.length - encode(missing).length)
  return requested.endsWith(encode(missing)) ? { href: prefix + encode(suggestion), text: suggestion } : undefined
}

/**
 * The gateway path of what someone typed into the fetch form: a warren URI with or without
 * `warren:`, or a link copied from a gateway (`http://127.0.0.1:7480/CHK@…`). Only ever a key path
 * on this gateway, never "//host" or "/\\host". An insert URI is refused, naming the request URI
 * to use instead.
 */
export function keyPath (typed: string): string {
  // A control character cannot be part of a key, and would make the redirect's Location header invalid.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(typed.trim())) throw new ContentError('a key has no control characters (tabs, line breaks, ...): paste the URI again, on one line', 400)
  let k = typed.trim()
  const link = /^https?:\/\/[^/]*(\/.*)$/i.exec(k)
  if (link !== null) {
    try {
      k = decodeURIComponent(link[1].slice(1).split(/[?#]/)[0])
    } catch {
      k = link[1].slice(1)
    }
  }
  k = k.replace(/^warren:/i, '')
  if (/^SSK-INSERT@/i.test(k)) {
    let request = ''
    try {
      const u = parseUri(k)
      if (u.type === 'SSK-INSERT') request = ` Its request URI, which is safe to share and fetch, is ${formatUri({ ...sskUriOf(u), path: u.path })}`
    } catch {}
    throw new ContentError(`that is an insert URI (SSK-INSERT@…): it is secret, whoever has it can publish under this key; use it only in the "Publish under a key" form and never share it.${request}`, 400)
  }
  if (!/^(CHK|SSK|KSK)@[^/\\]/i.test(k)) throw new ContentError(`"${k.slice(0, 80)}" is not a warren key: paste a URI such as warren:CHK@…, warren:SSK@…/name or warren:KSK@word, or a link to one on a gateway`, 400)
  // The key part as typed, but with anything outside printable ASCII percent-encoded (a Location header carries it).
  return '/' + k.split('/').map((p, i) => i === 0 ? p.replace(/[^\x21-\x7e]/g, encodeURIComponent) : encodeURIComponent(p)).join('/')
}

/**
 * For a key another site sent the browser to, answer with the confirmation page (or, into a
 * frame, a 403: the page could not be shown there anyway) and say true; false when the
 * navigation is the reader's own.
 */
async function askedForeign (req: FastifyRequest, reply: FastifyReply, path: string, key: string): Promise<boolean> {
  const foreign = foreignNavigation(req.headers)
  if (foreign === undefined) return false
  if (foreign.framed) await refuse(req, reply, `a page on ${foreign.from} tried to load ${key} in a frame: refused. Open it yourself if you want it.`)
  else await pageHeaders(reply).type('text/html; charset=utf-8').send(confirmFetchPage(path, key, foreign.from))
  return true
}

/** A 403: a page for a browser, JSON for everything else. */
async function refuse (req: FastifyRequest, reply: FastifyReply, message: string): Promise<FastifyReply> {
  if (wantsHtml(req)) return await pageHeaders(reply).code(403).type('text/html; charset=utf-8').send(errorPage(403, message))
  return await reply.code(403).type('application/json').send({ error: message, statusCode: 403 })
}

/** Register the gateway's routes and request checks on the API server. */
export function registerGateway (app: FastifyInstance, node: GatewayNode, options: GatewayOptions = {}): void {
  const recent = new RecentRequests()
  const via = options.via === undefined ? undefined : viaClients(node, options.via)
  // Signed-key lookups and edition checks: on the trusted peer's blocks when there is one.
  const keys = (): Pick<KeyClient, 'resolve'> => via?.().keys ?? node.keys
  const onProgress = (evt: WarrenClientEvents['progress']): void => {
    if (evt.detail.type === 'warren:file:block') recent.record(evt.detail.detail.ok, evt.detail.detail.hops)
  }
  node.client.addEventListener('progress', onProgress)
  app.addHook('onClose', async () => { node.client.removeEventListener('progress', onProgress) })

  app.addHook('onRequest', async (req, reply) => {
    if (options.allowRemote !== true && !isLoopbackHost(req.headers.host)) {
      return await refuse(req, reply, `refusing request for host "${req.headers.host ?? ''}": the gateway answers loopback names only (DNS rebinding protection)`)
    }
    // Every parameter of the API and the gateway is single-valued: `?key=a&key=b` would reach
    // the handlers as an array (the fuzz campaign's 500s), so it is refused here, once for all.
    const repeated = Object.entries(req.query as Record<string, unknown>).find(([, v]) => Array.isArray(v))
    if (repeated !== undefined) throw new ParamError(`the parameter "${repeated[0]}" is given ${(repeated[1] as unknown[]).length} times: give it once`)
    const site = req.headers['sec-fetch-site']
    const origin = req.headers.origin
    const unsafe = req.method !== 'GET' && req.method !== 'HEAD'
    // A form posted from the gateway's own pages says "Origin: null" (their Referrer-Policy is
    // no-referrer); the browser's Sec-Fetch-Site, which no page can set, vouches for it.
    const foreignOrigin = origin !== undefined && (origin === 'null' ? site !== 'same-origin' : origin.replace(/^https?:\/\//, '') !== req.headers.host)
    const crossSite = site === 'cross-site' || site === 'same-site'
    if ((unsafe && (foreignOrigin || crossSite)) || (crossSite && req.headers['sec-fetch-mode'] !== 'navigate')) {
      return await refuse(req, reply, 'cross-origin requests to the node are refused')
    }
  })

  const asset = (path: string, type: string, body: string): void => {
    app.get(path, async (_req, reply) => await pageHeaders(reply).header('cache-control', 'no-cache').type(type).send(body))
  }
  asset('/_/style.css', 'text/css; charset=utf-8', STYLE_CSS)
  asset('/_/home.js', 'text/javascript; charset=utf-8', HOME_JS)
  asset('/_/node.js', 'text/javascript; charset=utf-8', NODE_JS)
  asset('/_/transfers.js', 'text/javascript; charset=utf-8', TRANSFERS_JS)
  asset('/_/bookmarks.js', 'text/javascript; charset=utf-8', BOOKMARKS_JS)

  app.get('/', async (req, reply) => {
    const key = (req.query as Record<string, string | undefined>).key?.trim()
    if (key !== undefined && key !== '') {
      const path = keyPath(key)
      if (await askedForeign(req, reply, path, key)) return reply
      return await reply.redirect(path, 303)
    }
    return await pageHeaders(reply).type('text/html; charset=utf-8').send(homePage())
  })
  // The home page's fetch form posts here, so what was typed (perhaps a secret insert URI by
  // mistake) never enters the address bar or the history.
  app.post('/fetch', async (req, reply) => {
    const key = new URLSearchParams(await readBody(req.body, 64 * 1024)).get('key') ?? ''
    return await reply.redirect(keyPath(key), 303)
  })
  app.post('/keygen', async (_req, reply) => await pageHeaders(reply).type('text/html; charset=utf-8').send(keygenPage(keygen())))
  app.get('/node', async (_req, reply) => await pageHeaders(reply).type('text/html; charset=utf-8').send(nodePage()))
  app.get('/transfers', async (_req, reply) => await pageHeaders(reply).type('text/html; charset=utf-8').send(transfersPage()))
  app.get('/api/v1/transfers', async () => options.transfers?.list() ?? [])
  app.get('/bookmarks', async (_req, reply) => await pageHeaders(reply).type('text/html; charset=utf-8').send(bookmarksPage()))
  // Each bookmark with what it leads to now: the newest edition of an updatable site.
  app.get('/api/v1/bookmarks', async () => await Promise.all((options.bookmarks?.list() ?? []).map(async (b) => {
    try {
      const r = await keys().resolve(b.uri, { signal: AbortSignal.timeout(20_000) })
      return { ...b, path: keyPath(b.uri), edition: r.edition, current: formatUri(r.chk) }
    } catch (err) {
      return { ...b, path: keyPath(b.uri), error: (err as Error).message }
    }
  })))
  app.post('/bookmarks', async (req, reply) => {
    const form = new URLSearchParams(await readBody(req.body, 64 * 1024))
    const typed = form.get('uri') ?? ''
    // The same checks as the fetch form (an insert URI is refused); stored as a warren: URI.
    const uri = 'warren:' + decodeURIComponent(keyPath(typed).slice(1))
    if (form.get('remove') === '1') await options.bookmarks?.remove(uri)
    else await options.bookmarks?.add(uri, (form.get('title') ?? '').trim())
    return await reply.redirect('/bookmarks', 303)
  })
  app.get('/settings', async (_req, reply) => {
    if (options.settings === undefined) throw new ContentError('this node has no data dir: there are no settings to change', 404)
    const view = await readSettings(options.settings.dataDir, options.settings.running)
    return await pageHeaders(reply).type('text/html; charset=utf-8').send(settingsPage(SETTINGS, view))
  })
  app.post('/settings', async (req, reply) => {
    if (options.settings === undefined) throw new ContentError('this node has no data dir: there are no settings to change', 404)
    const { dataDir, running } = options.settings
    const form = new URLSearchParams(await readBody(req.body, 64 * 1024))
    let saved: string[]
    try {
      saved = await saveSettings(dataDir, form)
    } catch (err) {
      if (!(err instanceof ParamError)) throw err
      // Refused: nothing written; the form comes back with what was typed and the reason.
      return await pageHeaders(reply).code(400).type('text/html; charset=utf-8').send(settingsPage(SETTINGS, await readSettings(dataDir, running), { error: err.message, typed: form }))
    }
    return await pageHeaders(reply).type('text/html; charset=utf-8').send(settingsPage(SETTINGS, await readSettings(dataDir, running), { saved }))
  })
  app.get('/_/external', async (req, reply) => {
    const url = (req.query as Record<string, string | undefined>).url ?? ''
    return await pageHeaders(reply).type('text/html; charset=utf-8').send(externalLinkPage(url))
  })
  app.get('/favicon.ico', async (_req, reply) => await reply.code(204).send())

  app.get('/api/v1/stats/recent', async () => {
    const { success, collision, failure } = node.status().counters.local.inserts
    return { ...recent.summary(), inserts: { success, collision, failure } }
  })

  app.post('/api/v1/site', async (req) => {
    const q = req.query as Record<string, string | undefined>
    const htl = parseHtl(q.htl)
    const signed = parseSignedTarget(withTargetHeaders(q, req.headers))
    const body = await readJsonBody(req.body, MAX_SITE_JSON_BYTES, '{"entries":[{"path","uri","mime","size"}],"index"}')
    if (!Array.isArray(body.entries)) throw new ContentError('"entries" must be an array of {path, uri, mime, size}', 400)
    const entries: SiteEntry[] = body.entries.map((e: Record<string, unknown>, i: number) => {
      if (typeof e?.path !== 'string' || typeof e?.uri !== 'string') throw new ContentError(`entry ${i} needs string "path" and "uri"`, 400)
      const mime = typeof e.mime === 'string' && e.mime !== '' ? e.mime : mimeFor(e.path)
      return { path: e.path, uri: e.uri, mime, size: typeof e.size === 'number' && Number.isSafeInteger(e.size) && e.size >= 0 ? e.size : 0 }
    })
    const index = typeof body.index === 'string' && body.index !== '' ? body.index : undefined
    const record = options.transfers?.start('upload', `site of ${entries.length} files`, entries.reduce((n, e) => n + e.size, 0))
    try {
      const site = await node.client.putSite(entries, { index, htl })
      // ?ssk=, ?ksk=, ?update=: the signed key points at the site just inserted.
      const out = signed === undefined ? site : { ...await node.keys.publish({ uri: site.uri }, signed, { htl }), site: site.uri, blocks: site.blocks }
      record?.done(out.uri)
      return out
    } catch (err) {
      record?.fail(err)
      throw err
    }
  })

  // Everything else: a key path, or a JSON 404 for the API, or an HTML 404.
  app.get('/*', async (req, reply) => {
    const path = req.url.split('?')[0]
    if (path.startsWith('/api/')) {
      return await reply.code(404).type('application/json').send({ error: `no such endpoint: ${req.method} ${path}`, statusCode: 404 })
    }
    const m = KEY_PATH.exec(path)
    try {
      if (m === null) throw new ContentError(`"${path}" is not a key: paths look like /CHK@<routing key>,<decryption key>[/file]`, 404)
      // Nothing is fetched for another site's link or frame until the reader says so.
      if (await askedForeign(req, reply, req.url, decodeURIComponentSafe(path.slice(1)))) return reply
      let rest: string
      try {
        rest = decodeURIComponent(m[3] ?? '')
      } catch {
        throw new ContentError('malformed percent-encoding in the path', 400)
      }
      const type = m[1].toUpperCase()
      if (type === 'SSK' || type === 'KSK') {
        // Single-slash site paths and updatable documents: src/gateway/paths.ts.
        let afterAt: string
        try {
          afterAt = decodeURIComponent(m[2]) + rest
        } catch {
          throw new ContentError('malformed percent-encoding in the path', 400)
        }
        const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : ''
        const loc = await locateSigned(keys(), type, afterAt, { htl: parseHtl((req.query as Record<string, string | undefined>).htl) })
        const canonical = signedGatewayPath(loc.doc, loc.path, afterAt.includes('//'))
        if (decodeURIComponent(canonical) !== `/${type}@${afterAt}`) {
          // An updatable document's answer changes with each new version: never cache it.
          if (loc.mutable) return await reply.header('cache-control', 'no-store').redirect(canonical + query, 302)
          return await reply.redirect(canonical + query, 301)
        }
      }
      const key = `${type}@${m[2]}`
      const uri = `warren:${key}${rest === '' || rest === '/' ? '' : rest}`
      return await serveContent(node, req, reply, uri, { key, rest: m[3] ?? '' }, options.transfers, via?.())
    } catch (err) {
      if (reply.sent) throw err
      const status = statusOf(err)
      const message = (err as Error).message
      if (!wantsHtml(req)) throw Object.assign(err as Error, { statusCode: status })
      return await pageHeaders(reply).code(status).type('text/html; charset=utf-8').send(errorPage(status, message, suggestionLink(path, err)))
    }
  })
}

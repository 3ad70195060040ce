/**
 * The local client API: HTTP + JSON on a loopback address (fastify). `warren put/get/peers/
 * status` talk to it; so can scripts (curl). See README "Client API".
 *
 *   GET  /api/v1/status            node status (peers, routing table, store, counters)
 *   GET  /api/v1/peers             connected peers
 *   GET  /metrics                  Prometheus text format (libp2p's and warren's metrics, src/metrics.ts)
 *   POST /api/v1/put[?htl=N&name=F&mime=T]  body: the file (streamed) -> { uri, namedUri (with name=), size, blocks, ... }
 *        (with Accept: application/x-ndjson: {type:'warren:insert:block',detail:{blocks,bytes}} lines
 *        as blocks are inserted, {type:'warren:insert:wait',detail:{ms}} when a peer refused one as
 *        overloaded, then {type:'result',result} or {type:'error',error,statusCode})
 *   GET  /api/v1/get?uri=URI       the file (streamed, Range supported), or a JSON error
 *   POST /api/v1/redirect?target=URI  a CHK that redirects to URI -> { uri, target }
 *   POST /api/v1/site, GET /api/v1/stats/recent and the HTTP gateway: src/gateway/gateway.ts
 *   POST /api/v1/put?ssk=|ksk=|update=, GET /api/v1/keygen, GET /api/v1/resolve: src/api/keys-routes.ts
 *
 * Errors are JSON `{ error, statusCode }` with a message that says what to do.
 */
import Fastify from 'fastify'
import { Readable } from 'node:stream'
import { isLoopback } from '../config.js'
import { parseUri } from '../keys/uri.js'
import { NotFoundError } from '../protocol/errors.js'
import { mimeFor } from '../client/site-mime.js'
import { readJsonBody, registerGateway } from '../gateway/gateway.js'
import { serveContent, statusOf } from '../gateway/content.js'
import { parseHtl, parseSignedTarget, withTargetHeaders } from '../util/params.js'
import { multiaddr } from '@multiformats/multiaddr'
import { errorPage } from '../gateway/pages.js'
import { pageHeaders } from '../gateway/security.js'
import { closeGently } from './client-error.js'
import { registerKeyRoutes } from './keys-routes.js'
import { registerTunnelRoutes, tunnelGet, tunnelPut } from './tunnel-routes.js'
import type { TunnelRoutesNode } from './tunnel-routes.js'
import { TransferLog } from '../gateway/transfers.js'
import { Bookmarks } from '../gateway/bookmarks.js'
import type { ClientOptions } from '../client/types.js'
import type { GatewayNode } from '../gateway/gateway.js'
import type { KeyRoutesNode } from './keys-routes.js'
import type { Libp2p } from '@libp2p/interface'
import type { FastifyInstance } from 'fastify'
import type { WarrenConfig } from '../config.js'

/** What the API needs of a node (WarrenNode satisfies it). */
export interface ApiNode extends GatewayNode, KeyRoutesNode, TunnelRoutesNode {
  /** dataDir: where the list of uploads and downloads is kept (none: in memory only). */
  readonly config: { apiAllowRemote: boolean, dataDir?: string } & Partial<WarrenConfig>
  readonly libp2p: Pick<Libp2p, 'getConnections' | 'dial'>
  status: () => ReturnType<GatewayNode['status']>
  /** Prometheus metrics (src/metrics.ts); absent when the node runs without them. */
  readonly metrics?: { contentType: string, text: () => Promise<string> }
}

export interface ApiServerOptions {
  host: string
  port: number
  allowRemote?: boolean
}

/** Media type of a streamed put: progress lines, then the result (`Accept: application/x-ndjson`). */
export const NDJSON = 'application/x-ndjson'

export class HttpError extends Error {
  constructor (readonly statusCode: number, message: string) {
    super(message)
  }
}

function toJson (value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v) => typeof v === 'bigint' ? v.toString() : v))
}

/**
 * A file's CHK with its name after it (`CHK@…/report.pdf`, as fred writes them): the gateway and
 * `warren get` use the name for the download and its type. `uri` stays the bare CHK (what a
 * site manifest refers to); `namedUri` is the one to share.
 */
function withName<T extends { uri: string }> (result: T, name: string | undefined): T & { namedUri?: string } {
  const base = name?.split('/').filter((p) => p !== '').at(-1)
  return base === undefined ? result : { ...result, namedUri: `${result.uri}/${encodeURIComponent(base)}` }
}

export async function createApiServer (node: ApiNode): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: Number.MAX_SAFE_INTEGER, clientErrorHandler: closeGently })
  const transfers = await TransferLog.open(node.config.dataDir)
  app.addHook('onClose', async () => { await transfers.save() })
  // Uploads are streamed straight into the splitter: never buffered whole.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req, payload, done) => { done(null, payload) })

  // A browser landing on an error gets a page; scripts and the CLI get JSON.
  const browser = (req: { url: string, headers: Record<string, unknown> }): boolean => !req.url.startsWith('/api/') && (typeof req.headers.accept === 'string' ? req.headers.accept : '').includes('text/html')
  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    let status = err.statusCode ?? 500
    if (err instanceof NotFoundError) status = 404
    if (browser(req)) return void pageHeaders(reply).status(status).type('text/html; charset=utf-8').send(errorPage(status, err.message))
    void reply.status(status).type('application/json').send({ error: err.message, statusCode: status })
  })
  app.setNotFoundHandler((req, reply) => {
    const message = `no such page: ${req.method} ${req.url}`
    if (browser(req)) return void pageHeaders(reply).status(404).type('text/html; charset=utf-8').send(errorPage(404, message))
    void reply.status(404).send({ error: `no such endpoint: ${req.method} ${req.url}`, statusCode: 404 })
  })

  app.get('/api/v1/status', async () => toJson(node.status()))

  // Prometheus scrape target (docs/deploy.md, "Metrics"): libp2p's metrics and warren's.
  app.get('/metrics', async (_req, reply) => {
    if (node.metrics === undefined) throw new HttpError(404, 'this node runs without metrics (it was built with metrics: false): /metrics has nothing to serve')
    return await reply.type(node.metrics.contentType).send(await node.metrics.text())
  })

  app.get('/api/v1/peers', async () => {
    return node.libp2p.getConnections().map((c) => ({
      peerId: c.remotePeer.toString(),
      address: c.remoteAddr.toString(),
      direction: c.direction,
      since: c.timeline.open
    }))
  })

  // The node page's add-peer form: dial a multiaddr with /p2p/<peer ID>.
  app.post('/api/v1/peers', async (req) => {
    const body = await readJsonBody(req.body, 4096, '{"address": "/ip4/…/tcp/…/p2p/…"}')
    const text = typeof body.address === 'string' ? body.address.trim() : ''
    let addr
    try {
      addr = multiaddr(text)
    } catch (err: any) {
      throw new HttpError(400, `"${text}" is not a multiaddr (expected /ip4/<address>/tcp/<port>/p2p/<peer ID>): ${err.message}`)
    }
    if (addr.getComponents().find((c) => c.name === 'p2p') === undefined) throw new HttpError(400, `"${text}" has no /p2p/<peer ID>: copy the whole address the other node prints`)
    try {
      const conn = await node.libp2p.dial(addr, { signal: AbortSignal.timeout(15_000) })
      return { peerId: conn.remotePeer.toString(), address: conn.remoteAddr.toString() }
    } catch (err: any) {
      throw new HttpError(502, `could not connect to ${text}: ${err.message}`)
    }
  })

  app.post('/api/v1/redirect', async (req) => {
    const q = req.query as Record<string, string | undefined>
    if (q.target === undefined || q.target === '') throw new HttpError(400, 'missing ?target=warren:…')
    const htl = parseHtl(q.htl)
    try {
      parseUri(q.target)
    } catch (err: any) {
      throw new HttpError(400, err.message)
    }
    return await node.client.putRedirect(q.target, { htl })
  })

  app.post('/api/v1/put', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>
    if (q.via !== undefined && q.via !== '') return await tunnelPut(node, req, reply, q.via)
    const htl = parseHtl(q.htl)
    // ?ssk=, ?ksk=, ?update=: under a signed key (KeyClient.publish).
    const signed = parseSignedTarget(withTargetHeaders(q, req.headers))
    const body = req.body as Readable | undefined
    const source = body instanceof Readable ? body : Readable.from([])
    const mime = q.mime !== undefined && q.mime !== '' ? q.mime : (q.name !== undefined && q.name !== '' ? mimeFor(q.name) : undefined)
    const length = Number(req.headers['content-length'])
    const record = transfers.start('upload', q.name !== undefined && q.name !== '' ? q.name : 'upload', Number.isSafeInteger(length) ? length : undefined)
    const insert = async (progress?: ClientOptions['onProgress']): Promise<unknown> => {
      const onProgress: ClientOptions['onProgress'] = (evt) => {
        if (evt.type === 'warren:insert:block') record.block()
        progress?.(evt)
      }
      try {
        const result = toJson(signed !== undefined
          ? await node.keys.publish(source, signed, { htl, mime, onProgress })
          : withName(await node.client.put(source, { htl, mime, onProgress }), q.name)) as { uri: string, namedUri?: string }
        record.done(result.namedUri ?? result.uri)
        return result
      } catch (err) {
        record.fail(err)
        throw err
      }
    }
    if (!(req.headers.accept ?? '').includes(NDJSON)) return await insert()
    // Progress as it happens (the CLI's bar): a JSON line per block inserted, then the result or the error.
    reply.hijack()
    reply.raw.writeHead(200, { 'content-type': NDJSON, 'cache-control': 'no-store' })
    const line = (o: unknown): void => { reply.raw.write(JSON.stringify(o) + '\n') }
    try {
      const result = await insert((evt) => {
        if (evt.type === 'warren:insert:block') line({ type: evt.type, detail: { blocks: evt.detail.blocks, bytes: evt.detail.bytes } })
        else if (evt.type === 'warren:insert:wait') line({ type: evt.type, detail: { ms: evt.detail.ms } })
      })
      line({ type: 'result', result })
    } catch (err) {
      line({ type: 'error', error: (err as Error).message, statusCode: statusOf(err) })
    }
    reply.raw.end()
    return reply
  })
  registerKeyRoutes(app, node)
  registerTunnelRoutes(app, node)

  app.get('/api/v1/get', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>
    if (q.uri === undefined || q.uri === '') throw new HttpError(400, 'missing ?uri=warren:CHK@...')
    parseHtl(q.htl)
    try {
      parseUri(q.uri)
    } catch (err: any) {
      throw new HttpError(400, err.message)
    }
    if (q.via !== undefined && q.via !== '') return await tunnelGet(node, req, reply, q.uri, q.via)
    // Range requests, MIME type and the content security headers: src/gateway/gateway.ts.
    return await serveContent(node, req, reply, q.uri, undefined, transfers)
  })

  registerGateway(app, node, {
    allowRemote: node.config.apiAllowRemote,
    transfers,
    bookmarks: await Bookmarks.open(node.config.dataDir),
    settings: node.config.dataDir === undefined ? undefined : { dataDir: node.config.dataDir, running: node.config },
    via: node.config.gatewayVia === undefined || node.config.gatewayVia === '' ? undefined : node.config.gatewayVia
  })
  return app
}

/** Start the API server, refusing a non-loopback bind unless explicitly allowed. */
export async function startApiServer (node: ApiNode, opts: ApiServerOptions): Promise<{ app: FastifyInstance, url: string }> {
  if (!isLoopback(opts.host) && opts.allowRemote !== true) {
    throw new Error(`refusing to bind the client API to ${opts.host}: it has no authentication (use --api-allow-remote to override)`)
  }
  const app = await createApiServer(node)
  await app.listen({ host: opts.host, port: opts.port })
  const addr = app.server.address()
  const port = typeof addr === 'object' && addr !== null ? addr.port : opts.port
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host
  return { app, url: `http://${host}:${port}` }
}

/**
 * Client API for SSL-through-SSL (src/tunnel, docs/tunnel.md):
 *
 *   GET    /api/v1/trust/card            -> { card, peerId, keyEpoch, expires }  this node's card
 *   GET    /api/v1/trust                 -> [{ name, peerId, keyEpoch, expires, multiaddrs }]
 *   POST   /api/v1/trust?name=NAME       body: a card -> { name, peerId, keyEpoch }  (signature checked)
 *   DELETE /api/v1/trust?name=NAME       -> { removed: NAME }
 *   POST   /api/v1/trust/refresh?name=NAME  -> { name, keyEpoch, changed }  (asks the peer, through a tunnel)
 *
 * and, through a trusted peer (server.ts hands these over when `via` is given):
 *   GET    /api/v1/get?uri=URI&via=NAME[&htl=N]          -> the content (sealed end to end on the way)
 *   POST   /api/v1/put?via=NAME[&mime=T][&htl=N]  body   -> { uri, via }
 *          with ?ssk=, ?ksk=, ?update= (or their x-warren-* headers): the body goes to the peer as a
 *          CHK, then this node signs the key's blocks and the peer only inserts them (tunnel/blocks.ts)
 *   POST   /api/v1/fetch-url?url=URL&via=NAME[&insert=1] -> the page as an attachment (proxy download;
 *          its type in x-warren-mime, with insert its CHK URI in x-warren-uri)
 */
import { Readable } from 'node:stream'
import { readBody } from '../gateway/gateway.js'
import { KeyClient } from '../client/key-client.js'
import { tunnelBlockNetwork } from '../tunnel/blocks.js'
import { parseSignedTarget, present, withTargetHeaders } from '../util/params.js'
import type { Card } from '../tunnel/card.js'
import type { TunnelState } from '../tunnel/tunnel.js'
import type { Query } from '../util/params.js'
import type { TunnelService } from '../tunnel/service.js'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** What the tunnel routes need of a node (WarrenNode satisfies it). */
export interface TunnelRoutesNode {
  readonly tunnel?: TunnelState
  readonly tunnels?: TunnelService
}

function tunnels (node: TunnelRoutesNode): TunnelService {
  if (node.tunnels === undefined) throw new TunnelApiError(503, 'this node runs without tunnels')
  return node.tunnels
}

/** Hops-to-live the trusted peer should use (0 or absent: its own default). */
function htlOf (q: Query): number | undefined {
  const h = present(q, 'htl')
  if (h === undefined) return undefined
  const n = Number(h)
  if (!Number.isInteger(n) || n < 0 || n > 255) throw new TunnelApiError(400, `htl must be an integer from 0 to 255, got "${h}"`)
  return n
}

/** GET /api/v1/get?uri=&via=: the content, fetched by the trusted peer and sealed all the way here. */
export async function tunnelGet (node: TunnelRoutesNode, req: FastifyRequest, reply: FastifyReply, uri: string, via: string): Promise<FastifyReply> {
  const ac = new AbortController()
  req.raw.once('close', () => { if (!reply.raw.writableFinished) ac.abort() })
  const f = await tunnels(node).get(via, uri, { htl: htlOf(req.query as Query), signal: ac.signal })
  return await reply
    .header('content-type', f.mime === '' ? 'application/octet-stream' : f.mime)
    .header('content-length', String(f.size))
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', 'no-store')
    .send(Readable.from(f.stream))
}

/** POST /api/v1/put?via=: the body, streamed sealed to the trusted peer, which inserts it. */
export async function tunnelPut (node: TunnelRoutesNode, req: FastifyRequest, reply: FastifyReply, via: string): Promise<unknown> {
  const q = req.query as Query
  const signed = parseSignedTarget(withTargetHeaders(q, req.headers))
  const body = req.body instanceof Readable ? req.body : Readable.from([])
  const length = Number(req.headers['content-length'])
  const htl = htlOf(q)
  const r = await tunnels(node).put(via, body, { htl, mime: present(q, 'mime'), size: Number.isSafeInteger(length) ? length : undefined })
  let result: Record<string, unknown> = { uri: r.uri, via }
  if (signed !== undefined) {
    // Signed here, inserted there: the private key in `signed` never leaves this node.
    const keys = new KeyClient({ network: tunnelBlockNetwork(tunnels(node), via) }, { htl: htl ?? 0 })
    result = { ...JSON.parse(JSON.stringify(await keys.publish({ uri: r.uri }, signed, { htl: htl ?? 0 }), (_k, v) => typeof v === 'bigint' ? v.toString() : v)), via }
  }
  if (!(req.headers.accept ?? '').includes('application/x-ndjson')) return result
  reply.hijack()
  reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' })
  reply.raw.end(JSON.stringify({ type: 'result', result }) + '\n')
  return reply
}

class TunnelApiError extends Error {
  constructor (readonly statusCode: number, message: string) {
    super(message)
  }
}

function describe (c: Card): { peerId: string, keyEpoch: string, expires: string, multiaddrs: string[] } {
  return { peerId: c.peerId, keyEpoch: c.keyEpoch.toString(), expires: new Date(c.expires).toISOString(), multiaddrs: c.multiaddrs }
}

export function registerTunnelRoutes (app: FastifyInstance, node: TunnelRoutesNode): void {
  const tunnel = (): TunnelState => {
    if (node.tunnel === undefined) throw new TunnelApiError(503, 'this node runs without tunnels')
    return node.tunnel
  }
  const name = (q: Query): string => {
    const n = present(q, 'name')
    if (n === undefined) throw new TunnelApiError(400, 'missing ?name=NAME (the name you give the trusted peer)')
    return n
  }

  app.get('/api/v1/trust/card', async () => {
    const c = await tunnel().card()
    return { card: c.text, ...describe(c) }
  })

  app.get('/api/v1/trust', async () => tunnel().trustList().map((p) => ({ name: p.name, ...describe(p.card) })))

  app.post('/api/v1/trust', async (req) => {
    const n = name(req.query as Query)
    const card = await tunnel().trustAdd(n, await readBody(req.body, 8192))
    return { name: n, ...describe(card) }
  })

  app.post('/api/v1/fetch-url', async (req, reply) => {
    const q = req.query as Query
    const url = present(q, 'url')
    const via = present(q, 'via')
    if (url === undefined || via === undefined) throw new TunnelApiError(400, 'missing ?url=URL&via=NAME (a proxy download goes through a trusted peer)')
    const insert = present(q, 'insert') === '1' || present(q, 'insert') === 'true'
    const f = await tunnels(node).fetchUrl(via, url, { insert, htl: htlOf(q) })
    // Served as an opaque attachment: a fetched page must never run as this API's origin.
    void reply
      .header('content-type', 'application/octet-stream')
      .header('content-disposition', 'attachment')
      .header('content-security-policy', 'sandbox')
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-store')
      .header('content-length', String(f.size))
      .header('x-warren-mime', encodeURIComponent(f.mime))
    if (f.uri !== undefined) void reply.header('x-warren-uri', f.uri)
    return await reply.send(Readable.from(f.stream))
  })

  app.post('/api/v1/trust/refresh', async (req) => {
    const n = name(req.query as Query)
    const changed = await tunnels(node).refreshCard(n)
    return { name: n, keyEpoch: tunnel().trusted(n).keyEpoch.toString(), changed }
  })

  app.delete('/api/v1/trust', async (req) => {
    const n = name(req.query as Query)
    await tunnel().trustRemove(n)
    return { removed: n }
  })
}

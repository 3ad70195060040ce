/**
 * Client API for signed and updatable keys (registered by src/api/server.ts):
 *
 *   POST /api/v1/put?ssk=<insert URI with name>        body: file -> { uri, target, stored }
 *   POST /api/v1/put?ksk=<keyword>                     body: file -> { uri, target, stored }
 *   POST /api/v1/put?update=<insert URI with name>[&period=S&start=T][&at=T]
 *                                                      body: file -> { uri, version, edition | slot, ... }
 *   GET  /api/v1/keygen                                -> { insertUri, requestUri } (a new subspace)
 *   GET  /api/v1/resolve?uri=URI                       -> { chk, trace, edition? } (where a key leads now)
 *   GET  /api/v1/ark[?peer=<peer ID>]                  -> { peer, edition, addrs, time } (default: this node)
 *
 * `period` is seconds; `start` and `at` are Unix seconds or an ISO 8601 date (parsed by
 * src/util/params.ts; the put itself is src/api/server.ts through KeyClient.publish). `GET /api/v1/get`
 * accepts every key type (WarrenClient resolves SSK/KSK URIs through the node's KeyClient).
 */
import { resolveArk } from '../ark/ark.js'
import { KeyError, keygen } from '../client/key-client.js'
import { NotFoundError } from '../protocol/errors.js'
import { formatUri } from '../keys/uri.js'
import { present } from '../util/params.js'
import type { KeyClient } from '../client/key-client.js'
import type { Query } from '../util/params.js'
import type { FastifyInstance } from 'fastify'

/** What the key routes need of a node (WarrenNode satisfies it). */
export interface KeyRoutesNode {
  readonly keys: KeyClient
  readonly peerId: string
}

export function registerKeyRoutes (app: FastifyInstance, node: KeyRoutesNode): void {
  app.get('/api/v1/keygen', async () => keygen())

  app.get('/api/v1/ark', async (req) => {
    const peer = present(req.query as Query, 'peer') ?? node.peerId
    let found
    try {
      found = await resolveArk(node.keys, peer)
    } catch (err: any) {
      throw new KeyError(err.message)
    }
    if (found === undefined) throw new NotFoundError(`no ARK found for ${peer}`, 0)
    return { peer, edition: found.edition, ...found.record }
  })

  app.get('/api/v1/resolve', async (req) => {
    const q = req.query as Query
    const uri = present(q, 'uri')
    if (uri === undefined) throw new KeyError('missing ?uri=warren:SSK@... (or KSK@, CHK@)')
    let r
    try {
      r = await node.keys.resolve(uri)
    } catch (err: any) {
      if (err.message.startsWith('invalid warren URI')) throw new KeyError(err.message)
      throw err
    }
    return { chk: formatUri(r.chk), trace: r.trace, edition: r.edition, probes: r.probes }
  })
}

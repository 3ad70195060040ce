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
 * `period` is seconds; `start` and `at` are Unix seconds or an ISO 8601 date. `GET /api/v1/get`
 * accepts every key type (WarrenClient resolves SSK/KSK URIs through the node's KeyClient).
 */
import { resolveArk } from '../ark/ark.js'
import { KeyError, keygen } from '../client/key-client.js'
import { NotFoundError } from '../protocol/errors.js'
import { formatUri } from '../keys/uri.js'
import type { SplitSource } from '../client/types.js'
import type { WarrenNode } from '../node.js'
import type { FastifyInstance } from 'fastify'

type Query = Record<string, string | undefined>

/** Unix seconds from "1767225600" or "2026-01-01T00:00:00Z". */
export function parseTime (name: string, text: string): number {
  const t = /^\d+$/.test(text) ? Number(text) : Date.parse(text) / 1000
  if (!Number.isFinite(t) || t < 0) throw new KeyError(`${name} must be Unix seconds or an ISO 8601 date, got "${text}"`)
  return Math.floor(t)
}

function present (q: Query, k: string): string | undefined {
  const v = q[k]
  return v === undefined || v === '' ? undefined : v
}

/** Handle a put under a signed key, if the query asks for one (else undefined). */
export async function putSigned (node: WarrenNode, source: SplitSource, q: Query, options: { htl?: number, mime?: string }): Promise<unknown> {
  const modes = ['ssk', 'ksk', 'update'].filter((k) => present(q, k) !== undefined)
  if (modes.length === 0) return undefined
  if (modes.length > 1) throw new KeyError(`use one of ssk, ksk and update, not ${modes.join(' and ')}`)
  if (modes[0] !== 'update') {
    for (const k of ['period', 'start', 'at']) if (present(q, k) !== undefined) throw new KeyError(`${k} applies to update only`)
    return await node.keys.put(source, present(q, modes[0])!, modes[0] as 'ssk' | 'ksk', options)
  }
  const period = present(q, 'period')
  const start = present(q, 'start')
  const at = present(q, 'at')
  if (period !== undefined && !/^\d+$/.test(period)) throw new KeyError(`period must be whole seconds, got "${period}"`)
  return await node.keys.update(source, present(q, 'update')!, {
    ...options,
    dbr: period === undefined && start === undefined ? undefined : { period: period === undefined ? undefined : Number(period), start: start === undefined ? undefined : parseTime('start', start) },
    at: at === undefined ? undefined : parseTime('at', at) * 1000
  })
}

export function registerKeyRoutes (app: FastifyInstance, node: WarrenNode): void {
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
      if (/^invalid warren URI/.test(err.message)) throw new KeyError(err.message)
      throw err
    }
    return { chk: formatUri(r.chk), trace: r.trace, edition: r.edition, probes: r.probes }
  })
}

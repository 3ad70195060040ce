/**
 * Client API for SSL-through-SSL (src/tunnel, docs/tunnel.md):
 *
 *   GET    /api/v1/trust/card            -> { card, peerId, keyEpoch, expires }  this node's card
 *   GET    /api/v1/trust                 -> [{ name, peerId, keyEpoch, expires, multiaddrs }]
 *   POST   /api/v1/trust?name=NAME       body: a card -> { name, peerId, keyEpoch }  (signature checked)
 *   DELETE /api/v1/trust?name=NAME       -> { removed: NAME }
 */
import { readBody } from '../gateway/gateway.js'
import { present } from '../util/params.js'
import type { Card } from '../tunnel/card.js'
import type { TunnelState } from '../tunnel/tunnel.js'
import type { Query } from '../util/params.js'
import type { FastifyInstance } from 'fastify'

/** What the tunnel routes need of a node (WarrenNode satisfies it). */
export interface TunnelRoutesNode {
  readonly tunnel?: TunnelState
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

  app.delete('/api/v1/trust', async (req) => {
    const n = name(req.query as Query)
    await tunnel().trustRemove(n)
    return { removed: n }
  })
}

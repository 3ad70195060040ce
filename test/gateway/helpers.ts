/**
 * A small real network with the API + gateway server listening on 127.0.0.1, for the
 * gateway and browser tests, plus upload helpers that go through the HTTP API.
 */
import { createApiServer } from '../../src/api/server.js'
import { createNetwork, ring } from '../helpers/network.js'
import type { TestNetwork } from '../helpers/network.js'
import type { FastifyInstance } from 'fastify'

export interface GatewayFixture {
  net: TestNetwork
  app: FastifyInstance
  base: string
  stop: () => Promise<void>
}

export async function startGateway (nodes = 3): Promise<GatewayFixture> {
  const net = await createNetwork(nodes, { core: { hopTimeoutMs: 1000 } })
  try {
    if (nodes > 1) await ring(net)
    const app = await createApiServer(net.nodes[0])
    await app.listen({ host: '127.0.0.1', port: 0 })
    const addr = app.server.address()
    const port = typeof addr === 'object' && addr !== null ? addr.port : 0
    return { net, app, base: `http://127.0.0.1:${port}`, stop: async () => { await app.close(); await net.stop() } }
  } catch (err) {
    await net.stop()
    throw err
  }
}

export async function putFile (base: string, body: Uint8Array | string, name: string): Promise<{ uri: string, size: number }> {
  const res = await fetch(`${base}/api/v1/put?name=${encodeURIComponent(name)}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: typeof body === 'string' ? body : Buffer.from(body) })
  if (!res.ok) throw new Error(`put ${name}: ${res.status} ${await res.text()}`)
  return await res.json() as { uri: string, size: number }
}

/** Insert files and a site manifest over them; returns the site's gateway path ("/CHK@.../"). */
export async function putSite (base: string, files: Record<string, string | Uint8Array>, index?: string): Promise<string> {
  const entries = []
  for (const [path, body] of Object.entries(files)) {
    const r = await putFile(base, body, path)
    entries.push({ path, uri: r.uri, size: r.size })
  }
  const res = await fetch(`${base}/api/v1/site`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ entries, index }) })
  if (!res.ok) throw new Error(`site: ${res.status} ${await res.text()}`)
  const { uri } = await res.json() as { uri: string }
  return '/' + uri.replace(/^warren:/, '') + '/'
}

/**
 * The client API over a real HTTP connection, at the edges the fuzz campaign found
 * (docs/reliability.md, "Found by these runs"):
 *
 * - a request followed by bytes that are not HTTP (node's client sends a DELETE's or OPTIONS's
 *   body without Content-Length or chunked framing): the server parsed the body as the next
 *   request, and its default handler destroyed the socket, a TCP reset that lost the answer to
 *   the request before (ECONNRESET on 9.9 % of the campaign's requests). The answer must now
 *   arrive and the connection end with a FIN.
 * - a gateway path under an SSK with characters such as `:`, `>` or `é`: answered 500; now a
 *   4xx or a proper answer.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { request } from 'node:http'
import { connect } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { startApiServer } from '../../src/api/server.js'
import { MemoryBlockNetwork } from '../client/memory-network.js'
import { memoryNode } from './memory-node.js'
import type { FastifyInstance } from 'fastify'

/** One request on a connection of its own (`Connection: close`): the status, or the socket error's code. */
async function send (base: URL, method: string, path: string, body?: Buffer, headers: Record<string, string> = {}): Promise<string> {
  return await new Promise((resolve) => {
    const req = request({ host: base.hostname, port: base.port, method, path, agent: false, headers: { connection: 'close', ...headers } }, (res) => {
      res.resume()
      res.on('end', () => { resolve(`HTTP ${res.statusCode}`) })
      res.on('error', (err: any) => { resolve(`none: ${err.code ?? err.name}`) })
    })
    req.on('error', (err: any) => { resolve(`none: ${err.code ?? err.name}`) })
    if (body !== undefined) req.write(body)
    req.end()
  })
}

describe('client API over HTTP: unread bodies and odd gateway paths', () => {
  let app: FastifyInstance
  let base: URL

  before(async () => {
    const s = await startApiServer(memoryNode(new MemoryBlockNetwork()), { host: '127.0.0.1', port: 0 })
    app = s.app
    base = new URL(s.url)
  })
  after(async () => { await app.close() })

  it('answers a request followed by bytes that are not HTTP (a body without framing) and closes without a TCP reset', async () => {
    const ssk = `SSK@${'A'.repeat(43)},${'B'.repeat(43)},AQACAAE/site/index.html`
    for (const [method, path] of [['DELETE', `/${ssk}`], ['OPTIONS', '/api/v1/status'], ['GET', '/api/v1/status']]) {
      const expected = await send(base, method, path)
      const socket = connect(Number(base.port), base.hostname)
      await once(socket, 'connect')
      // Not read until the server has seen the garbage: a reset would then discard the answer.
      socket.pause()
      const sawGarbage = once(app.server, 'clientError')
      // What node's client sends for a DELETE or OPTIONS with a body and no Content-Length ...
      socket.write(`${method} ${path} HTTP/1.1\r\nHost: ${base.host}\r\n\r\n${'a'.repeat(46_000)}`)
      await sawGarbage
      // ... and the rest of such a body, still on its way when the server gave up on the connection.
      socket.write('a'.repeat(10_000))
      const chunks: Buffer[] = []
      const ended = await new Promise<string>((resolve) => {
        socket.on('data', (c: Buffer) => { chunks.push(c) })
        socket.on('end', () => { resolve('end') })
        socket.on('error', (err: any) => { resolve(err.code ?? err.name) })
        socket.resume()
      })
      socket.destroy()
      const what = `${method} ${path.slice(0, 20)}`
      assert.equal(ended, 'end', `${what}: the connection ended with ${ended}`)
      // The answer to the request itself (as without the garbage), not only the parse error's 400.
      assert.equal(/^HTTP\/1\.1 (\d{3}) /.exec(Buffer.concat(chunks).toString('latin1'))?.[1], expected.slice(5), `${what}: not its own answer`)
    }
  })

  it('answers a gateway path under an SSK with odd characters with a 4xx or a page, never a 500', async () => {
    const ssk = `SSK@${'A'.repeat(43)},${'B'.repeat(43)},AQACAAE`
    for (const tail of ['site/a:b', 'site/%3E', 'site/>', 'site/é', 'site/%C3%A9', 'a:b/c', '%E9', 'site/%', 'site/\u00e9:>'] ) {
      const status = await send(base, 'GET', `/${ssk}/${tail}`.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c)), undefined, { accept: 'text/html' })
      assert.match(status, /^HTTP [234]\d\d$/, `GET /SSK@…/${tail}: ${status}`)
    }
  })
})

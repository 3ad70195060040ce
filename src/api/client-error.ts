/**
 * What the API server does with bytes that are not HTTP (fastify's `clientErrorHandler`): a
 * request line it cannot parse, a header too large, or bytes after a request that are not the
 * next one (a body sent without Content-Length or chunked framing, as node's own client does for
 * a DELETE or OPTIONS with a body).
 *
 * fastify's default writes a 400 and destroys the socket at once. Destroying a socket with
 * unread bytes, or while the answer to the request before the garbage is still being made,
 * sends a TCP reset, and the client loses that answer: 9.9 % of the fuzz campaign's API
 * requests ended in ECONNRESET that way (docs/reliability.md). Here the answer in progress is
 * finished first, the 400 goes only where nothing else was answered, the connection is closed
 * with a FIN, and whatever the client still sends is read and dropped (bounded) until it closes.
 */
import { STATUS_CODES } from 'node:http'
import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/** A connection that sent garbage is read (and dropped) this long at most, then destroyed. */
const LINGER_MS = 5_000
/** ... or until it sent this much more. */
const LINGER_BYTES = 1024 * 1024

const closing = new WeakSet<Socket>()

function errorResponse (err: Error & { code?: string }): string {
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
  const body = JSON.stringify({ error: `not a valid HTTP request (${err.code ?? err.message}): send one request per line of headers, with Content-Length or chunked encoding for a body`, statusCode: status })
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
}

export function closeGently (err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed || closing.has(socket)) return
  closing.add(socket)
  // node's http server keeps the response in progress on the socket (`_httpMessage`).
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage ?? undefined
  let closed = false
  const close = (): void => {
    if (closed) return
    closed = true
    if (socket.writable) {
      if (inFlight === undefined) socket.end(errorResponse(err))
      else socket.end()
    }
    let seen = 0
    const timer = setTimeout(() => { socket.destroy() }, LINGER_MS)
    timer.unref()
    socket.once('close', () => { clearTimeout(timer) })
    socket.on('data', (d: Buffer) => {
      seen += d.byteLength
      if (seen > LINGER_BYTES) socket.destroy()
    })
    socket.resume()
  }
  if (inFlight !== undefined && !inFlight.writableFinished) {
    inFlight.once('finish', close)
    inFlight.once('close', close)
  } else close()
}

/**
 * Malformed requests to the client API and gateway (bench/fuzz/fuzz.ts --protocol api): every
 * route with mutated keys, hops-to-live, query parameters, methods, Host and Origin headers and
 * bodies. The answer must be an HTTP status with a body; a 5xx is reported separately.
 */
import type { Rng } from '../../src/routing/random.js'

export interface ApiCase {
  kind: string
  method: string
  path: string
  headers: Record<string, string>
  body?: Uint8Array
}

const ROUTES = ['/api/v1/status', '/api/v1/peers', '/api/v1/get', '/api/v1/put', '/api/v1/redirect', '/api/v1/keygen', '/api/v1/ark',
  '/api/v1/resolve', '/api/v1/site', '/api/v1/stats/recent', '/', '/node', '/_/external', '/favicon.ico']
const METHODS = ['GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'HEAD', 'PATCH']

function int (rng: Rng, n: number): number {
  return Math.floor(rng() * n)
}

function pick<T> (rng: Rng, list: readonly T[]): T {
  return list[int(rng, list.length)]
}

function text (rng: Rng, n: number, alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_~@/%.,;:=&?#[]{}<>"\'\\ \u00e9\u4e2d\u0000'): string {
  let s = ''
  for (let i = 0; i < n; i++) s += alphabet[int(rng, alphabet.length)]
  return s
}

/** A key URI, well formed or not. */
function uri (rng: Rng): string {
  const b64 = (n: number): string => text(rng, n, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~')
  switch (int(rng, 9)) {
    case 0: return `CHK@${b64(43)},${b64(43)},AAMC--8`
    case 1: return `CHK@${b64(int(rng, 90))}`
    case 2: return `SSK@${b64(43)},${b64(43)},AQACAAE/${text(rng, int(rng, 20))}`
    case 3: return `SSK@${b64(43)},${b64(43)},AQACAAE/site-${int(rng, 9)}/${text(rng, 5)}`
    case 4: return `USK@${b64(43)},${b64(43)},AQACAAE/x/${pick(rng, ['-1', '0', '99999999999999999999', 'abc'])}`
    case 5: return `KSK@${text(rng, int(rng, 40))}`
    case 6: return text(rng, int(rng, 300))
    case 7: return `CHK@${'A'.repeat(int(rng, 5000))}`
    default: return `freenet:CHK@${b64(43)},${b64(43)},AAMC--8/${'../'.repeat(int(rng, 5))}${text(rng, 10)}`
  }
}

function htl (rng: Rng): string {
  return pick(rng, ['0', '1', '2', '-1', '1000', '2.5', '1e2', 'abc', '', '0x10', '9'.repeat(400), ' 1', '1,2'])
}

function query (rng: Rng): string {
  const params: string[] = []
  const n = int(rng, 5)
  for (let i = 0; i < n; i++) {
    const name = pick(rng, ['key', 'uri', 'htl', 'peer', 'mime', 'name', 'target', 'edition', 'url', text(rng, 5)])
    const value = name === 'htl' ? htl(rng) : name === 'peer' ? pick(rng, ['12D3KooW' + text(rng, 44, 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz123456789'), text(rng, 30)]) : uri(rng)
    params.push(`${encodeURIComponent(name)}=${rng() < 0.8 ? encodeURIComponent(value) : value.replace(/[#\s]/g, '')}`)
  }
  if (rng() < 0.1) params.push('htl=1', 'htl=2') // a repeated parameter
  return params.length === 0 ? '' : `?${params.join('&')}`
}

function body (rng: Rng): Uint8Array | undefined {
  switch (int(rng, 6)) {
    case 0: return undefined
    case 1: return new TextEncoder().encode(JSON.stringify({ files: { [text(rng, 8)]: text(rng, 20) }, index: text(rng, 5) }))
    case 2: return new TextEncoder().encode(pick(rng, ['{', '[]', 'null', '{"files":5}', '{"files":{"../x":"y"}}', '{"__proto__":{"x":1}}', '"' + 'a'.repeat(10_000)]))
    case 3: return new TextEncoder().encode(JSON.stringify({ target: uri(rng), name: text(rng, 10), key: uri(rng) }))
    default: {
      const b = new Uint8Array(int(rng, 70_000))
      for (let i = 0; i < b.length; i += 97) b[i] = int(rng, 256)
      return b
    }
  }
}

/** One request to the API at `host` (HOST:PORT as the node serves it). */
export function makeApiCase (host: string, rng: Rng): ApiCase {
  const headers: Record<string, string> = { host }
  const r = rng()
  if (r < 0.1) headers.host = pick(rng, ['evil.example', `evil.example:${host.split(':')[1]}`, '127.0.0.1.evil.example', '', 'localhost:1', '[::1]'])
  else if (r < 0.2) headers.origin = pick(rng, ['http://evil.example', 'null', `http://${host}`, 'file://', text(rng, 20)])
  if (rng() < 0.3) headers['content-type'] = pick(rng, ['application/json', 'application/octet-stream', 'text/plain', 'multipart/form-data; boundary=x', text(rng, 10)])
  if (rng() < 0.2) headers.accept = pick(rng, ['application/x-ndjson', 'text/html', '*/*', text(rng, 10)])
  let path: string
  let kind: string
  switch (int(rng, 4)) {
    case 0:
      kind = 'gateway'
      path = `/${rng() < 0.5 ? uri(rng) : encodeURIComponent(uri(rng))}`.replace(/[#\s?]/g, '')
      break
    case 1:
      kind = 'odd-path'
      path = pick(rng, ['/api/v1/', '/api/v2/status', '/api/v1/status/../peers', '//api/v1/status', '/%2e%2e/%2e%2e/etc/passwd', '/api/v1/get%00', '/' + 'a'.repeat(int(rng, 9000))])
      break
    default:
      kind = 'route'
      path = pick(rng, ROUTES) + query(rng)
  }
  const method = kind === 'route' && path.startsWith('/api/v1/put') ? pick(rng, ['POST', 'GET', 'PUT']) : pick(rng, METHODS)
  // What an HTTP client can send at all: bytes outside printable ASCII percent-encoded.
  path = path.replace(/[^\x21-\x7e]/gu, (ch) => encodeURIComponent(ch))
  for (const [k, v] of Object.entries(headers)) headers[k] = v.replace(/[^\x20-\x7e]/gu, '?')
  return { kind, method, path, headers, body: method === 'GET' || method === 'HEAD' ? undefined : body(rng) }
}

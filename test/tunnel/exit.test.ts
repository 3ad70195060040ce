/**
 * The proxy-download exit (src/tunnel/exit.ts) against servers on loopback, reached only
 * through the test allowance (exact address and port, refused outside the test runner): the
 * SSRF matrix of notes/tunnel.md is refused by rule (not by a failed connection), redirects
 * are re-checked, slow and silent servers time out, a gzip bomb stops at the cap, nothing
 * of the requester's is sent, and per-requester limits hold.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { after, before, describe, it } from 'node:test'
import { gzipSync } from 'node:zlib'
import { Exit } from '../../src/tunnel/exit.js'
import { ExitRefused } from '../../src/tunnel/exit-policy.js'
import type { ExitInit } from '../../src/tunnel/exit.js'
import type { IncomingHttpHeaders, Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A loopback server; `hits` counts the requests it got, `headers` keeps the last ones. */
async function server (handler: Parameters<typeof createServer>[1]): Promise<{ s: Server, port: number, hits: () => number, headers: () => IncomingHttpHeaders }> {
  let hits = 0
  let headers: IncomingHttpHeaders = {}
  const s = createServer((req, res) => {
    hits++
    headers = req.headers
    handler!(req, res)
  })
  await new Promise<void>((resolve) => { s.listen(0, '127.0.0.1', resolve) })
  return { s, port: (s.address() as AddressInfo).port, hits: () => hits, headers: () => headers }
}

async function refused (p: Promise<unknown>, why: RegExp): Promise<void> {
  await assert.rejects(p, (err: Error) => {
    assert.ok(err instanceof ExitRefused, `expected a refusal, got ${err.name}: ${err.message}`)
    assert.match(err.message, why)
    return true
  })
}

describe('exit (proxy downloads)', () => {
  let site: Awaited<ReturnType<typeof server>>
  let other: Awaited<ReturnType<typeof server>>
  let base: string
  const bomb = gzipSync(Buffer.alloc(32 * 1024 * 1024))
  const timers = new Set<NodeJS.Timeout>()

  before(async () => {
    site = await server((req, res) => {
      const port = site.port
      switch (req.url) {
        case '/ok': res.writeHead(200, { 'content-type': 'text/html', 'set-cookie': 'a=b' }).end('<p>hello</p>'); break
        case '/gz': res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync('compressed hello')); break
        case '/to-ok': res.writeHead(302, { location: '/ok' }).end(); break
        case '/to-private': res.writeHead(302, { location: 'http://10.1.2.3/' }).end(); break
        case '/to-loopback': res.writeHead(301, { location: `http://127.0.0.1:${other.port}/` }).end(); break
        case '/to-metadata': res.writeHead(307, { location: 'http://169.254.169.254/latest/meta-data/' }).end(); break
        case '/to-file': res.writeHead(302, { location: 'file:///etc/passwd' }).end(); break
        case '/loop': res.writeHead(302, { location: `http://127.0.0.1:${port}/loop` }).end(); break
        case '/bomb': res.writeHead(200, { 'content-encoding': 'gzip' }).end(bomb); break
        case '/drip': {
          res.writeHead(200)
          const t = setInterval(() => res.write('x'), 100)
          timers.add(t)
          res.on('close', () => { clearInterval(t) })
          break
        }
        case '/silent': res.writeHead(200).write('a'); break
        case '/404': res.writeHead(404).end(); break
        default: res.writeHead(200).end('?')
      }
    })
    other = await server((_req, res) => { res.end('internal secret') })
    base = `http://127.0.0.1:${site.port}`
  })
  after(async () => {
    for (const t of timers) clearInterval(t)
    site.s.closeAllConnections()
    other.s.closeAllConnections()
    await new Promise((resolve) => site.s.close(resolve))
    await new Promise((resolve) => other.s.close(resolve))
  })

  const exit = (init: Partial<ExitInit> = {}): Exit => new Exit({ testAllow: [{ address: '127.0.0.1', port: site.port }], ...init })

  it('fetches from an allowed server: body, type; fixed headers only (no cookies, nothing of the requester)', async () => {
    const r = await exit().fetch(`${base}/ok`, 'r')
    assert.equal(Buffer.from(r.body).toString(), '<p>hello</p>')
    assert.equal(r.mime, 'text/html')
    const h = site.headers()
    assert.equal(h.cookie, undefined)
    assert.equal(h['user-agent'], 'warren-exit/1')
    assert.deepEqual(Object.keys(h).sort(), ['accept', 'accept-encoding', 'connection', 'host', 'user-agent'])
    assert.equal(Buffer.from((await exit().fetch(`${base}/gz`, 'r')).body).toString(), 'compressed hello')
    assert.equal(Buffer.from((await exit().fetch(`${base}/to-ok`, 'r')).body).toString(), '<p>hello</p>', 'an allowed redirect is followed')
  })

  it('refuses loopback in every spelling, private, link-local, CGNAT, unique-local, mapped and unspecified addresses', async () => {
    const hitsBefore = other.hits()
    const p = other.port
    const urls = [
      `http://127.0.0.1:${p}/`, 'http://127.0.0.1/', 'http://2130706433/', 'http://0x7f.1/', 'http://017700000001/', 'http://127.1/',
      'http://[::1]/', 'http://[::ffff:127.0.0.1]/', 'http://[::ffff:7f00:1]/', 'http://0.0.0.0/', 'http://[::]/',
      'http://10.0.0.1/', 'http://172.16.5.4/', 'http://192.168.1.1/', 'http://169.254.169.254/', 'http://100.64.0.1/',
      'http://[fd00::1]/', 'http://[fe80::1]/', 'http://224.0.0.1/', 'http://255.255.255.255/'
    ]
    for (const u of urls) await refused(exit().fetch(u, 'r'), /not public/)
    assert.equal(other.hits(), hitsBefore, 'nothing reached the internal server')
  })

  it('refuses names that resolve inside (the system resolver and a rebinding one) and checks the answer it connects to', async () => {
    await refused(exit().fetch('http://localhost/', 'r'), /not public/)
    let calls = 0
    const rebinding = async (): Promise<string[]> => {
      calls++
      return calls === 1 ? ['127.0.0.1'] : ['93.184.216.34']
    }
    await refused(exit({ testLookup: rebinding }).fetch('http://rebind.test/', 'r'), /not public/)
    assert.equal(calls, 1, 'resolved once: the address checked is the address used')
    await refused(exit({ testLookup: async () => ['93.184.216.34', '10.0.0.5'] }).fetch('http://mixed.test/', 'r'), /not public/)
  })

  it('refuses other schemes, credentials, other ports and names on other ports, before any connection', async () => {
    for (const u of ['file:///etc/passwd', 'gopher://example.org/', 'data:text/plain,hello', 'ftp://example.org/', 'javascript:alert(1)']) {
      await refused(exit().fetch(u, 'r'), /only http and https|not a valid URL/)
    }
    await refused(exit().fetch('http://user:pw@93.184.216.34/', 'r'), /credentials/)
    await refused(exit().fetch('http://93.184.216.34:22/', 'r'), /only ports 80 and 443/)
    await refused(exit().fetch(`http://localhost:${site.port}/ok`, 'r'), /only ports 80 and 443/)
  })

  it('re-checks every redirect and caps them', async () => {
    const hitsBefore = other.hits()
    await refused(exit().fetch(`${base}/to-private`, 'r'), /not public/)
    await refused(exit().fetch(`${base}/to-loopback`, 'r'), /not public/)
    await refused(exit().fetch(`${base}/to-metadata`, 'r'), /not public/)
    await refused(exit().fetch(`${base}/to-file`, 'r'), /only http and https/)
    await refused(exit().fetch(`${base}/loop`, 'r'), /more than 5 redirects/)
    assert.equal(other.hits(), hitsBefore)
  })

  it('stops a slow-drip server, a silent one, a gzip bomb and an error page', async () => {
    await refused(exit({ totalTimeoutMs: 800 }).fetch(`${base}/drip`, 'r'), /longer than 800 ms/)
    await refused(exit({ idleTimeoutMs: 300 }).fetch(`${base}/silent`, 'r'), /went silent/)
    await refused(exit({ maxBytes: 1024 * 1024 }).fetch(`${base}/bomb`, 'r'), /larger than 1048576 bytes \(after decompression\)/)
    await refused(exit().fetch(`${base}/404`, 'r'), /HTTP 404/)
  })

  it('limits each requester\'s concurrent fetches and rate; refusals never name the URL', async () => {
    const e = exit({ perRequesterConcurrent: 1, perRequesterPerMinute: 3, totalTimeoutMs: 600 })
    const slow = e.fetch(`${base}/drip`, 'a')
    await refused(e.fetch(`${base}/ok`, 'a'), /at most 1 fetches at once/)
    await e.fetch(`${base}/ok`, 'b')
    await refused(slow, /longer than/)
    await e.fetch(`${base}/ok`, 'a')
    await e.fetch(`${base}/ok`, 'a')
    await refused(e.fetch(`${base}/ok`, 'a'), /at most 3 fetches a minute/)
    try {
      await exit().fetch('http://10.9.8.7/some/secret/path', 'r')
    } catch (err) {
      assert.doesNotMatch((err as Error).message, /10\.9\.8\.7|secret/)
    }
  })

  it('refuses test allowances outside the test runner', () => {
    const saved = process.env.NODE_TEST_CONTEXT
    delete process.env.NODE_TEST_CONTEXT
    try {
      assert.throws(() => new Exit({ testAllow: [{ address: '127.0.0.1', port: 1 }] }), /test runner only/)
      assert.ok(new Exit() instanceof Exit)
    } finally {
      process.env.NODE_TEST_CONTEXT = saved
    }
  })
})

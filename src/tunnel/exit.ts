/**
 * Proxy downloads (issue 13, item 3): the trusted peer fetches an http(s) URL for a requester
 * that reached it through a sealed tunnel, and sends the page back sealed. Off by default
 * (config `exit`); the rules of ./exit-policy.ts always apply:
 *
 * - the exit resolves DNS itself, checks every answer, and connects to the very address it
 *   checked (TLS still verifies the certificate for the name), so a name that re-resolves
 *   between check and connect (DNS rebinding) cannot move the connection; the socket's remote
 *   address is checked again once connected;
 * - every redirect is checked the same way, at most MAX_REDIRECTS;
 * - connect, header, idle and total timeouts; a size cap counted after decompression (a gzip
 *   bomb stops at the cap); per-requester concurrency and rate limits (the requester as the
 *   exit sees it: the tunnel's last hop, the only thing a tunnel lets it know), and a total cap;
 * - the request carries fixed headers only: nothing of the requester's (no cookies, no
 *   headers), no cookie jar; responses' cookies are dropped;
 * - nothing about URLs is logged (errors name the rule, never the URL).
 */
import { lookup as dnsLookup } from 'node:dns/promises'
import http from 'node:http'
import https from 'node:https'
import { networkInterfaces } from 'node:os'
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib'
import { canonicalIp, checkAddress, checkUrl, ExitRefused, portOf } from './exit-policy.js'
import type { ExitPolicy, TestAllowance } from './exit-policy.js'
import type { TunnelObserver } from './events.js'
import type { IncomingMessage } from 'node:http'
import type { Readable } from 'node:stream'

export interface ExitInit {
  /** Largest body, after decompression (default 16 MiB). */
  maxBytes: number
  maxRedirects: number
  connectTimeoutMs: number
  headersTimeoutMs: number
  /** Longest silence while the body is read. */
  idleTimeoutMs: number
  /** Whole fetch, redirects included. */
  totalTimeoutMs: number
  perRequesterConcurrent: number
  perRequesterPerMinute: number
  totalConcurrent: number
  /** Test suite only (refused outside node's test runner): loopback servers the test reaches. */
  testAllow?: TestAllowance
  /** Test suite only: a resolver standing in for DNS (a rebinding one, a name for loopback). */
  testLookup?: (host: string) => Promise<string[]>
}

export const DEFAULT_EXIT: ExitInit = {
  maxBytes: 16 * 1024 * 1024,
  maxRedirects: 5,
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 15_000,
  idleTimeoutMs: 15_000,
  totalTimeoutMs: 60_000,
  perRequesterConcurrent: 2,
  perRequesterPerMinute: 30,
  totalConcurrent: 8
}

/** What the exit sends (and nothing else: no requester headers, no cookies). */
const HEADERS = { 'user-agent': 'warren-exit/1', accept: '*/*', 'accept-encoding': 'gzip, deflate, br', connection: 'close' }

export interface ExitResult {
  size: number
  mime: string
  body: Uint8Array
}

/** The addresses of this machine's interfaces (an exit never fetches from itself). */
function ownAddresses (): Set<string> {
  const out = new Set<string>()
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      const c = canonicalIp(a.address.split('%')[0])
      if (c !== undefined) out.add(c)
    }
  }
  return out
}

export class Exit {
  private readonly init: ExitInit
  private readonly policy: ExitPolicy
  private readonly running = new Map<string, number>()
  private readonly recent = new Map<string, number[]>()
  private total = 0

  /** `observer.exitFetch` is told how each fetch ended (metrics). */
  constructor (init: Partial<ExitInit> = {}, private readonly observer: TunnelObserver = {}) {
    this.init = { ...DEFAULT_EXIT, ...init }
    const testing = process.env.NODE_TEST_CONTEXT !== undefined
    if ((init.testAllow !== undefined || init.testLookup !== undefined) && !testing) {
      throw new Error('exit test allowances work under the test runner only: remove testAllow/testLookup')
    }
    this.policy = { own: ownAddresses(), allow: init.testAllow ?? [] }
  }

  /** Fetch `url` for `requester`: the body, its size and type; ExitRefused when a rule says no. */
  async fetch (url: string, requester: string, signal?: AbortSignal): Promise<ExitResult> {
    try {
      const r = await this.admitted(url, requester, signal)
      this.observer.exitFetch?.('ok')
      return r
    } catch (err) {
      this.observer.exitFetch?.(err instanceof ExitRefused ? err.outcome : 'error')
      throw err
    }
  }

  private async admitted (url: string, requester: string, signal?: AbortSignal): Promise<ExitResult> {
    this.admit(requester)
    try {
      const all = AbortSignal.any([AbortSignal.timeout(this.init.totalTimeoutMs), ...(signal === undefined ? [] : [signal])])
      try {
        return await this.follow(url, all)
      } catch (err) {
        if (err instanceof ExitRefused) throw err
        if (all.aborted) throw new ExitRefused(`the fetch took longer than ${this.init.totalTimeoutMs} ms`, 'timeout')
        throw new ExitRefused(`the fetch failed (${(err as NodeJS.ErrnoException).code ?? (err as Error).name})`, 'error')
      }
    } finally {
      this.running.set(requester, (this.running.get(requester) ?? 1) - 1)
      if (this.running.get(requester) === 0) this.running.delete(requester)
      this.total--
    }
  }

  private admit (requester: string): void {
    const now = Date.now()
    const times = (this.recent.get(requester) ?? []).filter((t) => now - t < 60_000)
    if (this.total >= this.init.totalConcurrent) throw new ExitRefused('the exit is busy; try again later')
    if ((this.running.get(requester) ?? 0) >= this.init.perRequesterConcurrent) throw new ExitRefused(`at most ${this.init.perRequesterConcurrent} fetches at once per requester`)
    if (times.length >= this.init.perRequesterPerMinute) throw new ExitRefused(`at most ${this.init.perRequesterPerMinute} fetches a minute per requester`)
    times.push(now)
    this.recent.set(requester, times)
    if (this.recent.size > 10_000) this.recent.delete(this.recent.keys().next().value as string)
    this.running.set(requester, (this.running.get(requester) ?? 0) + 1)
    this.total++
  }

  private async follow (url: string, signal: AbortSignal): Promise<ExitResult> {
    let u = checkUrl(url, this.policy)
    for (let hops = 0; ; hops++) {
      const res = await this.request(u, signal)
      const location = res.headers.location
      if (res.statusCode !== undefined && res.statusCode >= 300 && res.statusCode < 400 && location !== undefined) {
        res.destroy()
        if (hops >= this.init.maxRedirects) throw new ExitRefused(`more than ${this.init.maxRedirects} redirects`)
        let next: string
        try {
          next = new URL(location, u).toString()
        } catch {
          throw new ExitRefused('a redirect to an invalid URL')
        }
        u = checkUrl(next, this.policy)
        continue
      }
      if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode >= 300) {
        res.destroy()
        throw new ExitRefused(`the site answered HTTP ${res.statusCode ?? '?'}`, 'error')
      }
      const body = await this.read(res, signal)
      const type = res.headers['content-type']
      return { size: body.length, mime: typeof type === 'string' ? type.slice(0, 200) : '', body }
    }
  }

  /** Resolve the host (checking every answer), connect to the checked address, send the fixed request. */
  private async request (u: URL, signal: AbortSignal): Promise<IncomingMessage> {
    const port = portOf(u)
    let address = canonicalIp(u.hostname)
    if (address === undefined) {
      const answers = this.init.testLookup !== undefined
        ? await this.init.testLookup(u.hostname)
        : (await dnsLookup(u.hostname, { all: true, verbatim: true })).map((a) => a.address)
      if (answers.length === 0) throw new ExitRefused('the name does not resolve')
      // Every answer must be allowed: a name that also points inside is refused outright.
      for (const a of answers) checkAddress(a, port, this.policy)
      address = canonicalIp(answers[0])!
    } else {
      checkAddress(address, port, this.policy)
    }
    const mod = u.protocol === 'https:' ? https : http
    const connectTo = address
    return await new Promise<IncomingMessage>((resolve, reject) => {
      const req = mod.request({
        protocol: u.protocol,
        host: connectTo.includes(':') ? `[${connectTo}]` : connectTo,
        port,
        path: `${u.pathname}${u.search}`,
        method: 'GET',
        headers: { ...HEADERS, host: u.host },
        servername: canonicalIp(u.hostname) === undefined ? u.hostname : undefined,
        agent: false,
        signal
      })
      const connectTimer = setTimeout(() => { req.destroy(new ExitRefused(`no connection within ${this.init.connectTimeoutMs} ms`, 'timeout')) }, this.init.connectTimeoutMs)
      const headersTimer = setTimeout(() => { req.destroy(new ExitRefused(`no answer within ${this.init.headersTimeoutMs} ms`, 'timeout')) }, this.init.headersTimeoutMs)
      req.once('socket', (s) => {
        s.once('connect', () => {
          clearTimeout(connectTimer)
          // The address actually connected, checked again (it can only be the one checked above).
          const remote = s.remoteAddress
          if (remote === undefined || canonicalIp(remote) !== canonicalIp(connectTo)) req.destroy(new ExitRefused('connected to an address other than the one checked'))
          else {
            try {
              checkAddress(remote, s.remotePort ?? port, this.policy)
            } catch (err) {
              req.destroy(err as Error)
            }
          }
        })
      })
      req.once('response', (res) => {
        clearTimeout(connectTimer)
        clearTimeout(headersTimer)
        resolve(res)
      })
      req.once('error', (err) => {
        clearTimeout(connectTimer)
        clearTimeout(headersTimer)
        reject(err)
      })
      req.end()
    })
  }

  /** The body, decompressed, at most maxBytes, each chunk within the idle timeout. */
  private async read (res: IncomingMessage, signal: AbortSignal): Promise<Uint8Array> {
    const max = this.init.maxBytes
    const declared = Number(res.headers['content-length'])
    const encoding = (res.headers['content-encoding'] ?? 'identity').trim().toLowerCase()
    if (encoding === 'identity' && Number.isFinite(declared) && declared > max) {
      res.destroy()
      throw new ExitRefused(`the page is larger than ${max} bytes`, 'too_large')
    }
    let stream: Readable = res
    if (encoding === 'gzip' || encoding === 'x-gzip') stream = res.pipe(createGunzip())
    else if (encoding === 'deflate') stream = res.pipe(createInflate())
    else if (encoding === 'br') stream = res.pipe(createBrotliDecompress())
    else if (encoding !== 'identity' && encoding !== '') {
      res.destroy()
      throw new ExitRefused('the page uses an unknown content encoding', 'error')
    }
    const parts: Buffer[] = []
    let n = 0
    let idle: NodeJS.Timeout | undefined
    const stop = (err: Error): void => {
      res.destroy(err)
      stream.destroy(err)
    }
    const arm = (): void => {
      clearTimeout(idle)
      idle = setTimeout(() => { stop(new ExitRefused(`the site went silent for ${this.init.idleTimeoutMs} ms`, 'timeout')) }, this.init.idleTimeoutMs)
    }
    const onAbort = (): void => { stop(new ExitRefused(`the fetch took longer than ${this.init.totalTimeoutMs} ms`, 'timeout')) }
    signal.addEventListener('abort', onAbort, { once: true })
    arm()
    try {
      for await (const chunk of stream) {
        n += (chunk as Buffer).length
        if (n > max) {
          stop(new ExitRefused(`the page is larger than ${max} bytes (after decompression)`, 'too_large'))
          throw new ExitRefused(`the page is larger than ${max} bytes (after decompression)`, 'too_large')
        }
        parts.push(chunk as Buffer)
        arm()
      }
    } catch (err) {
      res.destroy()
      if (err instanceof ExitRefused) throw err
      const cause = (err as { cause?: unknown }).cause
      if (cause instanceof ExitRefused) throw cause
      if (signal.aborted) throw new ExitRefused(`the fetch took longer than ${this.init.totalTimeoutMs} ms`, 'timeout')
      throw err
    } finally {
      clearTimeout(idle)
      signal.removeEventListener('abort', onAbort)
    }
    return new Uint8Array(Buffer.concat(parts))
  }
}

/**
 * The client API's input checks: every numeric query parameter is validated in one place
 * (src/util/params.ts) and answered with a 400 JSON error before any work starts. The API
 * runs here over an in-memory block network: it needs only the narrow ApiNode interface.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createApiServer } from '../../src/api/server.js'
import { MemoryBlockNetwork } from '../client/memory-network.js'
import { memoryNode } from './memory-node.js'
import type { FastifyInstance } from 'fastify'

describe('client API input validation', () => {
  const net = new MemoryBlockNetwork()
  let app: FastifyInstance
  let uri: string

  before(async () => {
    app = await createApiServer(memoryNode(net))
    const put = await app.inject({ method: 'POST', url: '/api/v1/put', headers: { host: '127.0.0.1', 'content-type': 'application/octet-stream' }, payload: Buffer.from('hello') })
    assert.equal(put.statusCode, 200, put.body)
    uri = put.json().uri
  })
  after(async () => { await app.close() })

  const site = (): string => JSON.stringify({ entries: [{ path: 'a.txt', uri }] })
  const routes = (): Array<{ name: string, method: 'GET' | 'POST', url: (htl: string) => string, payload?: () => string }> => [
    { name: 'put', method: 'POST', url: (htl) => `/api/v1/put?htl=${htl}` },
    { name: 'get', method: 'GET', url: (htl) => `/api/v1/get?uri=${encodeURIComponent(uri)}&htl=${htl}` },
    { name: 'redirect', method: 'POST', url: (htl) => `/api/v1/redirect?target=${encodeURIComponent(uri)}&htl=${htl}` },
    { name: 'site', method: 'POST', url: (htl) => `/api/v1/site?htl=${htl}`, payload: site },
    { name: 'gateway', method: 'GET', url: (htl) => `/${uri.replace(/^warren:/, '')}?htl=${htl}` }
  ]

  for (const bad of ['abc', '-1', '21', '1000', '2.5', '1e2']) {
    it(`answers 400 to htl=${bad} on put, get, redirect, site and the gateway, before any insert`, async () => {
      for (const r of routes()) {
        const inserts = net.calls.length
        const res = await app.inject({ method: r.method, url: r.url(encodeURIComponent(bad)), headers: { host: '127.0.0.1', 'content-type': r.payload === undefined ? 'application/octet-stream' : 'application/json' }, payload: r.payload?.() ?? 'x' })
        assert.equal(res.statusCode, 400, `${r.name}: ${res.body}`)
        assert.deepEqual(res.json(), { error: `htl must be an integer from 0 to 20, got "${bad}"`, statusCode: 400 }, r.name)
        assert.equal(net.calls.length, inserts, `${r.name} touched the network`)
      }
    })
  }

  it('accepts a valid htl everywhere and passes it to the network', async () => {
    for (const r of routes()) {
      const from = net.calls.length
      const res = await app.inject({ method: r.method, url: r.url('2'), headers: { host: '127.0.0.1', 'content-type': r.payload === undefined ? 'application/octet-stream' : 'application/json' }, payload: r.payload?.() ?? 'x' })
      assert.equal(res.statusCode, 200, `${r.name}: ${res.body}`)
      const calls = net.calls.slice(from)
      assert.ok(calls.length > 0 && calls.every((c) => c.htl === 2), `${r.name} used htl 2`)
    }
  })

  it('answers 400 to a bad period, start or at of an update, and to an update parameter without update', async () => {
    const post = async (q: string): Promise<{ status: number, error: string }> => {
      const res = await app.inject({ method: 'POST', url: `/api/v1/put?${q}`, headers: { host: '127.0.0.1', 'content-type': 'application/octet-stream' }, payload: 'x' })
      return { status: res.statusCode, error: res.json().error }
    }
    const dest = encodeURIComponent('warren:SSK-INSERT@a,b/x')
    assert.deepEqual(await post(`update=${dest}&period=abc`), { status: 400, error: 'period (seconds) must be an integer from 1 to 9007199254740991, got "abc"' })
    assert.deepEqual(await post(`update=${dest}&start=yesterday`), { status: 400, error: 'start must be Unix seconds or an ISO 8601 date, got "yesterday"' })
    assert.deepEqual(await post(`update=${dest}&at=never`), { status: 400, error: 'at must be Unix seconds or an ISO 8601 date, got "never"' })
    assert.deepEqual(await post('period=60'), { status: 400, error: 'period applies to update only' })
  })
})

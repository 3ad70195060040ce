/**
 * The client API for signed keys, as `warren keygen/put/get` use it: put under SSK, KSK and
 * updatable names, then get every key type back through the same endpoint.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createApiServer } from '../../src/api/server.js'
import { createNetwork } from '../helpers/network.js'
import { randomBytes } from '../helpers/seed.js'
import type { TestNetwork } from '../helpers/network.js'
import type { FastifyInstance } from 'fastify'

describe('client API for signed and updatable keys', () => {
  let net: TestNetwork
  let writer: FastifyInstance
  let reader: FastifyInstance

  const put = async (query: string, body: Uint8Array): Promise<{ status: number, json: any }> => {
    const r = await writer.inject({ method: 'POST', url: `/api/v1/put?${query}`, payload: Buffer.from(body), headers: { 'content-type': 'application/octet-stream' } })
    return { status: r.statusCode, json: r.json() }
  }
  const get = async (uri: string): Promise<{ status: number, body: Buffer }> => {
    const r = await reader.inject({ method: 'GET', url: `/api/v1/get?uri=${encodeURIComponent(uri)}` })
    return { status: r.statusCode, body: r.rawPayload }
  }

  before(async () => {
    net = await createNetwork(3, { core: { hopTimeoutMs: 1500 } })
    await net.connect(0, 1)
    await net.connect(1, 2)
    writer = await createApiServer(net.nodes[0])
    reader = await createApiServer(net.nodes[2])
  })

  after(async () => {
    await writer.close()
    await reader.close()
    await net.stop()
  })

  it('puts under an SSK and gets it back from another node; never overwrites', async () => {
    const k = (await writer.inject({ method: 'GET', url: '/api/v1/keygen' })).json()
    assert.match(k.insertUri, /^warren:SSK-INSERT@\w+,\w+\/$/)
    assert.match(k.requestUri, /^warren:SSK@\w+,\w+\/$/)
    const data = randomBytes(70_000)
    const r = await put(`ssk=${encodeURIComponent(`${k.insertUri}notes.txt`)}`, data)
    assert.equal(r.status, 200, JSON.stringify(r.json))
    assert.equal(r.json.uri, `${k.requestUri}notes.txt`)
    assert.match(r.json.target, /^warren:CHK@/)
    const got = await get(`${k.requestUri}notes.txt`)
    assert.equal(got.status, 200)
    assert.ok(got.body.equals(data))
    // Same content again is fine; other content under the same name is refused.
    assert.equal((await put(`ssk=${encodeURIComponent(`${k.insertUri}notes.txt`)}`, data)).status, 200)
    const clash = await put(`ssk=${encodeURIComponent(`${k.insertUri}notes.txt`)}`, randomBytes(10))
    assert.equal(clash.status, 409)
    assert.match(clash.json.error, /never overwritten/)
    // A request URI cannot insert.
    const denied = await put(`ssk=${encodeURIComponent(`${k.requestUri}x`)}`, data)
    assert.equal(denied.status, 400)
    assert.match(denied.json.error, /insert URI/)
  })

  it('puts under a KSK: the first insert owns the word', async () => {
    const word = `test/keyword/${randomBytes(6).toString('hex')}`
    const data = randomBytes(500)
    const r = await put(`ksk=${encodeURIComponent(word)}`, data)
    assert.equal(r.status, 200, JSON.stringify(r.json))
    assert.equal(r.json.uri, `warren:KSK@${word}`)
    assert.ok((await get(`KSK@${word}`)).body.equals(data))
    const squat = await put(`ksk=${encodeURIComponent(word)}`, randomBytes(500))
    assert.equal(squat.status, 409)
  })

  it('publishes editions with update and gets the latest through the same endpoint', async () => {
    const k = (await writer.inject({ method: 'GET', url: '/api/v1/keygen' })).json()
    const name = encodeURIComponent(`${k.insertUri}site`)
    const v = [randomBytes(100), randomBytes(200), randomBytes(300)]
    for (const [i, data] of v.entries()) {
      const r = await put(`update=${name}`, data)
      assert.equal(r.status, 200, JSON.stringify(r.json))
      assert.equal(r.json.edition, i)
    }
    assert.ok((await get(`${k.requestUri}site`)).body.equals(v[2]))
    assert.ok((await get(`${k.requestUri}site/0`)).body.equals(v[0]))
    const res = (await reader.inject({ method: 'GET', url: `/api/v1/resolve?uri=${encodeURIComponent(`${k.requestUri}site`)}` })).json()
    assert.equal(res.edition, 2)
    assert.deepEqual(res.trace, [`${k.requestUri}site`, `${k.requestUri}site/2`])
  })

  it('creates a date-based redirect and reports its slot', async () => {
    const k = (await writer.inject({ method: 'GET', url: '/api/v1/keygen' })).json()
    const data = randomBytes(100)
    const r = await put(`update=${encodeURIComponent(`${k.insertUri}daily`)}&period=3600&start=2020-01-01T00:00:00Z`, data)
    assert.equal(r.status, 200, JSON.stringify(r.json))
    assert.deepEqual(r.json.descriptor, { kind: 'dbr', period: 3600, start: Date.UTC(2020, 0, 1) / 1000 })
    assert.equal(r.json.slot.until - r.json.slot.from, 3600)
    assert.ok((await get(`${k.requestUri}daily`)).body.equals(data))
  })

  it('explains bad requests', async () => {
    const both = await put('ssk=a&ksk=b', randomBytes(1))
    assert.equal(both.status, 400)
    assert.match(both.json.error, /one of ssk, ksk and update/)
    const missing = await get(`KSK@nobody-inserted-this-${randomBytes(4).toString('hex')}`)
    assert.equal(missing.status, 404)
  })
})

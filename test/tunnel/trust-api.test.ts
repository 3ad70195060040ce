/**
 * `warren trust export|add|list|remove` through the client API of two real nodes: B's card
 * added at A under a name, listed, refused when its signature is broken, removed.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createApiServer } from '../../src/api/server.js'
import { CARD_PREFIX } from '../../src/tunnel/card.js'
import { createNetwork } from '../helpers/network.js'
import type { TestNetwork } from '../helpers/network.js'
import type { FastifyInstance } from 'fastify'

describe('trust API', () => {
  let net: TestNetwork
  let a: FastifyInstance
  let b: FastifyInstance

  before(async () => {
    net = await createNetwork(2)
    a = await createApiServer(net.nodes[0])
    b = await createApiServer(net.nodes[1])
  })
  after(async () => {
    await a.close()
    await b.close()
    await net.stop()
  })

  it('exports a card, adds it under a name, lists and removes it; a forged card is refused', async () => {
    const exported = (await b.inject({ method: 'GET', url: '/api/v1/trust/card' })).json()
    assert.ok(exported.card.startsWith(CARD_PREFIX))
    assert.equal(exported.peerId, net.nodes[1].peerId)
    assert.ok(exported.multiaddrs.length > 0, 'the card says how to reach the node')

    const raw = Buffer.from(exported.card.slice(CARD_PREFIX.length), 'base64url')
    raw[raw.length - 3] ^= 0x10
    const forged = await a.inject({ method: 'POST', url: '/api/v1/trust?name=bob', payload: CARD_PREFIX + raw.toString('base64url') })
    assert.equal(forged.statusCode, 400)
    assert.match(forged.json().error, /signature/)

    const added = await a.inject({ method: 'POST', url: '/api/v1/trust?name=bob', payload: exported.card })
    assert.equal(added.statusCode, 200, added.body)
    assert.equal(added.json().peerId, net.nodes[1].peerId)
    const list = (await a.inject({ method: 'GET', url: '/api/v1/trust' })).json()
    assert.deepEqual(list.map((p: { name: string, peerId: string }) => [p.name, p.peerId]), [['bob', net.nodes[1].peerId]])

    assert.equal((await a.inject({ method: 'DELETE', url: '/api/v1/trust?name=bob' })).statusCode, 200)
    assert.deepEqual((await a.inject({ method: 'GET', url: '/api/v1/trust' })).json(), [])
    assert.equal((await a.inject({ method: 'DELETE', url: '/api/v1/trust?name=bob' })).statusCode, 400)
  })
})

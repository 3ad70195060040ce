/**
 * Address-resolution keys: a node's ARK is computable from its peer ID alone, carries its
 * addresses, and lets a peer find the node again after it restarts on a new port.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { arkAddrs, arkInsertRef, arkRef, arkRefOfPeer, decodeArk, encodeArk, resolveArk } from '../../src/ark/ark.js'
import { sskRefOf, sskRoutingKey } from '../../src/keys/ssk.js'
import { createWarrenNode } from '../../src/node.js'
import { createNetwork, until } from '../helpers/network.js'
import type { TestNetwork } from '../helpers/network.js'

const port = (addr: string): string => addr.split('/')[4]

describe('ARK keys', () => {
  it('are computable from the peer ID alone and match what the node signs with', async () => {
    const key = await generateKeyPair('Ed25519')
    const id = peerIdFromPrivateKey(key)
    const fromPeer = arkRefOfPeer(id.toString())
    assert.deepEqual(fromPeer, arkRef(key.publicKey.raw))
    assert.ok(sskRoutingKey(sskRefOf(arkInsertRef(key))).equals(sskRoutingKey(fromPeer)))
  })

  it('round-trip a record, stripping /p2p and duplicates, within one SSK block', () => {
    const addrs = arkAddrs(['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo', '/ip4/127.0.0.1/tcp/4001', '/ip6/::1/tcp/4002'])
    assert.deepEqual(addrs, ['/ip4/127.0.0.1/tcp/4001', '/ip6/::1/tcp/4002'])
    assert.deepEqual(decodeArk(encodeArk({ addrs, time: 42 })), { addrs, time: 42 })
    const many = Array.from({ length: 40 }, (_, i) => `/dns4/a-very-long-host-name-number-${i}.example.org/tcp/${4000 + i}`)
    const bytes = encodeArk({ addrs: arkAddrs(many), time: 1 })
    assert.ok(bytes.length <= 1019)
    assert.ok(decodeArk(bytes).addrs.length >= 1)
    assert.throws(() => decodeArk(new TextEncoder().encode('{"v":2}')), /malformed ARK/)
  })
})

describe('a node restarted on a new port', () => {
  let net: TestNetwork
  const [A, B, C] = [0, 1, 2]

  before(async () => {
    // Source reset 1: nodes name themselves as data sources, so A cannot learn C's new
    // address from the messages it relays: only the ARK tells it.
    net = await createNetwork(3, { core: { sourceResetProb: 1, hopTimeoutMs: 1500 } })
    await net.connect(A, B)
    await net.connect(B, C)
    await net.connect(A, C)
  })

  after(async () => { await net.stop() })

  it('is reached again through its ARK', async () => {
    const a = net.nodes[A]
    const c = net.nodes[C]
    const cId = c.libp2p.peerId
    await c.ark.publish(true)
    assert.equal(c.ark.stats.lastEdition, 0)
    const oldPort = port(c.addresses()[0])

    // Restart C (same data dir, same identity) on a new port, joining through B only.
    await c.stop()
    await until(() => a.libp2p.getConnections(cId).length === 0, 5000, 'A to notice C left')
    // No announcement: its walk would carry C's new address to A as well, and this test is
    // about the ARK being enough on its own.
    const c2 = await createWarrenNode({ ...c.config, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [net.nodes[B].addresses()[0]] },
      { localTestnet: true, announce: false, core: { sourceResetProb: 1, hopTimeoutMs: 1500 } })
    net.nodes[C] = c2
    await c2.start()
    assert.equal(c2.peerId, cId.toString())
    const newPort = port(c2.addresses()[0])
    assert.notEqual(newPort, oldPort)
    await until(() => c2.service.core.table.has(net.nodes[B].peerId), 10_000, 'C to route through B')
    await c2.ark.publish()
    assert.equal(c2.ark.stats.lastEdition, 1, 'published the next edition')
    assert.equal(c2.libp2p.getConnections(a.libp2p.peerId).length, 0, 'C has not contacted A itself')
    const known = (await a.libp2p.peerStore.get(cId)).addresses.map((x) => port(x.multiaddr.toString()))
    assert.deepEqual(known.includes(newPort), false, 'A does not know the new address')

    await a.maintain()
    assert.equal(a.ark.stats.reconnected, 1)
    const conns = a.libp2p.getConnections(cId)
    assert.ok(conns.length > 0, 'A is connected to C again')
    assert.equal(port(conns[0].remoteAddr.toString()), newPort)

    const found = await resolveArk(net.nodes[B].keys, cId)
    assert.equal(found?.edition, 1)
    assert.ok(found?.record.addrs.some((x) => port(x) === newPort))
  })
})

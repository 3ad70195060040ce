/**
 * Node announcement between real libp2p nodes on 127.0.0.1, driven by the same
 * AnnounceCore the simulator runs: the walk agrees on SHA-256 of the XOR of every
 * participant's seed, and exactly the nodes of the walk add the newcomer under that key.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { RoutingKey } from '../../src/keys/routing-key.js'
import { createNetwork, createNode, ring, until } from '../helpers/network.js'
import type { TestNetwork } from '../helpers/network.js'
import type { WarrenNode } from '../../src/node.js'

function knows (node: WarrenNode, peer: string, loc: number): boolean {
  for (const e of node.service.core.table.entries()) if (e.peer === peer && e.loc === loc) return true
  return false
}

describe('node announcement over libp2p', () => {
  let net: TestNetwork
  const extra: Array<{ node: WarrenNode }> = []

  before(async () => {
    net = await createNetwork(6)
    await ring(net)
  })

  after(async () => {
    for (const e of extra) await e.node.stop()
    await net.stop()
  })

  it('agrees on a key by commit-and-reveal and every node of the walk adds the newcomer under it', async () => {
    const { node: newcomer } = await createNode()
    extra.push({ node: newcomer })
    await newcomer.libp2p.dial(net.nodes[0].libp2p.getMultiaddrs()[0])
    await until(() => newcomer.service.core.table.has(net.nodes[0].peerId), 10_000, 'newcomer connected')

    const htl = 4
    const r = await newcomer.service.announce(net.nodes[0].peerId, htl)
    assert.equal(r.key.bytes.length, 32)
    assert.ok(r.participants >= 1 && r.participants <= htl, `${r.participants} participants`)
    const holders = net.nodes.filter((n) => knows(n, newcomer.peerId, r.key.loc))
    assert.equal(holders.length, r.participants, 'exactly the walk records the newcomer under the agreed key')
    assert.ok(knows(net.nodes[0], newcomer.peerId, r.key.loc), 'the bootstrap node is on the walk')
    for (const n of [...net.nodes, newcomer]) await until(() => n.service.activeOperations === 0, 5000, 'announcement state released')
  })

  it('announces by itself on start when given a bootstrap peer, and reports it in status', async () => {
    const boot = `${net.nodes[3].libp2p.getMultiaddrs()[0].toString()}`
    const { node } = await createNode({ config: { bootstrap: [boot] } })
    extra.push({ node })
    await until(() => node.status().announcement !== null, 20_000, 'automatic announcement')
    const a = node.status().announcement!
    const loc = RoutingKey.fromHex(a.key).loc
    // The walk may pass through the first test's newcomer too: count every node.
    const everyone = [...net.nodes, ...extra.map((e) => e.node)]
    assert.equal(everyone.filter((n) => knows(n, node.peerId, loc)).length, a.participants)
  })
})

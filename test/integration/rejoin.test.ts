/**
 * The periodic rejoin between real libp2p nodes on 127.0.0.1: an announced node routes its
 * join toward its location again once `rejoinIntervalMs` has passed since its last one
 * (networkProfile.rejoin; docs/simulation.md, "Periodic rejoin"), so that nodes that came to
 * live near it since learn it. Without the interval nothing is sent.
 */
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { after, before, describe, it } from 'node:test'
import { createNetwork, createNode, ring, until } from '../helpers/network.js'
import type { TestNetwork } from '../helpers/network.js'
import type { WarrenNode } from '../../src/node.js'

function knows (node: WarrenNode, peer: string, loc: number): boolean {
  for (const e of node.service.core.table.entries()) if (e.peer === peer && e.loc === loc) return true
  return false
}

describe('periodic rejoin toward the node\'s location', () => {
  let net: TestNetwork
  const extra: Array<{ node: WarrenNode, dir: string }> = []

  before(async () => {
    net = await createNetwork(6)
    await ring(net, [[0, 3], [1, 4]])
  })

  after(async () => {
    for (const e of extra) await e.node.stop().catch(() => {})
    await net.stop()
    for (const e of extra) await rm(e.dir, { recursive: true, force: true })
  })

  /** A node announced through node `via` of the network, its location and the nodes that know it there. */
  async function announced (via: number, rejoinIntervalMs: number): Promise<{ node: WarrenNode, loc: number }> {
    const config = { bootstrap: [net.nodes[via].libp2p.getMultiaddrs()[0].toString()] }
    const created = await createNode({ config, rejoinIntervalMs })
    extra.push(created)
    const node = created.node
    await until(() => node.status().announcement !== null, 20_000, 'automatic announcement')
    // Its first join ends before the test makes the network forget it.
    await until(() => node.service.activeOperations === 0, 20_000, 'the first join ended')
    return { node, loc: node.service.location }
  }

  it('routes the join again once the interval has passed: the network learns the node at its location anew', async () => {
    const { node, loc } = await announced(2, 1)
    // The network forgets the node's location, so that only a new join can teach it again.
    for (const n of net.nodes) n.service.core.table.remove(loc, node.peerId)
    assert.ok(net.nodes.every((n) => !knows(n, node.peerId, loc)))
    await node.announcer.tick()
    await until(() => net.nodes.some((n) => knows(n, node.peerId, loc)), 20_000, 'a join toward the location')
    assert.equal(node.status().announcement!.restored, false, 'no restart, no new walk')
  })

  it('sends nothing before the interval has passed (or with the rejoin off)', async () => {
    for (const every of [0, 3_600_000]) {
      const { node } = await announced(5, every)
      await node.announcer.tick()
      assert.equal(node.service.activeOperations, 0, `rejoinIntervalMs ${every}: a join started`)
    }
  })
})

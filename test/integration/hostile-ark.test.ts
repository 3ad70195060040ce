/**
 * Finding 5 of issue 11: an attacker's ARK must not make a node dial addresses of the
 * attacker's choosing inside the operator's network. The attacker (a warren node) lists a
 * loopback canary in its ARK and goes away; the node, reconnecting to it through the ARK,
 * dials the canary only when it allows private addresses (the control run).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { publishArk } from '../../src/ark/ark.js'
import { removeTempDir } from '../helpers/temp.js'
import { canary } from '../helpers/attacks.js'
import { createNode, until } from '../helpers/network.js'

describe('addresses found in an ARK', () => {
  for (const allow of [false, true]) {
    it(allow ? 'are dialled when private addresses are allowed (control)' : 'are never dialled inside private ranges by default', async () => {
      const trap = await canary()
      const key = await generateKeyPair('Ed25519')
      const victim = await createNode({ service: { allowPrivateAddrs: allow }, core: { hopTimeoutMs: 1000 } })
      const attacker = await createNode({ privateKey: key, core: { hopTimeoutMs: 1000 } })
      const v = victim.node
      const e = attacker.node
      try {
        await v.libp2p.dial(e.libp2p.getMultiaddrs()[0])
        await until(() => v.service.core.table.has(e.peerId) && e.service.core.table.has(v.peerId), 10_000, 'the two nodes to be neighbours')
        // The attacker's ARK names the canary; the victim stores it (its only neighbour).
        const r = await publishArk(e.keys, key, [trap.addr], { force: true })
        assert.ok(r.stored >= 1, 'the ARK reached the victim')
        await e.stop()
        await until(() => v.libp2p.getConnections(e.libp2p.peerId).length === 0, 5000, 'the victim to notice the attacker left')
        // Neighbour upkeep: the attacker cannot be dialled at its old address, so its ARK is read.
        await v.maintain()
        assert.equal(v.ark.stats.resolved, 1, 'the ARK was resolved')
        assert.equal(trap.connections() > 0, allow, `connections to the canary: ${trap.connections()}`)
        const known = (await v.libp2p.peerStore.get(e.libp2p.peerId)).addresses.map((a) => a.multiaddr.toString())
        assert.equal(known.includes(trap.addr), allow, `peer store addresses of the attacker: ${known.join(', ')}`)
      } finally {
        await v.stop()
        await e.stop().catch(() => {})
        await trap.close()
        await removeTempDir(victim.dir)
        await removeTempDir(attacker.dir)
      }
    })
  }
})

/**
 * Backtracking inserts in a network too small for them (issue 15): three real nodes in a
 * triangle, where every branch of an insert ends in a loop and the insert backtracks home.
 * The `network` profile (what these nodes run, unchanged) hands such an insert to the
 * originator's nearest peer at HTL 0 (NodeCoreOptions.insertHomeHandOff), so the block must end
 * in the store of a peer that serves it, whatever HTL the user started at — not only in the
 * originator's client cache, which no peer reads, with the put reporting success (what
 * test/client/updatable.test.ts caught in 2 runs of 8 with the start-HTL bound); and a lookup
 * that failed before the insert must not keep the key failing afterwards.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { KeyType, type Block } from '../../proto/warren.js'
import { ChkType, encodeChk } from '../../src/keys/chk.js'
import { networkProfile } from '../../src/routing/profiles.js'
import { createNetwork, ring } from '../helpers/network.js'
import { randomBytes } from '../helpers/seed.js'
import type { RoutingKey } from '../../src/keys/routing-key.js'
import type { TestNetwork } from '../helpers/network.js'

function chkBlock (payload: Uint8Array): { key: RoutingKey, block: Block } {
  const c = encodeChk(ChkType.DATA, payload)
  return { key: c.routingKey, block: { type: KeyType.CHK, data: c.block, pubkey: new Uint8Array(), signature: new Uint8Array(), headers: new Uint8Array() } }
}

describe('inserts that backtrack home in a 3-node network (network profile)', () => {
  let net: TestNetwork

  before(async () => {
    assert.equal(networkProfile.core.insertBacktrack, true, 'this test is about backtracking inserts')
    net = await createNetwork(3)
    await ring(net)
  })

  after(async () => { await net.stop() })

  for (const htl of [3, 6, 20]) {
    it(`an insert at HTL ${htl} ends in a peer's store, and every peer can fetch it`, async () => {
      for (let i = 0; i < 4; i++) {
        const { key, block } = chkBlock(randomBytes(1000 + i))
        const ins = await net.nodes[0].service.insert(key, block, { htl })
        assert.equal(ins.collision, false)
        const served = [1, 2].filter((p) => net.nodes[p].store.has(key))
        assert.ok(served.length > 0, `HTL ${htl}, insert ${i}: no peer stores it (stored ${ins.stored}, depth ${ins.depth})`)
        assert.equal(ins.stored, served.length + 1, 'stored counts the originator and the peers that hold it')
        assert.ok(!net.nodes[0].store.has(key), 'the originator keeps its own insert in its client cache only')
        for (const p of [1, 2]) {
          const got = await net.nodes[p].service.request(key, { htl: 2 })
          assert.ok(Buffer.from(got.block.data).equals(block.data), `node ${p} fetched the inserted bytes`)
        }
      }
    })
  }
})

describe('a key looked up in vain before its insert, in a 5-node network (network profile)', () => {
  let net: TestNetwork

  before(async () => {
    // test/client/updatable.test.ts's network: a ring of five with one chord.
    net = await createNetwork(5, { core: { hopTimeoutMs: 2000 } })
    await ring(net, [[0, 2]])
  })

  after(async () => { await net.stop() })

  it('is found after the insert from every node: an insert clears the failure entries the lookup left', async () => {
    for (let i = 0; i < 6; i++) {
      const { key, block } = chkBlock(randomBytes(3000 + i))
      // The updatable descriptor's flow (key-client.ts): the name is looked up (here by every
      // node), then inserted; lookups whose HTL ran out left failure entries along their paths.
      for (const p of [0, 1, 2, 3, 4]) await assert.rejects(net.nodes[p].service.request(key, { htl: 6 }), /not found/)
      assert.ok(net.nodes.some((n) => n.service.core.failures.size > 0), 'the lookups left failure entries')
      await net.nodes[1].service.insert(key, block, { htl: 6 })
      for (const p of [0, 2, 3, 4]) {
        const got = await net.nodes[p].service.request(key, { htl: 6 })
        assert.ok(Buffer.from(got.block.data).equals(block.data), `key ${i}: node ${p} fetched the inserted bytes`)
      }
    }
  })
})

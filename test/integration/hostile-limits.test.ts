/**
 * Issue 11 (low finding): no global cap on in-flight operations, and one host could hold
 * MAX_OPS_PER_PEER operations per identity (30 identities x 32 = 260 at once). Raw peers
 * with fresh identities, all on 127.0.0.1, hold inserts open: past the per-IP cap, and past
 * the node's total cap, the node sheds with OVERLOADED, and takes operations again once the
 * holders let go.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { Error as WireError, FrameType } from '../../proto/warren.js'
import { holdInserts } from '../helpers/attacks.js'
import { createNode, until } from '../helpers/network.js'
import { createRawPeer } from '../helpers/raw-peer.js'
import { removeTempDir } from '../helpers/temp.js'
import type { RawPeer } from '../helpers/raw-peer.js'
import type { TestNetworkOptions } from '../helpers/network.js'
import type { WarrenNode } from '../../src/node.js'

describe('operation limits across identities', () => {
  const cleanup: Array<() => Promise<void>> = []
  after(async () => { for (const f of cleanup.reverse()) await f() })

  async function setup (service: TestNetworkOptions['service'], identities: number): Promise<{ node: WarrenNode, peers: RawPeer[] }> {
    const { node, dir } = await createNode({ service, core: { hopTimeoutMs: 1000 } })
    cleanup.push(async () => { await node.stop(); await removeTempDir(dir) })
    const peers = await Promise.all(Array.from({ length: identities }, async () => await createRawPeer()))
    for (const p of peers) {
      await p.start()
      cleanup.push(async () => { await p.stop() })
    }
    return { node, peers }
  }

  for (const limit of ['per IP', 'in total'] as const) {
    it(`sheds operations past the cap ${limit} with OVERLOADED, then recovers`, async () => {
      // Per peer 4; the cap under test 10, the other one out of the way.
      const service = limit === 'per IP' ? { maxOpsPerPeer: 4, maxOpsPerIp: 10 } : { maxOpsPerPeer: 4, maxOpsPerIp: 1000, maxOpsTotal: 10 }
      const { node, peers } = await setup(service, 4)
      const target = node.libp2p.getMultiaddrs()[0]
      const held = []
      // Four identities on one host, four operations each: 16 asked, 10 admitted.
      for (const [i, p] of peers.entries()) held.push(await holdInserts(p, target, 4, BigInt(1000 * (i + 1))))
      const answers = held.flatMap((h) => h.answers)
      assert.equal(answers.filter((a) => a.type === FrameType.ALL_CLEAR).length, 10)
      const shed = answers.filter((a) => a.type === FrameType.ERROR)
      assert.equal(shed.length, 6)
      assert.ok(shed.every((a) => a.code === WireError.Code.OVERLOADED), JSON.stringify(shed))
      assert.match(shed[0].message ?? '', limit === 'per IP' ? /from your address \(max 10\)/ : /busy \(10 operations in progress\)/)
      assert.equal(node.service.slotsHeld, 10)
      for (const h of held) h.release()
      await until(() => node.service.activeOperations === 0 && node.service.slotsHeld === 0, 10_000, 'held operations released')
      const again = await holdInserts(peers[3], target, 4, 99_000n)
      assert.ok(again.answers.every((a) => a.type === FrameType.ALL_CLEAR), 'admitted again once the others let go')
      again.release()
    })
  }
})

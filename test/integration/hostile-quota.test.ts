/**
 * Finding 4 of issue 11: one peer could store ~398 MiB on a node in 20 s (no insert quota).
 * A raw peer floods inserts of genuine blocks; the node takes its quota of blocks (and of
 * bytes) per window, refuses the rest with OVERLOADED, and still takes another peer's inserts.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Error as WireError, FrameType } from '../../proto/warren.js'
import { insertFlood, rawInsert } from '../helpers/attacks.js'
import { createNode, until } from '../helpers/network.js'
import { createRawPeer } from '../helpers/raw-peer.js'
import { removeTempDir } from '../helpers/temp.js'
import type { InsertOutcome } from '../helpers/attacks.js'
import type { RawPeer } from '../helpers/raw-peer.js'
import type { WarrenNode } from '../../src/node.js'

const BLOCK = 32 * 1024

function overloaded (outs: InsertOutcome[]): InsertOutcome[] {
  return outs.filter((o) => !o.stored && o.frame === FrameType.ERROR && o.code === WireError.Code.OVERLOADED)
}

describe('insert quota per peer', () => {
  const nodes: Array<{ node: WarrenNode, dir: string }> = []
  let evil: RawPeer
  let other: RawPeer

  before(async () => {
    evil = await createRawPeer()
    other = await createRawPeer()
    await evil.start()
    await other.start()
  })

  after(async () => {
    await evil.stop()
    await other.stop()
    for (const n of nodes) {
      await n.node.stop()
      await removeTempDir(n.dir)
    }
  })

  it('stores at most its block quota from one peer in a window, then answers OVERLOADED', async () => {
    const created = await createNode({ service: { insertQuota: { blocks: 12, windowMs: 60_000 } } })
    nodes.push(created)
    const target = created.node.libp2p.getMultiaddrs()[0]
    const outs = await insertFlood(evil, target, 40, 4)
    const stored = outs.filter((o) => o.stored).length
    assert.equal(stored, 12, `stored from the flooding peer: ${stored}`)
    assert.equal(overloaded(outs).length, 28)
    const refused = overloaded(outs)[0]
    assert.ok(!refused.stored && /insert quota exceeded.*try again in \d+ s/.test(refused.message ?? ''), `message: ${JSON.stringify(refused)}`)
    assert.equal(created.node.store.stats().count, 12)
    // Another peer is not punished for the flood.
    assert.deepEqual(await rawInsert(other, target, 9_000_001n), { stored: true })
    await until(() => created.node.service.activeOperations === 0, 5000, 'no operation left')
  })

  it('stores at most its byte quota from one peer in a window', async () => {
    const created = await createNode({ service: { insertQuota: { blocks: 1000, bytes: 5 * BLOCK, windowMs: 60_000 } } })
    nodes.push(created)
    const outs = await insertFlood(evil, created.node.libp2p.getMultiaddrs()[0], 20, 1, 100n)
    assert.equal(outs.filter((o) => o.stored).length, 5)
    assert.equal(overloaded(outs).length, 15, 'the data of the rest was refused')
    assert.equal(created.node.store.stats().count, 5)
  })
})

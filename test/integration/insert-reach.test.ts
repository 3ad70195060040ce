/**
 * A put that tried peers must reach one before it reports success (NodeCore.endInsertHere). The
 * node's own copy goes to its client cache, which no peer reads (issue 11, finding 6); the
 * 40-node churn bench found the files no running node could fetch were all put by a node that
 * no peer had connected to: every one of its puts said "stored" with the block in that node's
 * client cache only (docs/reliability.md, "Churn"). Real nodes on 127.0.0.1: a node that never
 * had a peer keeps the file for its user and says no other node has it (`minStored` 1, which
 * the CLI turns into a warning); one whose only neighbour was stopped (the churn case) gets an
 * error that says what happened; once connected again, the same put succeeds and a peer serves
 * the file.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createNetwork } from '../helpers/network.js'
import { randomBytes } from '../helpers/seed.js'
import type { TestNetwork } from '../helpers/network.js'

describe('a put reaches another node or fails', () => {
  let net: TestNetwork

  before(async () => {
    net = await createNetwork(4, { announce: false, core: { hopTimeoutMs: 1000 } })
  })
  after(async () => { await net?.stop() })

  it('a node no peer ever connected to: the put keeps the file for its user and says no other node has it', async () => {
    const alone = net.nodes[3]
    const data = randomBytes(2000)
    const put = await alone.client.put([data])
    assert.equal(put.minStored, 1, 'stored at this node only')
    assert.equal(alone.store.stats().count, 0, 'in the client cache, not in the store peers read')
    assert.deepEqual(Buffer.from(await alone.client.get(put.uri)), Buffer.from(data))
  })

  it('a node whose only neighbour was stopped: the put says no other node has it; connected again, it is stored and served', async () => {
    const [a, b, c] = net.nodes
    await net.connect(0, 1)
    await b.stop()
    // A still holds B's routing entry, but B cannot be reached and there is no other route: the
    // block stays at home and the put says so.
    assert.ok(a.service.core.table.has(b.peerId))
    const data = randomBytes(2000)
    const lost = await a.client.put([data])
    assert.equal(lost.minStored, 1, 'stored at this node only (the CLI warns)')
    assert.equal(c.store.stats().count, 0)

    await net.connect(0, 2)
    const { uri } = await a.client.put([data])
    assert.equal(c.clientCache.stats().count, 0)
    assert.ok(c.store.stats().count > 0, 'the insert left the block in its peer\'s store')
    assert.deepEqual(Buffer.from(await c.client.get(uri)), Buffer.from(data))
  })
})

/**
 * What a node keeps of its own transfers in its client cache (NetworkOptions.keep,
 * WarrenClientInit.keepMaxBytes): a file larger than the cache's size / CLIENT_CACHE_KEEP_DIVISOR
 * would turn the cache over, so a put keeps only the blocks of its first keepMaxBytes and a get
 * keeps none of the file's blocks; smaller files are kept whole. A block that no peer took
 * (a node alone) is kept whatever the size: it is the only copy. Real nodes on 127.0.0.1,
 * client caches of 1 MiB (keep limit 128 KiB).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { CLIENT_CACHE_KEEP_DIVISOR } from '../../src/constants.js'
import { createNetwork } from '../helpers/network.js'
import { randomBytes } from '../helpers/seed.js'
import type { TestNetwork } from '../helpers/network.js'

const CACHE = 1024 * 1024
const KEEP_MAX = CACHE / CLIENT_CACHE_KEEP_DIVISOR

describe('what a node keeps of its own transfers', () => {
  let net: TestNetwork

  // A line 0 - 1 - 2 (node 3 alone). Puts at 0 with HTL 1 leave the file at 0 and 1: node 2
  // fetches it through 1, from off the insert path, so what it keeps is its own choice (HTL
  // decremented at every hop: the probabilistic rule could carry HTL 1 on to node 2).
  before(async () => {
    net = await createNetwork(4, { announce: false, config: { clientCacheBytes: CACHE }, core: { hopTimeoutMs: 2000, probabilisticHtl: false } })
    await net.connect(0, 1)
    await net.connect(1, 2)
  })
  after(async () => { await net?.stop() })

  it('a file within the keep limit is kept whole by the node that put it and by the one that got it', async () => {
    const [a, , c] = net.nodes
    const data = randomBytes(KEEP_MAX / 2)
    const before = a.clientCache.stats().count
    const put = await a.client.put([data], { htl: 1 })
    assert.ok(put.minStored >= 2, `placed on ${put.minStored} nodes`)
    assert.equal(a.clientCache.stats().count - before, put.blocks, 'the putting node kept every block')
    assert.equal(c.store.stats().count, 0, 'node 2 is off the insert path')
    const got = await c.client.get(put.uri)
    assert.deepEqual(Buffer.from(got), Buffer.from(data))
    assert.ok(c.clientCache.stats().count >= put.blocks / 2, `the getting node kept ${c.clientCache.stats().count} of ${put.blocks} blocks (the data blocks at least)`)
  })

  it('a larger file: the put keeps only its first blocks, the get keeps nothing of its data, and the bytes still arrive', async () => {
    const [a, , c] = net.nodes
    const data = randomBytes(4 * KEEP_MAX)
    const beforeA = a.clientCache.stats()
    const beforeC = c.clientCache.stats().count
    const put = await a.client.put([data], { htl: 1 })
    assert.ok(put.minStored >= 2, `placed on ${put.minStored} nodes`)
    assert.equal(c.store.stats().count, 0, 'node 2 is off the insert path')
    const keptA = a.clientCache.stats().count - beforeA.count
    // Blocks of the first KEEP_MAX of the file: data and check blocks, twice KEEP_MAX.
    assert.ok(keptA > 0 && keptA * 32 * 1024 <= 2 * KEEP_MAX, `the putting node kept ${keptA} of ${put.blocks} blocks`)
    const got = await c.client.get(put.uri)
    assert.deepEqual(Buffer.from(got), Buffer.from(data))
    // The root (fetched before the size is known) may be kept; no data block is.
    assert.ok(c.clientCache.stats().count - beforeC <= 1, `the getting node kept ${c.clientCache.stats().count - beforeC} blocks`)
  })

  it('a node alone keeps a large file it put: no peer took a block, so its copy is the only one', async () => {
    const alone = net.nodes[3]
    const data = randomBytes(2 * KEEP_MAX)
    const put = await alone.client.put([data])
    assert.equal(put.minStored, 1, 'stored at this node only')
    assert.equal(alone.clientCache.stats().count, put.blocks, 'every block kept in the client cache')
    assert.deepEqual(Buffer.from(await alone.client.get(put.uri)), Buffer.from(data))
  })
})

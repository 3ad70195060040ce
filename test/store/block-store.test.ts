import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { Key } from 'interface-datastore'
import { STORE_BATCH_MAX_BLOCKS } from '../../src/constants.js'
import { RoutingKey } from '../../src/keys/routing-key.js'
import { BlockStore } from '../../src/store/block-store.js'
import { decodeMeta, encodeMeta } from '../../src/store/layout.js'
import { hashMatches, makeBlock, makeBlocks, manualClock, rawNames, recordingLogger, removeDir, tempDir, withRawDatastore } from './helpers.js'
import type { BlockStoreOptions } from '../../src/store/block-store.js'

const SIZE = 1024
const dirs: string[] = []

async function newDir (): Promise<string> {
  const dir = await tempDir()
  dirs.push(dir)
  return dir
}

after(async () => {
  await Promise.all(dirs.map(removeDir))
})

function options (capacityBlocks: number, extra: Partial<BlockStoreOptions> = {}): BlockStoreOptions {
  return { capacityBytes: capacityBlocks * SIZE, logger: recordingLogger(), ...extra }
}

describe('BlockStore', () => {
  it('puts, gets, deletes and counts blocks', async () => {
    const dir = await newDir()
    const store = await BlockStore.open(dir, options(10))
    const [a, b] = makeBlocks(2, SIZE)
    assert.equal(store.has(a.key), false)
    assert.equal(await store.get(a.key), undefined)
    assert.deepEqual(await store.put(a.key, a.bytes), { stored: true, evicted: 0 })
    assert.equal(store.has(a.key), true)
    assert.deepEqual(await store.get(a.key), a.bytes)
    assert.deepEqual(await store.put(a.key, b.bytes), { stored: false, evicted: 0 }, 'a present key is a no-op')
    assert.deepEqual(await store.get(a.key), a.bytes)
    assert.deepEqual(await store.put(b.key, b.bytes), { stored: true, evicted: 0 })
    assert.deepEqual(store.stats(), { count: 2, kept: 0, usedBytes: 2 * SIZE, capacityBytes: 10 * SIZE })
    assert.equal(await store.delete(a.key), true)
    assert.equal(await store.delete(a.key), false)
    assert.equal(store.has(a.key), false)
    assert.equal(await store.get(a.key), undefined)
    const huge = makeBlock(99, 11 * SIZE)
    assert.deepEqual(await store.put(huge.key, huge.bytes), { stored: false, evicted: 0 }, 'larger than the store')
    assert.deepEqual(store.stats(), { count: 1, kept: 0, usedBytes: SIZE, capacityBytes: 10 * SIZE })
    assert.deepEqual(store.openReport, { loaded: 0, orphanMeta: 0, orphanBlocks: 0, badMeta: 0, badKeys: 0, trimmed: 0 })
    await store.close()
    await store.close()
    await assert.rejects(store.get(b.key), /closed/)
    await assert.rejects(store.put(a.key, a.bytes), /closed/)
    assert.deepEqual(await rawNames(dir), { blocks: [b.key.hex], metas: [b.key.hex] })
  })

  it('evicts by recency and access count, deleting evicted blocks on disk', async () => {
    const dir = await newDir()
    const clock = manualClock()
    const store = await BlockStore.open(dir, options(3, { now: clock.now, accessWeightMs: 1000 }))
    const blocks = makeBlocks(5, SIZE)
    for (const b of blocks.slice(0, 3)) {
      await store.put(b.key, b.bytes)
      clock.advance(10)
    }
    // block 0 is read 3 times: 2000 ms of grace, more than its 20 ms of age
    for (let i = 0; i < 3; i++) assert.ok(await store.get(blocks[0].key))
    clock.advance(100)
    assert.deepEqual(await store.put(blocks[3].key, blocks[3].bytes), { stored: true, evicted: 1 })
    assert.equal(store.has(blocks[1].key), false)
    assert.equal(store.has(blocks[0].key), true)
    clock.advance(100)
    assert.deepEqual(await store.put(blocks[4].key, blocks[4].bytes), { stored: true, evicted: 1 })
    assert.equal(store.has(blocks[2].key), false)
    assert.equal(store.has(blocks[0].key), true)
    await store.close()
    const expected = [blocks[0], blocks[3], blocks[4]].map((b) => b.key.hex).sort()
    assert.deepEqual(await rawNames(dir), { blocks: expected, metas: expected })
  })

  it('persists blocks, metadata and access counts across close and reopen', async () => {
    const dir = await newDir()
    const clock = manualClock()
    const blocks = makeBlocks(4, SIZE)
    const first = await BlockStore.open(dir, options(4, { now: clock.now, accessWeightMs: 1000, flushIntervalMs: 3_600_000 }))
    for (const b of blocks) {
      await first.put(b.key, b.bytes)
      clock.advance(10)
    }
    await first.get(blocks[0].key)
    await first.get(blocks[0].key)
    clock.advance(5)
    await first.get(blocks[1].key)
    const readAt = clock.now()
    await first.close() // flushes the write-behind access statistics

    const meta = await withRawDatastore(dir, async (ds) => decodeMeta(await ds.get(new Key(`/m/${blocks[0].key.hex}`))))
    assert.equal(meta?.accessCount, 2)
    assert.equal(meta?.size, SIZE)
    assert.equal(meta?.insertedAt, readAt - 45)
    assert.equal(meta?.lastAccess, readAt - 5)

    clock.advance(10)
    const second = await BlockStore.open(dir, options(4, { now: clock.now, accessWeightMs: 1000 }))
    assert.equal(second.openReport.loaded, 4)
    assert.deepEqual(second.stats(), { count: 4, kept: 0, usedBytes: 4 * SIZE, capacityBytes: 4 * SIZE })
    for (const b of blocks) {
      assert.equal(second.has(b.key), true)
      assert.deepEqual(await second.get(b.key), b.bytes)
    }
    // Counts survived: 0 and 1 now have 3 and 2 reads, 2 and 3 have one each, all read just now.
    // The next insert evicts one of the singly-read blocks, never a more popular one.
    const extra = makeBlock(10, SIZE)
    clock.advance(1)
    assert.deepEqual(await second.put(extra.key, extra.bytes), { stored: true, evicted: 1 })
    assert.equal(second.has(blocks[0].key), true)
    assert.equal(second.has(blocks[1].key), true)
    assert.equal([blocks[2], blocks[3]].filter((b) => second.has(b.key)).length, 1)
    await second.close()
  })

  it('repairs orphans and undecodable records left behind on disk', async () => {
    const dir = await newDir()
    const blocks = makeBlocks(5, SIZE)
    const store = await BlockStore.open(dir, options(10))
    for (const b of blocks.slice(0, 3)) await store.put(b.key, b.bytes)
    await store.close()

    const [ok0, ok1, badMetaBlock] = blocks
    const orphanBlock = blocks[3]
    const orphanMeta = blocks[4]
    await withRawDatastore(dir, async (ds) => {
      await ds.put(new Key(`/b/${orphanBlock.key.hex}`), orphanBlock.bytes)
      await ds.put(new Key(`/m/${orphanMeta.key.hex}`), encodeMeta({ size: SIZE, lastAccess: 1, accessCount: 0, insertedAt: 1 }))
      await ds.put(new Key(`/m/${badMetaBlock.key.hex}`), Uint8Array.of(1, 2, 3))
      await ds.put(new Key('/b/not-a-key'), Uint8Array.of(9))
    })

    const logger = recordingLogger()
    const reopened = await BlockStore.open(dir, options(10, { logger }))
    assert.deepEqual(reopened.openReport, { loaded: 2, orphanMeta: 1, orphanBlocks: 1, badMeta: 1, badKeys: 1, trimmed: 0 })
    assert.ok(logger.lines.some((l) => l.startsWith('warn ') && l.includes('repaired 4')), logger.lines.join('\n'))
    assert.equal(reopened.has(ok0.key), true)
    assert.equal(reopened.has(ok1.key), true)
    for (const gone of [badMetaBlock, orphanBlock, orphanMeta]) assert.equal(reopened.has(gone.key), false)
    assert.deepEqual(reopened.stats(), { count: 2, kept: 0, usedBytes: 2 * SIZE, capacityBytes: 10 * SIZE })
    await reopened.close()

    const expected = [ok0, ok1].map((b) => b.key.hex).sort()
    assert.deepEqual(await rawNames(dir), { blocks: expected, metas: expected })
    const again = await BlockStore.open(dir, options(10))
    assert.deepEqual(again.openReport, { loaded: 2, orphanMeta: 0, orphanBlocks: 0, badMeta: 0, badKeys: 0, trimmed: 0 })
    await again.close()
  })

  it('verify deletes corrupted blocks and blocks whose length disagrees with their metadata', async () => {
    const dir = await newDir()
    const blocks = makeBlocks(4, SIZE)
    const store = await BlockStore.open(dir, options(10))
    for (const b of blocks) await store.put(b.key, b.bytes)
    await store.close()

    const corrupt = blocks[1]
    const short = makeBlock(50, SIZE / 2)
    await withRawDatastore(dir, async (ds) => {
      const flipped = corrupt.bytes.slice()
      flipped[100] ^= 0xff
      await ds.put(new Key(`/b/${corrupt.key.hex}`), flipped)
      // a block whose hash checks out but whose metadata claims another size
      await ds.put(new Key(`/b/${short.key.hex}`), short.bytes)
      await ds.put(new Key(`/m/${short.key.hex}`), encodeMeta({ size: SIZE, lastAccess: 1, accessCount: 0, insertedAt: 1 }))
    })

    const logger = recordingLogger()
    const reopened = await BlockStore.open(dir, options(10, { logger }))
    assert.equal(reopened.stats().count, 5)
    assert.equal(reopened.has(corrupt.key), true, 'open does not read blocks')
    assert.deepEqual(await reopened.verify(hashMatches), { checked: 5, deleted: 2 })
    assert.ok(logger.lines.some((l) => l.includes('verify deleted 2 of 5')), logger.lines.join('\n'))
    assert.equal(reopened.has(corrupt.key), false)
    assert.equal(reopened.has(short.key), false)
    assert.equal(await reopened.get(corrupt.key), undefined)
    assert.deepEqual(reopened.stats(), { count: 3, kept: 0, usedBytes: 3 * SIZE, capacityBytes: 10 * SIZE })
    assert.deepEqual(await reopened.verify(hashMatches), { checked: 3, deleted: 0 })
    // a verifier that throws fails the block rather than the walk
    assert.deepEqual(await reopened.verify((hex) => {
      if (hex === blocks[0].key.hex) throw new Error('cannot parse')
      return true
    }), { checked: 3, deleted: 1 })
    await reopened.close()
    const expected = [blocks[2], blocks[3]].map((b) => b.key.hex).sort()
    assert.deepEqual(await rawNames(dir), { blocks: expected, metas: expected })
  })

  it('evicts down to a smaller capacity on reopen, keeping the best-scored blocks', async () => {
    const dir = await newDir()
    const clock = manualClock()
    const blocks = makeBlocks(10, SIZE)
    const store = await BlockStore.open(dir, options(10, { now: clock.now, accessWeightMs: 1000 }))
    for (const b of blocks) {
      await store.put(b.key, b.bytes)
      clock.advance(10)
    }
    await store.get(blocks[0].key) // score now + 1000: the best
    await store.close()

    const logger = recordingLogger()
    const small = await BlockStore.open(dir, options(4, { now: clock.now, accessWeightMs: 1000, logger }))
    assert.equal(small.openReport.trimmed, 6)
    assert.equal(small.openReport.loaded, 4)
    assert.deepEqual(small.stats(), { count: 4, kept: 0, usedBytes: 4 * SIZE, capacityBytes: 4 * SIZE })
    const kept = [blocks[0], blocks[7], blocks[8], blocks[9]]
    for (const b of kept) assert.equal(small.has(b.key), true)
    assert.ok(logger.lines.some((l) => l.includes('evicted 6 blocks')), logger.lines.join('\n'))
    await small.close()
    const expected = kept.map((b) => b.key.hex).sort()
    assert.deepEqual(await rawNames(dir), { blocks: expected, metas: expected })
  })

  it('serialises concurrent puts so the capacity is never exceeded', async () => {
    const dir = await newDir()
    const capacityBlocks = 5
    const store = await BlockStore.open(dir, options(capacityBlocks))
    const blocks = makeBlocks(40, SIZE)
    const overshoots: number[] = []
    const put = async (b: typeof blocks[number]): Promise<{ stored: boolean, evicted: number }> => {
      const r = await store.put(b.key, b.bytes)
      if (store.stats().usedBytes > capacityBlocks * SIZE) overshoots.push(store.stats().usedBytes)
      return r
    }
    // the same key twice at once is stored once
    const results = await Promise.all([put(blocks[0]), ...blocks.map(put)])
    assert.deepEqual(overshoots, [])
    assert.equal(results.filter((r) => r.stored).length, 40)
    assert.equal(results.reduce((n, r) => n + r.evicted, 0), 40 - capacityBlocks)
    assert.deepEqual(store.stats(), { count: capacityBlocks, kept: 0, usedBytes: capacityBlocks * SIZE, capacityBytes: capacityBlocks * SIZE })
    const held = blocks.filter((b) => store.has(b.key))
    assert.equal(held.length, capacityBlocks)
    for (const b of held) assert.deepEqual(await store.get(b.key), b.bytes)
    await store.close()
    const expected = held.map((b) => b.key.hex).sort()
    assert.deepEqual(await rawNames(dir), { blocks: expected, metas: expected })
  })

  it('encodes metadata compactly and rejects foreign records', () => {
    const e = { size: 32768, lastAccess: 1_700_000_000_123, accessCount: 7, insertedAt: 1_699_999_999_999 }
    const bytes = encodeMeta(e)
    assert.equal(bytes.length, 28)
    assert.deepEqual(decodeMeta(bytes), e)
    const wrongVersion = bytes.slice()
    wrongVersion[0] = 2
    assert.equal(decodeMeta(wrongVersion), undefined)
    assert.equal(decodeMeta(bytes.subarray(0, 27)), undefined)
    assert.equal(decodeMeta(encodeMeta({ ...e, lastAccess: NaN })), undefined)
    assert.equal(decodeMeta(encodeMeta({ ...e, accessCount: 2 ** 40 }))?.accessCount, 0xffffffff)
  })

  it('answers has() for routing keys it never saw', async () => {
    const dir = await newDir()
    const store = await BlockStore.open(dir, options(1))
    assert.equal(store.has(RoutingKey.hash(Uint8Array.of(1))), false)
    await store.close()
  })
})

describe('BlockStore batching of concurrent puts', () => {
  it('writes puts made together in one batch, answers each, and keeps them all on disk', async () => {
    const dir = await newDir()
    const store = await BlockStore.open(dir, options(100, { batchMaxBlocks: 64 }))
    const blocks = makeBlocks(20, SIZE)
    const results = await Promise.all(blocks.map(async (b) => await store.put(b.key, b.bytes)))
    assert.deepEqual(results, blocks.map(() => ({ stored: true, evicted: 0 })))
    assert.deepEqual(store.batchStats(), { batches: 1, puts: 20, largest: 20 })
    for (const b of blocks) assert.deepEqual(await store.get(b.key), b.bytes)
    await store.close()
    const hexes = blocks.map((b) => b.key.hex).sort()
    assert.deepEqual(await rawNames(dir), { blocks: hexes, metas: hexes })
  })

  it('puts that arrive while a batch is being written go out together in the next one', async () => {
    const store = await BlockStore.open(await newDir(), options(100, { batchMaxBlocks: 64 }))
    const [first, ...later] = makeBlocks(11, SIZE)
    const p = store.put(first.key, first.bytes)
    // The first batch is now queued; these are made before it has been written.
    await Promise.resolve()
    const rest = later.map(async (b) => await store.put(b.key, b.bytes))
    await Promise.all([p, ...rest])
    assert.deepEqual(store.batchStats(), { batches: 2, puts: 11, largest: 10 })
    await store.close()
  })

  it('never puts more than batchMaxBlocks (default STORE_BATCH_MAX_BLOCKS) in one batch; 1 means a batch per put', async () => {
    const byDefault = await BlockStore.open(await newDir(), options(100))
    await Promise.all(makeBlocks(3 * STORE_BATCH_MAX_BLOCKS, SIZE).map(async (b) => await byDefault.put(b.key, b.bytes)))
    assert.deepEqual(byDefault.batchStats(), { batches: 3, puts: 3 * STORE_BATCH_MAX_BLOCKS, largest: STORE_BATCH_MAX_BLOCKS })
    await byDefault.close()
    const four = await BlockStore.open(await newDir(), options(100, { batchMaxBlocks: 4 }))
    const blocks = makeBlocks(10, SIZE)
    await Promise.all(blocks.map(async (b) => await four.put(b.key, b.bytes)))
    assert.deepEqual(four.batchStats(), { batches: 3, puts: 10, largest: 4 })
    await four.close()
    const one = await BlockStore.open(await newDir(), options(100, { batchMaxBlocks: 1 }))
    await Promise.all(blocks.map(async (b) => await one.put(b.key, b.bytes)))
    assert.deepEqual(one.batchStats(), { batches: 10, puts: 10, largest: 1 })
    await one.close()
    await assert.rejects(BlockStore.open(await newDir(), options(100, { batchMaxBlocks: 0 })), /batchMaxBlocks must be a positive integer/)
  })

  it('plans the evictions of a batch one put after another: never over capacity, index and disk agree', async () => {
    const dir = await newDir()
    const clock = manualClock()
    const store = await BlockStore.open(dir, options(3, { now: clock.now, accessWeightMs: 0 }))
    const blocks = makeBlocks(7, SIZE)
    const same = makeBlock(6, SIZE) // still held when its repeat comes
    const results = await Promise.all([...blocks, same].map(async (b) => await store.put(b.key, b.bytes)))
    assert.equal(results.filter((r) => r.stored).length, 7, 'the repeated block is stored once')
    assert.deepEqual(results[7], { stored: false, evicted: 0 })
    assert.deepEqual(store.stats(), { count: 3, kept: 0, usedBytes: 3 * SIZE, capacityBytes: 3 * SIZE })
    const held = blocks.filter((b) => store.has(b.key)).map((b) => b.key.hex).sort()
    assert.equal(held.length, 3)
    await store.close()
    assert.deepEqual(await rawNames(dir), { blocks: held, metas: held })
  })

  it('keeps the order of writes: a delete made after a put applies after it, a put after the delete starts a new batch', async () => {
    const dir = await newDir()
    const store = await BlockStore.open(dir, options(10))
    const [a, b] = makeBlocks(2, SIZE)
    const putA = store.put(a.key, a.bytes)
    const delA = store.delete(a.key)
    const putB = store.put(b.key, b.bytes)
    const delB = store.delete(b.key)
    const putB2 = store.put(b.key, b.bytes)
    assert.deepEqual(await putA, { stored: true, evicted: 0 })
    assert.equal(await delA, true)
    assert.deepEqual(await putB, { stored: true, evicted: 0 })
    assert.equal(await delB, true)
    assert.deepEqual(await putB2, { stored: true, evicted: 0 })
    assert.equal(store.has(a.key), false)
    assert.deepEqual(await store.get(b.key), b.bytes)
    await store.close()
    assert.deepEqual(await rawNames(dir), { blocks: [b.key.hex], metas: [b.key.hex] })
  })

  it('a batch that cannot be written rejects every put in it and leaves the index as on disk; the next write recovers', async () => {
    const dir = await newDir()
    const clock = manualClock()
    const store = await BlockStore.open(dir, options(4, { now: clock.now, accessWeightMs: 0 }))
    const blocks = makeBlocks(8, SIZE)
    for (const b of blocks.slice(0, 4)) {
      await store.put(b.key, b.bytes)
      clock.advance(1)
    }
    // The database under the store goes away (what a failed disk looks like to LevelDB).
    await (Reflect.get(store, 'ds') as { close: () => Promise<void> }).close()
    const failed = await Promise.allSettled(blocks.slice(4, 7).map(async (b) => await store.put(b.key, b.bytes)))
    for (const r of failed) {
      assert.equal(r.status, 'rejected')
      assert.match(String((r as PromiseRejectedResult).reason), /could not write/)
    }
    for (const b of blocks.slice(4, 7)) assert.equal(store.has(b.key), false, 'a put that failed is not in the index')
    for (const b of blocks.slice(0, 4)) assert.equal(store.has(b.key), true, 'what it would have evicted is still there')
    assert.deepEqual(store.stats(), { count: 4, kept: 0, usedBytes: 4 * SIZE, capacityBytes: 4 * SIZE })
    // The next put reopens the database and is written, evicting the oldest block.
    assert.deepEqual(await store.put(blocks[7].key, blocks[7].bytes), { stored: true, evicted: 1 })
    assert.equal(store.has(blocks[0].key), false)
    await store.close()
    const held = [...blocks.slice(1, 4), blocks[7]].map((b) => b.key.hex).sort()
    assert.deepEqual(await rawNames(dir), { blocks: held, metas: held })
  })
})

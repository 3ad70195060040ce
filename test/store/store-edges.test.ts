/**
 * The store's tie-breaks, boundaries and bookkeeping, each pinned (issue 18: found by
 * mutation testing): eviction order among equal scores (older insert, then key order), the
 * farthest kept entry as entries come and go, the kept share at its exact size, capacity
 * validation, the in-memory store forgetting evicted bytes, and in the LevelDB store: key
 * names, repair counts, its log lines, the write-behind timer, a closed store, relocation,
 * and verify racing a delete.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { Key } from 'interface-datastore'
import { RoutingKey } from '../../src/keys/routing-key.js'
import { BlockStore } from '../../src/store/block-store.js'
import { encodeMeta } from '../../src/store/layout.js'
import { MemoryBlockStore } from '../../src/store/memory-store.js'
import { DEFAULT_ACCESS_WEIGHT_MS, StorePolicy } from '../../src/store/store-policy.js'
import { hashMatches, makeBlock, makeBlocks, manualClock, rawNames, recordingLogger, removeDir, tempDir, withRawDatastore } from './helpers.js'

const SIZE = 100
/** A 256-bit key in hex whose location (first 52 bits) is `loc`. */
const at = (loc: number, tag: string): string => Math.floor(loc * 2 ** 52).toString(16).padStart(13, '0') + tag.padEnd(51, '0')

describe('StorePolicy edges', () => {
  it('gives one hour of life per doubling of the access count by default', () => {
    assert.equal(DEFAULT_ACCESS_WEIGHT_MS, 3_600_000)
  })

  it('takes a capacity of zero or more bytes, and says what it refused', () => {
    const zero = new StorePolicy({ capacityBytes: 0, now: () => 0 })
    assert.equal(zero.fits(0), true)
    assert.equal(zero.fits(1), false)
    for (const bad of [-1, Number.NaN, Infinity]) {
      assert.throws(() => new StorePolicy({ capacityBytes: bad, now: () => 0 }), new RegExp(`^RangeError: invalid store capacity ${bad}$`))
      assert.throws(() => zero.setCapacity(bad), new RegExp(`^RangeError: invalid store capacity ${bad}$`))
    }
    zero.setCapacity(0)
    assert.equal(zero.capacityBytes, 0)
    assert.throws(() => zero.planInsert('x', 1), /^RangeError: an entry of 1 bytes exceeds the store capacity of 0$/)
  })

  it('among equal scores the older insert goes first, then the lower key', () => {
    const clock = manualClock(0)
    const p = new StorePolicy({ capacityBytes: 4 * SIZE, accessWeightMs: 0, now: clock.now })
    p.commitInsert('old', SIZE) // t = 0, read at t = 10: score 10
    clock.advance(10)
    p.touch('old')
    p.commitInsert('d', SIZE) // t = 10: score 10, inserted later
    p.commitInsert('c', SIZE) // same score and insert time: key order decides
    p.commitInsert('e', SIZE)
    assert.deepEqual(p.planInsert('x', SIZE), ['old'])
    assert.deepEqual(p.planInsert('x', 4 * SIZE), ['old', 'c', 'd', 'e'])
    p.remove('old')
    assert.deepEqual(p.planInsert('x', 2 * SIZE), ['c'])
    assert.deepEqual(p.planInsert('x', 3 * SIZE), ['c', 'd'])
  })

  it('among equal scores the older insert goes first whatever order the records were loaded in', () => {
    const p = new StorePolicy({ capacityBytes: 2 * SIZE, accessWeightMs: 0, now: () => 50 })
    p.restore('young', { size: SIZE, lastAccess: 20, accessCount: 0, insertedAt: 20 })
    p.restore('old', { size: SIZE, lastAccess: 20, accessCount: 3, insertedAt: 10 })
    assert.deepEqual(p.planInsert('x', SIZE), ['old'])
    assert.deepEqual(p.planInsert('x', 2 * SIZE), ['old', 'young'])
  })

  it('restoring a key again replaces its record instead of counting it twice', () => {
    const p = new StorePolicy({ capacityBytes: 10 * SIZE, now: () => 5 })
    p.restore('a', { size: SIZE, lastAccess: 1, accessCount: 2, insertedAt: 1 })
    p.restore('a', { size: 2 * SIZE, lastAccess: 3, accessCount: 0, insertedAt: 3 })
    assert.equal(p.count, 1)
    assert.equal(p.usedBytes, 2 * SIZE)
    assert.deepEqual(p.get('a'), { size: 2 * SIZE, lastAccess: 3, accessCount: 0, insertedAt: 3 })
  })

  describe('keeping the keys nearest the location', () => {
    /** A policy keeping `share` entries of SIZE near 0.5, with `hexes` inserted in order. */
    function keeping (share: number, hexes: string[], capacity = 10): StorePolicy {
      const clock = manualClock()
      const p = new StorePolicy({ capacityBytes: capacity * SIZE, now: clock.now, keepFraction: share / capacity, location: () => 0.5 })
      for (const h of hexes) {
        p.commitInsert(h, SIZE)
        clock.advance(1)
      }
      return p
    }
    const kept = (p: StorePolicy, hexes: string[]): boolean[] => hexes.map((h) => p.isKept(h))

    it('a nearer key displaces the farthest kept one, tracked as entries are kept', () => {
      const hexes = [at(0.51, 'a'), at(0.55, 'b'), at(0.53, 'c')]
      const p = keeping(3, hexes)
      assert.deepEqual(kept(p, hexes), [true, true, true])
      p.commitInsert(at(0.52, 'd'), SIZE)
      assert.deepEqual(kept(p, [...hexes, at(0.52, 'd')]), [true, false, true, true])
    })

    it('after the farthest leaves, the next farthest is found again', () => {
      const hexes = [at(0.55, 'a'), at(0.51, 'b'), at(0.56, 'c')]
      const p = keeping(3, hexes)
      p.remove(hexes[2])
      assert.equal(p.keptCount, 2)
      assert.equal(p.isKept(hexes[2]), false)
      p.commitInsert(at(0.54, 'd'), SIZE) // fits the freed share
      p.commitInsert(at(0.52, 'e'), SIZE) // displaces the farthest: a at 0.55
      assert.deepEqual(kept(p, [hexes[0], hexes[1], at(0.54, 'd'), at(0.52, 'e')]), [false, true, true, true])
    })

    it('between equally far keys the one kept first is displaced first, and a tie does not displace', () => {
      // Binary fractions, so that equal distances are exactly equal.
      const hexes = [at(0.4375, 'a'), at(0.5625, 'b'), at(0.625, 'c')]
      const p = keeping(3, hexes)
      p.remove(hexes[2]) // the next farthest must be found among a tie
      p.commitInsert(at(0.375, 'd'), SIZE) // fills the share again, farther than both
      p.commitInsert(at(0.625, 'e'), SIZE) // as far as d: not kept
      assert.deepEqual(kept(p, [hexes[0], hexes[1], at(0.375, 'd'), at(0.625, 'e')]), [true, true, true, false])
      p.commitInsert(at(0.5, 'f'), SIZE) // displaces d
      p.commitInsert(at(0.5, 'g'), SIZE) // displaces a (kept before b, as far)
      assert.deepEqual(kept(p, [hexes[0], hexes[1], at(0.375, 'd'), at(0.5, 'f'), at(0.5, 'g')]), [false, true, false, true, true])
    })

    it('a key as far as the farthest kept one does not become the farthest', () => {
      const hexes = [at(0.4375, 'a'), at(0.5625, 'b')]
      const p = keeping(2, hexes)
      p.commitInsert(at(0.5, 'c'), SIZE) // displaces a, the first of the two as far
      assert.deepEqual(kept(p, [...hexes, at(0.5, 'c')]), [false, true, true])
    })

    it('an entry exactly the size of the share is kept; a larger one displaces nothing', () => {
      const p = keeping(1, [at(0.6, 'a')])
      assert.equal(p.isKept(at(0.6, 'a')), true)
      p.commitInsert(at(0.5, 'big'), SIZE + 1)
      assert.equal(p.isKept(at(0.5, 'big')), false)
      assert.equal(p.isKept(at(0.6, 'a')), true)
      p.commitInsert(at(0.5, 'b'), SIZE)
      assert.deepEqual([p.isKept(at(0.5, 'b')), p.isKept(at(0.6, 'a'))], [true, false])
    })

    it('removing a kept entry frees its share', () => {
      const p = keeping(1, [at(0.6, 'a')])
      p.remove(at(0.6, 'a'))
      assert.equal(p.keptCount, 0)
      p.commitInsert(at(0.9, 'far'), SIZE)
      assert.equal(p.isKept(at(0.9, 'far')), true)
    })

    it('with every entry kept, eviction still frees room (kept entries last, nearest last)', () => {
      const hexes = [at(0.51, 'a'), at(0.53, 'b')]
      const p = keeping(2, hexes, 2)
      assert.deepEqual(kept(p, hexes), [true, true])
      assert.deepEqual(p.planInsert(at(0.9, 'x'), SIZE), [hexes[0]])
    })

    it('relocating without a location keeps nothing', () => {
      let loc = 0.5
      const p = new StorePolicy({ capacityBytes: 10 * SIZE, now: () => 0, keepFraction: 0.5, location: () => loc })
      p.commitInsert(at(0.5, 'a'), SIZE)
      assert.equal(p.keptCount, 1)
      loc = Number.NaN
      p.relocate()
      assert.equal(p.keptCount, 0)
    })
  })

  it('the in-memory store forgets the bytes of evicted and deleted blocks', () => {
    const m = new MemoryBlockStore({ capacityBytes: 2 * SIZE, now: () => 0 })
    const [a, b, c] = makeBlocks(3, SIZE)
    m.put(a.key, a.bytes)
    m.put(b.key, b.bytes)
    assert.deepEqual(m.put(c.key, c.bytes), { stored: true, evicted: 1 })
    assert.equal(m.get(a.key), undefined)
    assert.equal(m.delete(b.key), true)
    assert.equal(m.get(b.key), undefined)
    assert.deepEqual(m.get(c.key), c.bytes)
  })
})

describe('BlockStore edges', () => {
  const dirs: string[] = []
  after(async () => { await Promise.all(dirs.map(removeDir)) })
  const newDir = async (): Promise<string> => {
    const dir = await tempDir()
    dirs.push(dir)
    return dir
  }

  it('logs one line for a clean open and one per repair kind', async () => {
    const dir = await newDir()
    const logger = recordingLogger()
    const store = await BlockStore.open(dir, { capacityBytes: 10 * SIZE, logger })
    const [a, b] = makeBlocks(2, SIZE)
    await store.put(a.key, a.bytes)
    await store.put(b.key, b.bytes)
    assert.deepEqual(await store.verify(hashMatches), { checked: 2, deleted: 0 })
    await store.close()
    assert.deepEqual(logger.lines, ['info store: 0 blocks, 0 of 1000 bytes'])

    const reopened = recordingLogger()
    await (await BlockStore.open(dir, { capacityBytes: SIZE, logger: reopened })).close()
    assert.deepEqual(reopened.lines, ['info store: evicted 1 blocks to fit the capacity of 100 bytes', 'info store: 1 blocks, 100 of 100 bytes'])
  })

  it('names blocks by exactly 64 lower-case hex digits; blocks of bad metadata are not counted as orphans', async () => {
    const dir = await newDir()
    const [good, orphan1, orphan2, badMeta] = makeBlocks(4, SIZE)
    await (await BlockStore.open(dir, { capacityBytes: 10 * SIZE, logger: recordingLogger() })).close()
    const meta = encodeMeta({ size: SIZE, lastAccess: 1, accessCount: 0, insertedAt: 1 })
    await withRawDatastore(dir, async (ds) => {
      await ds.put(new Key(`/b/${good.key.hex}`), good.bytes)
      await ds.put(new Key(`/m/${good.key.hex}`), meta)
      await ds.put(new Key(`/b/${orphan1.key.hex}`), orphan1.bytes)
      await ds.put(new Key(`/b/${orphan2.key.hex}`), orphan2.bytes)
      await ds.put(new Key(`/b/${badMeta.key.hex}`), badMeta.bytes)
      await ds.put(new Key(`/m/${badMeta.key.hex}`), Uint8Array.of(1))
      for (const bad of [`x${good.key.hex}`, `${good.key.hex}x`, good.key.hex.toUpperCase()]) {
        await ds.put(new Key(`/b/${bad}`), good.bytes)
        await ds.put(new Key(`/m/${bad}`), meta)
      }
    })
    const logger = recordingLogger()
    const store = await BlockStore.open(dir, { capacityBytes: 10 * SIZE, logger })
    assert.deepEqual(store.openReport, { loaded: 1, orphanMeta: 0, orphanBlocks: 2, badMeta: 1, badKeys: 6, trimmed: 0 })
    assert.deepEqual(logger.lines, [
      'warn store: repaired 9 inconsistencies (metadata without block: 0, block without metadata: 2, undecodable metadata: 1, bad keys: 6)',
      'info store: 1 blocks, 100 of 1000 bytes'
    ])
    await store.close()
    assert.deepEqual(await rawNames(dir), { blocks: [good.key.hex], metas: [good.key.hex] })
  })

  it('a closed store refuses every operation', async () => {
    const store = await BlockStore.open(await newDir(), { capacityBytes: 10 * SIZE, logger: recordingLogger() })
    const a = makeBlock(1, SIZE)
    await store.close()
    await assert.rejects(store.delete(a.key), /^Error: the block store is closed$/)
    await assert.rejects(store.verify(hashMatches), /^Error: the block store is closed$/)
    await assert.rejects(store.flush(), /^Error: the block store is closed$/)
  })

  it('writes access statistics behind, on its timer, without a close', async () => {
    const dir = await newDir()
    const clock = manualClock()
    const store = await BlockStore.open(dir, { capacityBytes: 10 * SIZE, logger: recordingLogger(), now: clock.now, flushIntervalMs: 5 })
    const a = makeBlock(1, SIZE)
    await store.put(a.key, a.bytes)
    clock.advance(1000)
    await store.get(a.key)
    // The write-behind set empties once the timer has written it (private: there is no other view while LevelDB is open).
    const dirty = (store as unknown as { dirty: Set<string> }).dirty
    assert.equal(dirty.size, 1)
    const deadline = Date.now() + 10_000
    while (dirty.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
    assert.equal(dirty.size, 0, 'flushed by the timer')
    await store.flush()
    await store.close()
    const reopened = await BlockStore.open(dir, { capacityBytes: 10 * SIZE, logger: recordingLogger(), now: clock.now })
    // One read recorded: the entry outranks a fresh one inserted at its last access.
    await reopened.close()
    await withRawDatastore(dir, async (ds) => {
      const meta = await ds.get(new Key(`/m/${a.key.hex}`))
      const v = new DataView(meta.buffer, meta.byteOffset, meta.byteLength)
      assert.equal(v.getUint32(8), 1, 'access count')
      assert.equal(v.getFloat64(12), 1_700_000_001_000, 'last access')
    })
  })

  it('relocate re-chooses the kept entries by the new location', async () => {
    let loc = Number.NaN
    const store = await BlockStore.open(await newDir(), { capacityBytes: 10 * SIZE, logger: recordingLogger(), keepFraction: 0.5, location: () => loc })
    for (const b of makeBlocks(3, SIZE)) await store.put(b.key, b.bytes)
    assert.equal(store.stats().kept, 0)
    loc = 0.5
    store.relocate()
    assert.equal(store.stats().kept, 3)
    await store.close()
  })

  it('verify does not count a block deleted while it ran, and keeps a good copy put back meanwhile', async () => {
    const store = await BlockStore.open(await newDir(), { capacityBytes: 10 * SIZE, logger: recordingLogger() })
    const [a, b] = makeBlocks(2, SIZE)
    const bad = Uint8Array.from(a.bytes)
    bad[0] ^= 1
    await store.put(a.key, bad)
    await store.put(b.key, Uint8Array.from(b.bytes).fill(7)) // also bad
    const running = store.verify(hashMatches)
    // Queued at once, so both run before verify's deletions: a deleted, b replaced by its good copy.
    await Promise.all([store.delete(a.key), store.delete(b.key), store.put(b.key, b.bytes)])
    assert.deepEqual(await running, { checked: 2, deleted: 0 })
    assert.deepEqual(await store.get(b.key), b.bytes)
    assert.equal(store.has(a.key), false)
    await store.close()
  })

  it('the key of a routing key is its lower-case hex', async () => {
    const store = await BlockStore.open(await newDir(), { capacityBytes: 10 * SIZE, logger: recordingLogger() })
    const k = RoutingKey.fromHex('AB'.repeat(32))
    await store.put(k, Uint8Array.of(1))
    await store.close()
    assert.deepEqual((await rawNames(store.dir)).blocks, ['ab'.repeat(32)])
  })
})

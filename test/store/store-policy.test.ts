import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MemoryBlockStore } from '../../src/store/memory-store.js'
import { DEFAULT_ACCESS_WEIGHT_MS, StorePolicy } from '../../src/store/store-policy.js'
import type { StoreEntry } from '../../src/store/store-policy.js'
import { makeBlocks, manualClock } from './helpers.js'

const SIZE = 100

/** Insert `hexes` one clock tick apart. */
function fill (policy: StorePolicy, clock: { advance: (ms: number) => void }, hexes: string[]): void {
  for (const hex of hexes) {
    assert.deepEqual(policy.planInsert(hex, SIZE), [])
    policy.commitInsert(hex, SIZE)
    clock.advance(1)
  }
}

describe('StorePolicy', () => {
  it('evicts the least recently used entry when nothing was read', () => {
    const clock = manualClock()
    const policy = new StorePolicy({ capacityBytes: 3 * SIZE, now: clock.now })
    fill(policy, clock, ['a', 'b', 'c'])
    assert.deepEqual(policy.planInsert('d', SIZE), ['a'])
    // planning changes nothing
    assert.equal(policy.count, 3)
    assert.equal(policy.usedBytes, 3 * SIZE)
  })

  it('a read makes an entry recent again', () => {
    const clock = manualClock()
    const policy = new StorePolicy({ capacityBytes: 3 * SIZE, now: clock.now })
    fill(policy, clock, ['a', 'b', 'c'])
    assert.equal(policy.touch('a'), true)
    assert.equal(policy.touch('missing'), false)
    assert.deepEqual(policy.planInsert('d', SIZE), ['b'])
    const a = policy.get('a')
    assert.equal(a?.accessCount, 1)
    assert.equal(a?.lastAccess, clock.now())
  })

  it('access count weighting changes the order, logarithmically', () => {
    const clock = manualClock(0)
    const weight = 1000
    const weighted = new StorePolicy({ capacityBytes: 3 * SIZE, accessWeightMs: weight, now: clock.now })
    const lru = new StorePolicy({ capacityBytes: 3 * SIZE, accessWeightMs: 0, now: clock.now })
    for (const p of [weighted, lru]) p.commitInsert('a', SIZE)
    // a: read 3 times at t = 1..3 -> score 3 + 1000 * log2(4) = 2003
    for (let i = 0; i < 3; i++) {
      clock.advance(1)
      for (const p of [weighted, lru]) p.touch('a')
    }
    clock.advance(7)
    for (const p of [weighted, lru]) p.commitInsert('b', SIZE) // t = 10
    clock.advance(10)
    for (const p of [weighted, lru]) p.commitInsert('c', SIZE) // t = 20
    assert.equal(weighted.score(weighted.get('a')!), 3 + 2 * weight)

    // Plain LRU drops the popular but older entry; the weighted policy keeps it.
    assert.deepEqual(lru.planInsert('d', SIZE), ['a'])
    assert.deepEqual(weighted.planInsert('d', SIZE), ['b'])

    // Popularity buys only weight * log2(1 + count) of grace: a later entry outranks it.
    weighted.remove('b')
    clock.advance(2980) // t = 3000
    weighted.commitInsert('d', SIZE)
    assert.deepEqual(weighted.planInsert('e', SIZE), ['c'])
    weighted.remove('c')
    weighted.commitInsert('e', SIZE)
    assert.deepEqual(weighted.planInsert('f', SIZE), ['a'])
  })

  it('documents a positive default weight', () => {
    const policy = new StorePolicy({ capacityBytes: SIZE, now: () => 0 })
    assert.equal(policy.accessWeightMs, DEFAULT_ACCESS_WEIGHT_MS)
    assert.ok(DEFAULT_ACCESS_WEIGHT_MS > 0)
  })

  it('frees enough bytes for a larger entry, lowest scores first', () => {
    const clock = manualClock()
    const policy = new StorePolicy({ capacityBytes: 4 * SIZE, now: clock.now })
    fill(policy, clock, ['a', 'b', 'c', 'd'])
    policy.touch('a')
    assert.deepEqual(policy.planInsert('big', 2 * SIZE + 1), ['b', 'c', 'd'])
    assert.deepEqual(policy.planInsert('mid', 2 * SIZE), ['b', 'c'])
  })

  it('keepFraction: keys nearest the node\'s location survive LRU eviction until a nearer key displaces them', () => {
    /** A 256-bit key in hex whose location (first 52 bits) is `loc`. */
    const at = (loc: number, tag: string): string => Math.floor(loc * 2 ** 52).toString(16).padStart(13, '0') + tag.padEnd(51, '0')
    const near1 = at(0.5, 'a')
    const far1 = at(0.1, 'b')
    const near2 = at(0.52, 'c')
    const far2 = at(0.9, 'd')
    const order = [near1, far1, near2, far2]
    // Control: without keeping, the oldest entry goes first.
    const lru = manualClock()
    const plain = new StorePolicy({ capacityBytes: 4 * SIZE, now: lru.now, location: () => 0.5 })
    fill(plain, lru, order)
    assert.deepEqual(plain.planInsert(at(0.2, 'e'), SIZE), [near1])

    const clock = manualClock()
    let loc = 0.5
    const policy = new StorePolicy({ capacityBytes: 4 * SIZE, now: clock.now, keepFraction: 0.5, location: () => loc })
    fill(policy, clock, order)
    assert.deepEqual(order.map((h) => policy.isKept(h)), [true, false, true, false])
    // The oldest entry is kept: the oldest of the cache goes instead.
    const far3 = at(0.2, 'e')
    assert.deepEqual(policy.planInsert(far3, SIZE), [far1])
    policy.remove(far1)
    policy.commitInsert(far3, SIZE)
    clock.advance(1)
    assert.equal(policy.isKept(far3), false)
    // A nearer key takes the farthest kept entry's place; that one is cache again, and next out.
    const closer = at(0.49, 'f')
    assert.deepEqual(policy.planInsert(closer, SIZE), [far2])
    policy.remove(far2)
    policy.commitInsert(closer, SIZE)
    clock.advance(1)
    assert.equal(policy.isKept(closer), true)
    assert.equal(policy.isKept(near2), false)
    assert.equal(policy.isKept(near1), true)
    assert.deepEqual(policy.planInsert(at(0.7, 'g'), SIZE), [near2])
    // A larger entry than the cache can free for takes kept entries last.
    assert.deepEqual(policy.planInsert('big', 4 * SIZE), [near2, far3, near1, closer])
    // Removing a kept entry frees its share; with no location nothing new is kept.
    policy.remove(near1)
    loc = Number.NaN
    const other = at(0.5, 'h')
    policy.commitInsert(other, SIZE)
    assert.equal(policy.isKept(other), false)
  })

  it('relocate: entries loaded before the node had a location are kept by distance once it has one', () => {
    const at = (loc: number, tag: string): string => Math.floor(loc * 2 ** 52).toString(16).padStart(13, '0') + tag.padEnd(51, '0')
    const clock = manualClock()
    let loc = Number.NaN
    const policy = new StorePolicy({ capacityBytes: 4 * SIZE, now: clock.now, keepFraction: 0.5, location: () => loc })
    const hexes = [at(0.3, 'a'), at(0.1, 'b'), at(0.75, 'c'), at(0.6, 'd')]
    fill(policy, clock, hexes)
    assert.deepEqual(hexes.map((h) => policy.isKept(h)), [false, false, false, false])
    loc = 0.7
    policy.relocate()
    assert.deepEqual(hexes.map((h) => policy.isKept(h)), [false, false, true, true])
    assert.deepEqual(policy.planInsert(at(0.2, 'e'), SIZE), [hexes[0]])
    loc = 0.15
    policy.relocate()
    assert.deepEqual(hexes.map((h) => policy.isKept(h)), [true, true, false, false])
  })

  it('never exceeds its capacity with mixed sizes', () => {
    const clock = manualClock()
    const capacity = 10_000
    const policy = new StorePolicy({ capacityBytes: capacity, accessWeightMs: 50, now: clock.now })
    let seed = 42
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    let evicted = 0
    for (let i = 0; i < 2000; i++) {
      clock.advance(1)
      if (i > 0 && rand(3) === 0) policy.touch(`k${rand(i)}`)
      const size = 1 + rand(3000)
      const victims = policy.planInsert(`k${i}`, size)
      assert.equal(new Set(victims).size, victims.length)
      for (const v of victims) assert.ok(policy.remove(v), `victim ${v} is stored`)
      policy.commitInsert(`k${i}`, size)
      evicted += victims.length
      assert.ok(policy.usedBytes <= capacity, `used ${policy.usedBytes} at step ${i}`)
      let sum = 0
      for (const [, e] of policy) sum += e.size
      assert.equal(sum, policy.usedBytes)
    }
    assert.ok(evicted > 1000, `evicted ${evicted}`)
  })

  it('rejects entries larger than the whole capacity and ignores present keys', () => {
    const policy = new StorePolicy({ capacityBytes: SIZE, now: () => 0 })
    assert.equal(policy.fits(SIZE), true)
    assert.equal(policy.fits(SIZE + 1), false)
    assert.throws(() => policy.planInsert('x', SIZE + 1), RangeError)
    policy.commitInsert('x', SIZE)
    assert.deepEqual(policy.planInsert('x', SIZE), [])
    assert.throws(() => new StorePolicy({ capacityBytes: -1, now: () => 0 }), RangeError)
  })

  it('trims down to a smaller capacity and restores entries with their history', () => {
    const clock = manualClock()
    const policy = new StorePolicy({ capacityBytes: 5 * SIZE, now: clock.now })
    fill(policy, clock, ['a', 'b', 'c', 'd', 'e'])
    assert.deepEqual(policy.planTrim(), [])
    policy.touch('a')
    policy.setCapacity(2 * SIZE)
    assert.deepEqual(policy.planTrim(), ['b', 'c', 'd'])

    const copy = new StorePolicy({ capacityBytes: SIZE, now: clock.now })
    for (const [hex, e] of policy) copy.restore(hex, e)
    assert.equal(copy.usedBytes, 5 * SIZE)
    assert.deepEqual(copy.get('a'), policy.get('a'))
    assert.deepEqual(copy.planTrim(), ['b', 'c', 'd', 'e'])
    assert.equal(copy.remove('a'), true)
    assert.equal(copy.remove('a'), false)
    assert.equal(copy.count, 4)
    assert.equal(copy.usedBytes, 4 * SIZE)
  })
})

/** The next entry to evict by definition: the lowest (score, insert time, key) among those not kept. */
function scanLowest (policy: StorePolicy): string | undefined {
  let best: [string, StoreEntry] | undefined
  for (const [hex, e] of policy) {
    if (policy.isKept(hex)) continue
    if (best === undefined) { best = [hex, e]; continue }
    const d = policy.score(e) - policy.score(best[1])
    if (d < 0 || (d === 0 && (e.insertedAt < best[1].insertedAt || (e.insertedAt === best[1].insertedAt && hex < best[0])))) best = [hex, e]
  }
  return best?.[0]
}

describe('StorePolicy eviction order against a full scan', () => {
  // The policy keeps its cache entries in a heap; this drives it through every operation that
  // changes an entry's place (insert, evict, read, remove, keep and unkeep, relocate, restore
  // with history) and checks each planned eviction against the definition, scanned.
  for (const keepFraction of [0, 0.4]) {
    it(`picks the same victim as a scan of every entry (keepFraction ${keepFraction})`, () => {
      let seed = 12345 + keepFraction * 1000
      const rnd = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed / 2 ** 32 }
      const randomHex = (): string => Array.from({ length: 8 }, () => Math.floor(rnd() * 2 ** 32).toString(16).padStart(8, '0')).join('')
      const clock = manualClock()
      let loc = 0.3
      const policy = new StorePolicy({ capacityBytes: 40 * SIZE, accessWeightMs: 5, now: clock.now, keepFraction, location: () => loc })
      const held: string[] = []
      let checked = 0
      for (let step = 0; step < 4000; step++) {
        const r = rnd()
        if (r < 0.5 || held.length === 0) {
          const hex = randomHex()
          const plan = policy.planInsert(hex, SIZE)
          if (plan.length > 0) {
            assert.deepEqual(plan, [scanLowest(policy)])
            checked++
            for (const v of plan) { policy.remove(v); held.splice(held.indexOf(v), 1) }
          }
          policy.commitInsert(hex, SIZE)
          held.push(hex)
        } else if (r < 0.8) {
          policy.touch(held[Math.floor(rnd() * held.length)])
        } else if (r < 0.9) {
          const hex = held.splice(Math.floor(rnd() * held.length), 1)[0]
          assert.equal(policy.remove(hex), true)
        } else if (r < 0.95) {
          // restore with an old history: the entry goes back deep in the order
          const hex = held[Math.floor(rnd() * held.length)]
          policy.restore(hex, { size: SIZE, lastAccess: clock.now() - Math.floor(rnd() * 500), accessCount: Math.floor(rnd() * 4), insertedAt: clock.now() - 1000 })
        } else {
          loc = rnd()
          policy.relocate()
        }
        // ties in score are common (accessWeightMs 5, a tick per step): the tie-breaks matter too
        if (rnd() < 0.7) clock.advance(1)
      }
      assert.ok(checked > 1000, `only ${checked} evictions checked`)
      if (keepFraction > 0) assert.ok(policy.keptCount > 0)
    })
  }
})

describe('MemoryBlockStore', () => {
  it('stores, serves, evicts by the same policy and answers StoreView.has', () => {
    const clock = manualClock()
    const blocks = makeBlocks(4, SIZE)
    const store = new MemoryBlockStore({ capacityBytes: 3 * SIZE, now: clock.now })
    for (const b of blocks.slice(0, 3)) {
      assert.deepEqual(store.put(b.key, b.bytes), { stored: true, evicted: 0 })
      clock.advance(1)
    }
    assert.deepEqual(store.put(blocks[0].key, blocks[0].bytes), { stored: false, evicted: 0 })
    assert.deepEqual(store.get(blocks[0].key), blocks[0].bytes)
    assert.equal(store.get(blocks[3].key), undefined)
    assert.deepEqual(store.put(blocks[3].key, blocks[3].bytes), { stored: true, evicted: 1 })
    assert.equal(store.has(blocks[1].key), false, 'the unread oldest block went')
    assert.equal(store.has(blocks[0].key), true, 'the read block stayed')
    assert.deepEqual(store.stats(), { count: 3, kept: 0, usedBytes: 3 * SIZE, capacityBytes: 3 * SIZE })
    assert.equal(store.delete(blocks[0].key), true)
    assert.equal(store.delete(blocks[0].key), false)
    assert.equal(store.has(blocks[0].key), false)
    assert.deepEqual(store.put(makeBlocks(1, 4 * SIZE)[0].key, new Uint8Array(4 * SIZE)), { stored: false, evicted: 0 })
    assert.equal(store.stats().count, 2)
  })
})

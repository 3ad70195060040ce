/**
 * The healing queue: background inserts of rebuilt blocks with bounded concurrency and a
 * bounded queue, each key once while it is pending, failures counted and reported.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Healer } from '../../src/client/heal.js'
import { RoutingKey } from '../../src/keys/routing-key.js'

const block = (i: number): Uint8Array<ArrayBuffer> => new Uint8Array(8).fill(i)
const key = (i: number): RoutingKey => RoutingKey.hash(block(i))

describe('healing queue', () => {
  it('inserts every block once, never more than `concurrency` at a time, and drops beyond its queue', async () => {
    const started: string[] = []
    const release: Array<() => void> = []
    let running = 0
    let peak = 0
    const healer = new Healer(async (k) => {
      started.push(k.hex)
      running++
      peak = Math.max(peak, running)
      await new Promise<void>((resolve) => { release.push(resolve) })
      running--
    }, { concurrency: 2, maxQueued: 3 })
    for (let i = 0; i < 6; i++) healer.add(key(i), block(i))
    healer.add(key(0), block(0))
    // Two in flight, three queued, the sixth dropped; the repeat of key 0 ignored.
    assert.equal(started.length, 2)
    assert.deepEqual(healer.stats, { pending: 5, healed: 0, failed: 0, dropped: 1 })
    const drained = healer.drained()
    for (let turns = 0; release.length > 0 || started.length < 5; turns++) {
      assert.ok(turns < 1000, `stuck after ${started.length} inserts`)
      release.shift()?.()
      await new Promise((resolve) => setImmediate(resolve))
    }
    await drained
    assert.equal(peak, 2)
    assert.deepEqual(started, [0, 1, 2, 3, 4].map((i) => key(i).hex))
    assert.deepEqual(healer.stats, { pending: 0, healed: 5, failed: 0, dropped: 1 })
    // Once done, a key may be healed again (a later read found it missing again).
    healer.add(key(0), block(0))
    while (release.length === 0) await new Promise((resolve) => setImmediate(resolve))
    release.shift()!()
    await healer.drained()
    assert.equal(healer.stats.healed, 6)
  })

  it('counts and reports failed inserts and goes on', async () => {
    const errors: string[] = []
    const healer = new Healer(async (k) => {
      if (k.equals(key(1))) throw new Error('no route')
    }, { onError: (k, err) => { errors.push(`${k?.hex.slice(0, 4) ?? 'segment'}: ${err.message}`) } })
    for (let i = 0; i < 3; i++) healer.add(key(i), block(i))
    await healer.drained()
    healer.recomputeFailed(new Error('FEC encode failed'))
    assert.deepEqual(healer.stats, { pending: 0, healed: 2, failed: 2, dropped: 0 })
    assert.deepEqual(errors, [`${key(1).hex.slice(0, 4)}: no route`, 'segment: FEC encode failed'])
  })
})

/**
 * Deadlines. A node derives its own time budget from the HTL it receives
 * (`timeoutFor(htl)`), and gives each child a timer (`timeoutMs`). For answers to arrive
 * before the timers waiting for them fire, timers must nest: a node's timer for its child
 * ends half a hop before its own deadline, and the child's own deadline fits in that timer,
 * so timers shrink with depth.
 *
 * These tests run with probabilisticHtl off. With it on, a hop that keeps the HTL (at the
 * maximum, or at 1) hands the child the same HTL and so the same budget as its parent: the
 * child cannot know it has less time. Only the wire format can fix that (a remaining-time
 * field, or the paper's Reply.Restart), so it is left to the drivers' timers.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Harness, PLAIN, keyAt, type Delivery } from './harness.js'

const KEY = keyAt(0.5)
const HOP = 1000
const OPTIONS = { ...PLAIN, hopTimeoutMs: HOP }

type Forward = Extract<Delivery, { type: 'forward' }>

/**
 * Check that every timer of operation `id` nests in the time its node has, and in the time
 * its node's parent waits for it. Returns the number of forwards checked.
 */
function assertNested (h: Harness, id: bigint): number {
  const forwards = h.log.filter((d): d is Forward => d.type === 'forward' && d.id === id && !d.down)
  let checked = 0
  for (const f of forwards) {
    if (f.from === null) continue
    // The arrival that created the sender's operation: the first one (later ones are loops).
    const arrival = forwards.find((p) => p.to === f.from)
    assert.ok(arrival !== undefined)
    const core = h.cores[f.from]
    const own = arrival.t + core.timeoutFor(Math.min(arrival.htl, core.options.maxHtl))
    const end = f.t + f.timeoutMs
    const where = `${f.from}>${f.to} at ${f.t} for ${f.timeoutMs} ms`
    assert.ok(end <= own - HOP / 2, `${where}: past its node's own deadline ${own} less half a hop`)
    if (arrival.from !== null) {
      assert.ok(f.timeoutMs < arrival.timeoutMs, `${where}: not shorter than the parent's timer ${arrival.timeoutMs}`)
      assert.ok(end <= arrival.t + arrival.timeoutMs - HOP / 2, `${where}: ends after its parent gives up at ${arrival.t + arrival.timeoutMs}`)
    }
    checked++
  }
  return checked
}

describe('deadlines', () => {
  it('child timeouts shrink by a hop per level down a chain', () => {
    const htl = 6
    const h = new Harness({ nodes: 10, options: OPTIONS })
    h.chain([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 0.5)
    const id = h.start(0, 'request', KEY, htl)
    h.run()
    const timers = h.log.flatMap((d) => d.type === 'forward' && d.from !== null ? [d.timeoutMs] : [])
    assert.deepEqual(timers, Array.from({ length: htl }, (_, i) => (htl - i) * HOP))
    assert.equal(assertNested(h, id), htl)
  })

  it('a slow dead end leaves less time, and the next child gets less HTL to match', () => {
    const h = new Harness({ nodes: 8, options: OPTIONS })
    h.link(0, 1, 0.5) // 1 is a dead end that takes 2.5 hops to say so
    h.link(0, 2, 0.6)
    h.chain([2, 3, 4, 5, 6, 7], 0.5)
    h.slow.set(1, 2.5 * HOP)
    const htl = 6
    const id = h.start(0, 'request', KEY, htl)
    h.run()
    const second = h.log.find((d): d is Forward => d.type === 'forward' && d.to === 2)
    assert.ok(second !== undefined)
    const left = (htl + 1) * HOP - 2.5 * HOP
    assert.equal(second.t, 2.5 * HOP)
    assert.equal(second.timeoutMs, left - HOP / 2)
    // Without the time limit it would get htl - 2 and believe it had (htl - 1) hops of time.
    assert.ok(h.cores[2].timeoutFor(second.htl) <= second.timeoutMs)
    assert.ok(second.htl < htl - 2)
    assert.ok(assertNested(h, id) >= 3)
    assert.equal(h.client[0].reply.type, 'not-found')
  })

  it('after a child times out, the next child gets only a last look (HTL 0)', () => {
    const h = new Harness({ nodes: 6, options: OPTIONS })
    h.chain([0, 1, 2, 3], 0.5)
    h.link(1, 4, 0.6) // 1's second choice, which has the data
    h.link(4, 5, 0.5)
    h.put(4, KEY)
    h.silent.add(2)
    const htl = 5
    const id = h.start(0, 'request', KEY, htl)
    h.run()
    const to4 = h.log.find((d): d is Forward => d.type === 'forward' && d.to === 4)
    assert.ok(to4 !== undefined)
    assert.equal(to4.t, htl * HOP - HOP, '2 timed out when 1 gave it up')
    assert.equal(to4.htl, 0)
    assert.equal(to4.timeoutMs, HOP / 2)
    assert.deepEqual(h.client[0].reply, { type: 'found', source: 4, hops: 3, fromStore: false })
    assertNested(h, id)
  })

  it('with less than half a hop left for a child, the node gives up at once', () => {
    const h = new Harness({ nodes: 4, options: { ...OPTIONS, loopCostsHop: false } })
    h.chain([0, 1, 2, 3], 0.5)
    h.link(1, 3, 0.6) // 1's second choice, which will have seen the request through 2
    h.silent.add(2)
    const slow = 0.3 * HOP
    h.slow.set(3, slow)
    const htl = 4
    h.start(0, 'request', KEY, htl)
    h.run()
    // 1 waits (htl - 1) hops for 2, gives 3 a last look, and 3's loop answer leaves too little time.
    const timers = h.log.flatMap((d) => d.type === 'forward' && d.from === 1 ? [[d.to, d.t, d.timeoutMs]] : [])
    assert.deepEqual(timers, [[2, 0, (htl - 1) * HOP], [3, (htl - 1) * HOP, HOP / 2]])
    const gaveUp = h.log.find((d) => d.type === 'reply' && d.from === 1)
    assert.equal(gaveUp?.t, (htl - 1) * HOP + slow)
    // Running out of time is not running out of HTL: RouteNotFound with the unspent HTL,
    // and nothing in any failure table (one slow peer must not make the key fail for minutes).
    assert.deepEqual(h.client[0].reply, { type: 'route-not-found', remaining: 2, hops: 3 })
    for (const core of h.cores) assert.equal(core.failures.size, 0)
  })

  it('without hopTimeoutMs there are no deadlines', () => {
    const h = new Harness({ nodes: 3, options: PLAIN })
    h.chain([0, 1, 2], 0.5)
    h.silent.add(2)
    h.link(1, 0, 0.4)
    h.request(0, KEY, 5)
    assert.ok(h.log.every((d) => d.type !== 'forward' || d.timeoutMs === Infinity))
    assert.equal(h.cores[0].timeoutFor(5), Infinity)
    assert.equal(h.now, 0)
  })
})

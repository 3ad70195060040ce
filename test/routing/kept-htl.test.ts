import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Harness, PLAIN, keyAt } from './harness.js'
import { networkProfile } from '../../src/routing/profiles.js'

const KEY = keyAt(0.5)

/**
 * Issue 12: a request for a key no peer holds, in a 50-node network running the `network`
 * profile, took 577-1,861 messages: 1,603 of 1,865 forwards went at HTL 1, which the
 * probabilistic rule keeps undecremented, and each child that found no route gave that HTL back
 * whole (loop rejections cost nothing and backtracked nodes forget the ID: a depth-first
 * search of the graph at HTL 1).
 */
describe('a request kept at its HTL', () => {
  it('spends one HTL on each child that found no route, so a search for an absent key stays bounded', () => {
    const n = 8
    // The network profile's loop rules, with HTL 1 always kept (decrementAtMinProb 0).
    const h = new Harness({ nodes: n, options: { ...PLAIN, ...pick(), probabilisticHtl: true, decrementAtMaxProb: 0, decrementAtMinProb: 0 } })
    for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) if (a !== b) h.link(a, b, (b + 0.5) / n)
    const id = h.start(0, 'request', KEY, 3)
    h.run()
    const reply = h.client.find((c) => c.id === id)?.reply
    assert.ok(reply !== undefined && (reply.type === 'not-found' || reply.type === 'route-not-found'), JSON.stringify(reply))
    // Before: a depth-first search over the complete graph's simple paths at HTL 1, 196 / 1,305
    // / 9,786 messages at 5 / 6 / 7 nodes and over 100,000 harness steps at 8. Now 25 / 38 / 61 / 85.
    assert.ok(h.sent(id) <= 4 * n * n, `${h.sent(id)} messages for an absent key among ${n} nodes`)
    for (const core of h.cores) assert.equal(core.activeOps, 0)
  })
})

function pick (): { loopCostsHop: boolean, perPathLoops: boolean, notFoundRetries: number, notFoundRetryHtl: number } {
  const c = networkProfile.core
  return { loopCostsHop: c.loopCostsHop, perPathLoops: c.perPathLoops, notFoundRetries: c.notFoundRetries, notFoundRetryHtl: c.notFoundRetryHtl }
}

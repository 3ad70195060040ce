import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { FailureTable } from '../../src/routing/failure-table.js'
import { Harness, PLAIN, keyAt } from './harness.js'

const KEY = keyAt(0.5)

describe('failure table', () => {
  it('rejects requests at or below the failed HTL until the entry expires', () => {
    const ttl = 1000
    const t = new FailureTable(10, ttl)
    t.record('k', 4, 0)
    assert.equal(t.rejects('k', 4, 1), true)
    assert.equal(t.rejects('k', 1, 1), true)
    assert.equal(t.rejects('k', 5, 1), false)
    assert.equal(t.rejects('other', 0, 1), false)
    assert.equal(t.rejects('k', 4, ttl), false, 'expired')
    assert.equal(t.size, 0, 'an expired entry is dropped when looked at')
  })

  it('keeps the highest unexpired HTL, and a clear forgets the key', () => {
    const t = new FailureTable(10, 1000)
    t.record('k', 6, 0)
    t.record('k', 2, 500)
    assert.equal(t.rejects('k', 6, 1400), true, 'the HTL-6 failure still counts, renewed at 500')
    t.record('k', 3, 3000) // the old entry had expired: start again from 3
    assert.equal(t.rejects('k', 4, 3001), false)
    t.clear('k')
    assert.equal(t.rejects('k', 0, 3001), false)
  })

  it('an entry at its expiry instant no longer counts: a new failure starts from its own HTL', () => {
    const t = new FailureTable(10, 1000)
    t.record('k', 6, 0)
    t.record('k', 2, 1000)
    assert.equal(t.rejects('k', 3, 1001), false)
    assert.equal(t.rejects('k', 2, 1001), true)
  })

  it('a renewed key counts as the newest when the table is full', () => {
    const t = new FailureTable(2, 1000)
    t.record('a', 1, 0)
    t.record('b', 1, 0)
    t.record('a', 1, 10)
    t.record('c', 1, 20)
    assert.equal(t.rejects('a', 1, 30), true, 'a was renewed after b')
    assert.equal(t.rejects('b', 1, 30), false, 'b was the oldest')
    assert.equal(t.rejects('c', 1, 30), true)
  })

  it('is bounded: the oldest key goes first', () => {
    const t = new FailureTable(2, 1000)
    t.record('a', 1, 0)
    t.record('b', 1, 0)
    t.record('c', 1, 0)
    assert.equal(t.size, 2)
    assert.equal(t.rejects('a', 1, 0), false)
    assert.equal(t.rejects('c', 1, 0), true)
  })
})

describe('failure table in the node', () => {
  const ttl = 60_000
  const length = 6
  const setup = (failureTableSize = 100): Harness => {
    const h = new Harness({ nodes: length + 1, options: { ...PLAIN, failureTableTtlMs: ttl, failureTableSize } })
    h.chain(Array.from({ length }, (_, i) => i), KEY.loc)
    h.link(length, 1, KEY.loc) // another requester whose route joins at node 1
    return h
  }
  const htl = 3

  it('a repeat request that failed at the same or a higher HTL is rejected at once', () => {
    const h = setup()
    assert.deepEqual(h.request(0, KEY, htl), { type: 'not-found', hops: htl })
    const before = h.log.length
    for (const again of [htl, htl - 1]) {
      const id = h.start(0, 'request', KEY, again)
      h.run()
      assert.deepEqual(h.client.at(-1)?.reply, { type: 'not-found', hops: 0, recentlyFailed: true })
      assert.equal(h.sent(id), 0, 'nothing was forwarded')
    }
    assert.equal(h.cores[0].stats.failureTableRejects, 2)
    assert.ok(h.log.slice(before).every((d) => d.from === null || d.to === null))
  })

  it('a node on the path rejects the repeat for another requester', () => {
    const h = setup()
    h.request(0, KEY, htl) // node 1 got HTL 2 and failed
    const reply = h.request(length, KEY, htl) // node 1 gets HTL 2 again
    assert.deepEqual(reply, { type: 'not-found', hops: 1, recentlyFailed: true })
    assert.equal(h.cores[1].stats.failureTableRejects, 1)
    // Issue 11: a failure-table answer creates no entry where it arrives (entries fed each other).
    assert.equal(h.cores[length].failures.size, 0)
    assert.deepEqual(h.trace(2n).slice(1), [`${length}>1 request htl=2`, `1>${length} not-found hops=0`, `${length}>client not-found hops=1`])
  })

  it('a request with more HTL is routed, one node further', () => {
    const h = setup()
    h.request(0, KEY, htl)
    const id = h.start(0, 'request', KEY, htl + 1)
    h.run()
    assert.equal(h.sent(id), htl + 1)
    assert.ok(h.log.some((d) => d.type === 'forward' && d.id === id && d.to === htl + 1))
  })

  it('entries expire with the clock', () => {
    const h = setup()
    h.request(0, KEY, htl)
    h.advance(ttl - 1)
    const early = h.start(0, 'request', KEY, htl)
    h.run()
    assert.equal(h.sent(early), 0)
    h.advance(1)
    const late = h.start(0, 'request', KEY, htl)
    h.run()
    assert.equal(h.sent(late), htl)
  })

  it('an insert of the key clears the entries on its way: the key is found again at once', () => {
    const h = setup()
    h.request(0, KEY, htl) // nodes 0, 1, 2 remember the failure
    assert.ok(h.cores[1].failures.size > 0)
    // The requester inserts the key one hop deep (issue 15: a lookup before a put, as the
    // updatable descriptor does, left entries where a short or backtracking insert passes).
    h.insert(0, KEY, 1)
    assert.deepEqual(h.holders(KEY), [0, 1])
    assert.deepEqual([0, 1].map((i) => h.cores[i].failures.size), [0, 0])
    // Another requester whose route joins at node 1 gets it there, not node 1's old failure.
    assert.equal(h.request(length, KEY, htl).type, 'found')
  })

  it('size 0 turns it off', () => {
    const h = setup(0)
    h.request(0, KEY, htl)
    const id = h.start(0, 'request', KEY, htl)
    h.run()
    assert.equal(h.sent(id), htl)
    assert.equal(h.cores[0].failures.size, 0)
  })

  it('RouteNotFound is not a failure to remember: the key may be reachable by another way', () => {
    const h = setup()
    const reply = h.request(0, KEY, 20) // runs off the end of the chain with HTL to spare
    assert.equal(reply.type, 'route-not-found')
    for (const core of h.cores) assert.equal(core.failures.size, 0)
  })
})

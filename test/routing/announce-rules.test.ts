/**
 * The announcement rules that used to live in the libp2p driver and now live in AnnounceCore,
 * so that the simulator runs them too: the impostor check (sender or signature), refusing a join that
 * would repoint another peer's location (with a tolerance, not float equality), which walk or
 * join references are kept, and cutting a join's HTL to fit its deadline.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { AnnounceCore, commitmentOf } from '../../src/routing/announce.js'
import { SAME_LOCATION } from '../../src/routing/announce-join.js'
import { seededRng } from '../../src/routing/random.js'
import { RoutingTable } from '../../src/routing/routing-table.js'
import type { AnnounceAction, WalkRef } from '../../src/routing/announce-messages.js'
import type { AnnounceOptions } from '../../src/routing/announce-options.js'

const SELF = 0

function core (entries: Array<[number, number]>, options: Partial<AnnounceOptions> = {}, clock = { t: 0 }): { core: AnnounceCore<number>, table: RoutingTable<number> } {
  const table = new RoutingTable<number>(50)
  for (const [loc, peer] of entries) table.add(loc, peer)
  const c = new AnnounceCore<number>({
    self: SELF,
    table,
    addRoute: (loc, peer) => table.add(loc, peer),
    rng: seededRng(7),
    now: () => clock.t,
    location: () => 0.9,
    options: { maxHtl: 5, joinHtl: 3, shareWalk: 'newcomer', shareNearest: 0, joinHopMs: 100, ...options }
  })
  return { core: c, table }
}

function entries (table: RoutingTable<number>): string[] {
  return [...table.entries()].map((e) => `${e.peer}@${e.loc}`).sort()
}

const one = (a: Array<AnnounceAction<number>>): AnnounceAction<number> => {
  assert.equal(a.length, 1, JSON.stringify(a, (_, v) => typeof v === 'bigint' ? v.toString() : v))
  return a[0]
}

describe('announce rules in the core', () => {
  it('refuses a first-hop announcement sent by someone other than its newcomer, without burning its ID', () => {
    const { core: c } = core([[0.1, 1], [0.2, 2]])
    const commitments = [commitmentOf(new Uint8Array(32).fill(1))]
    assert.deepEqual(one(c.receive(5, { id: 1n, htl: 2, node: 7, commitments })), { type: 'failed', id: 1n, to: 5, reason: 'impostor' })
    assert.equal(c.has(1n), false)
    // The newcomer itself, with the same ID: accepted (the forged one left no trace).
    assert.equal(one(c.receive(7, { id: 1n, htl: 2, node: 7, commitments })).type, 'announce')
    // Deeper in the walk (two commitments) a relay of someone else's announcement needs the
    // newcomer's signature (the driver verifies it): without, refused (issue 11).
    const two = [...commitments, commitmentOf(new Uint8Array(32))]
    assert.deepEqual(one(c.receive(5, { id: 2n, htl: 2, node: 7, commitments: two })), { type: 'failed', id: 2n, to: 5, reason: 'impostor' })
    assert.deepEqual(one(c.receive(5, { id: 2n, htl: 2, node: 7, commitments: two, signed: false })), { type: 'failed', id: 2n, to: 5, reason: 'impostor' })
    assert.equal(one(c.receive(5, { id: 2n, htl: 2, node: 7, commitments: two, signed: true })).type, 'announce')
  })

  it('refuses a join at a location another peer holds, also a hair away from it and across 0/1', () => {
    const { core: c, table } = core([[0.3, 9], [0, 8], [0.6, 4]])
    const before = entries(table)
    for (const [i, loc] of [0.3, 0.3 + 1e-15, 0.3 - 1e-12, 1 - 1e-12, 0.3 + SAME_LOCATION / 2].entries()) {
      assert.deepEqual(one(c.join(2, { id: BigInt(10 + i), htl: 1, node: 7, loc })), { type: 'join-failed', id: BigInt(10 + i), to: 2, reason: 'taken' }, `loc ${loc}`)
    }
    assert.deepEqual(entries(table), before, 'a refused join adds or repoints nothing')
    // Refused joins leave no seen-cache entry: the ID is free for an honest join.
    assert.equal(one(c.join(2, { id: 10n, htl: 0, node: 7, loc: 0.3 + 2 * SAME_LOCATION })).type, 'joined')
    assert.ok(table.has(7))
    // The peer that holds the location may join there (a rejoin after a restart refreshes it).
    assert.equal(one(c.join(2, { id: 20n, htl: 0, node: 9, loc: 0.3 })).type, 'joined')
  })

  it('keeps the last references of a list that is too long (those nearest us) and no route that repoints another peer', () => {
    // maxHtl 2, shareNearest 0: an honest route sends at most 3 references.
    const { core: c, table } = core([[0.5, 1], [0.25, 9]], { maxHtl: 2 })
    assert.deepEqual(c.boundRefs([1, 2, 3, 4, 5]), [3, 4, 5])
    const id = 30n
    const go = one(c.rejoin(id, 0.5))
    assert.equal(go.type, 'join')
    const refs: Array<WalkRef<number>> = [
      { peer: 11, loc: 0.11 }, { peer: 12, loc: 0.12 }, // deepest: beyond the bound
      { peer: 13, loc: 0.25 + 1e-15 }, // would shadow peer 9's entry
      { peer: 14, loc: 0.14 }, { peer: 15, loc: 0.15 }
    ]
    const done = one(c.joined(id, 1, refs))
    assert.deepEqual(done, { type: 'joined', id, to: null, refs: [{ peer: 14, loc: 0.14 }, { peer: 15, loc: 0.15 }] })
    for (const p of [11, 12, 13]) assert.ok(!table.has(p), `reference ${p} dropped`)
    for (const p of [14, 15]) assert.ok(table.has(p), `reference ${p} became a route`)
  })

  it('passes a join on with the HTL that fits in what is left of its deadline, and ends it here when none does', () => {
    const clock = { t: 0 }
    const { core: c } = core([[0.5, 1], [0.51, 2], [0.52, 3], [0.53, 4]], { maxHtl: 10 }, clock)
    const id = 40n
    // htl 5 at 100 ms a hop: 600 ms here; the next hop gets 4 (500 ms) and a quarter hop spare.
    const first = one(c.join(9, { id, htl: 5, node: 7, loc: 0.505 }))
    assert.deepEqual(first, { type: 'join', id, to: 1, htl: 4, node: 7, loc: 0.505 })
    assert.equal(c.joinDeadline(id), 600)
    clock.t = 350
    // 250 ms left, less a quarter hop: 2 hops' worth, so HTL 1.
    const second = one(c.joinFailed(id, 1))
    assert.deepEqual(second, { type: 'join', id, to: 2, htl: 1, node: 7, loc: 0.505 })
    clock.t = 560
    // 40 ms left: no next hop can finish in time; the route ends here and answers upstream.
    const end = one(c.joinFailed(id, 2))
    assert.equal(end.type, 'joined')
    assert.equal(end.to, 9)
    assert.equal(c.hasJoin(id), false)
  })
})

/**
 * What the network tells an observer about a node's user (issue 11, findings 3 and 6),
 * reproduced against real nodes on 127.0.0.1 with the attack scripts of test/helpers/attacks.ts.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Block, FrameType } from '../../proto/warren.js'
import { RoutingKey } from '../../src/keys/routing-key.js'
import { chkBlock, namesPeer, observeInserts, probeStore } from '../helpers/attacks.js'
import { createNetwork, createNode, until } from '../helpers/network.js'
import { removeTempDir } from '../helpers/temp.js'
import { createRawPeer } from '../helpers/raw-peer.js'
import { randomBytes } from '../helpers/seed.js'
import { peerIdFromMultihash } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import type { ObservedInsert, Probe } from '../helpers/attacks.js'
import type { TestNetwork } from '../helpers/network.js'
import type { RawPeer } from '../helpers/raw-peer.js'

const INSERTS = 30

/** A fresh CHK block whose key `pick` accepts (routing is by key: this chooses the path). */
function blockWhere (pick: (key: RoutingKey) => boolean): ReturnType<typeof chkBlock> {
  for (let i = 0; i < 10_000; i++) {
    const b = chkBlock(randomBytes(1000))
    if (pick(new RoutingKey(b.key))) return b
  }
  throw new Error('no key in 10,000 tries routes the way the test needs')
}

describe('finding 3: inserts do not name their inserter', () => {
  let net: TestNetwork
  let far: RawPeer
  let near: RawPeer
  let other: RawPeer
  let farSeen: ObservedInsert[]
  let nearSeen: ObservedInsert[]

  before(async () => {
    // I (inserter) - R (relay) - far observer; I - `other`, a second neighbour of I (so that I
    // knows a node to name); the near observer joins I in the second test. Nobody can dial
    // the raw peers: the inserter can never be made to connect to `far`, and R, told about
    // `other`, cannot reach it and routes on to `far`.
    net = await createNetwork(2)
    await net.connect(0, 1)
    far = await createRawPeer({ listen: false })
    near = await createRawPeer({ listen: false })
    other = await createRawPeer({ listen: false })
    for (const p of [far, near, other]) await p.start()
    farSeen = await observeInserts(far)
    nearSeen = await observeInserts(near)
    await observeInserts(other)
    const [i, r] = net.nodes
    await far.dial(r.libp2p.getMultiaddrs()[0])
    await other.dial(i.libp2p.getMultiaddrs()[0])
    await until(() => r.service.core.table.has(far.peerId.toString()) && i.service.core.table.has(other.peerId.toString()), 10_000, 'the raw peers are neighbours')
  })

  after(async () => {
    for (const p of [far, near, other]) await p.stop()
    await net.stop()
  })

  it('an observer on the path that never connected to the inserter learns neither its peer ID nor its addresses', async () => {
    const [i, r] = net.nodes
    for (let n = 0; n < INSERTS; n++) {
      // Keys that I routes to R (R has nowhere else to go than the observer).
      const b = blockWhere((k) => i.service.core.table.closest(k.loc) === r.peerId)
      const res = await i.service.insert(new RoutingKey(b.key), b.block, { htl: 20 })
      assert.ok(res.stored >= 2, 'stored at the inserter and below')
    }
    assert.equal(i.libp2p.getConnections(far.peerId).length, 0, 'the observer never connected to the inserter')
    assert.equal(farSeen.length, INSERTS, 'every insert reached the observer (through R)')
    assert.ok(farSeen.every((o) => o.from === r.peerId))
    const naming = farSeen.filter((o) => namesPeer(o.insert.source, i.libp2p.peerId, i.libp2p.getMultiaddrs()))
    // Before the fix: 29 of 30 (the relay replaced the source with itself with probability 0.1).
    assert.equal(naming.length, 0, `${naming.length} of ${farSeen.length} inserts named the inserter`)
    // The sources named: `other` (the inserter's other neighbour, passed on by R) or R (its reset).
    const named = new Set(farSeen.map((o) => o.insert.source === undefined ? 'none' : peerIdFromMultihash(Digest.decode(o.insert.source.peerId)).toString()))
    for (const p of named) assert.ok(p === r.peerId || p === other.peerId.toString(), `source ${p}`)
  })

  it('the inserter\'s own INSERT is the same frame as a relay\'s and names neither the inserter nor the receiver', async () => {
    const [i] = net.nodes
    await near.dial(i.libp2p.getMultiaddrs()[0])
    const nearId = near.peerId.toString()
    await until(() => i.service.core.table.has(nearId), 10_000, 'the observer is a neighbour of I')
    for (let n = 0; n < 10; n++) {
      const b = blockWhere((k) => i.service.core.table.closest(k.loc) === nearId)
      await i.service.insert(new RoutingKey(b.key), b.block, { htl: 20 })
    }
    const direct = nearSeen.filter((o) => o.from === i.peerId)
    assert.equal(direct.length, 10, 'the observer was the inserter\'s first hop')
    const fields = (o: ObservedInsert): string[] => Object.entries(o.insert).filter(([, v]) => v !== undefined).map(([k]) => k).sort()
    for (const o of [...direct, ...farSeen]) assert.deepEqual(fields(o), ['htl', 'id', 'key', 'source'])
    for (const o of direct) {
      assert.ok(!namesPeer(o.insert.source, i.libp2p.peerId, i.libp2p.getMultiaddrs()), 'names the inserter')
      assert.ok(!namesPeer(o.insert.source, near.peerId, []), 'names the receiver')
    }
    // What is left (docs/reliability.md, finding 3): the data phase's timing. The originator
    // holds the block and sends it at once after ALL_CLEAR; a relay first passes ALL_CLEAR up
    // and waits for the block to come down. Reported, not asserted (it is the known limit).
    const median = (o: ObservedInsert[]): number => o.map((x) => x.dataAfterMs ?? NaN).sort((x, y) => x - y)[Math.floor(o.length / 2)]
    console.log(`ALL_CLEAR -> INSERT_DATA median: from the originator ${median(direct).toFixed(2)} ms, through one relay ${median(farSeen).toFixed(2)} ms`)
  })
})

describe('finding 6: a neighbour cannot probe what the user fetched or inserted', () => {
  let net: TestNetwork
  let evil: RawPeer
  const extraDirs: string[] = []

  before(async () => {
    // A (the user) - B (holds the data in its store, as if it had relayed it); evil - A.
    net = await createNetwork(2)
    await net.connect(0, 1)
    evil = await createRawPeer()
    await evil.start()
  })

  after(async () => {
    await evil.stop()
    await net.stop()
    await Promise.all(extraDirs.map(removeTempDir))
  })

  it('HTL-0 probes answer DATA_NOT_FOUND for fetched and inserted keys, as for keys nobody has; the user reads them from the client cache', async () => {
    const [a, b] = net.nodes
    const fetched = Array.from({ length: 10 }, () => chkBlock(randomBytes(2000)))
    for (const f of fetched) await b.store.put(new RoutingKey(f.key), Block.encode(f.block))
    for (const f of fetched) {
      const r = await a.service.request(new RoutingKey(f.key), { htl: 20 })
      assert.equal(r.hops, 1, 'fetched from B')
    }
    const inserted = Array.from({ length: 10 }, () => chkBlock(randomBytes(2000)))
    for (const f of inserted) await a.service.insert(new RoutingKey(f.key), f.block, { htl: 20 })
    const absent = Array.from({ length: 10 }, () => chkBlock(randomBytes(2000)))
    const addr = a.libp2p.getMultiaddrs()[0]
    const probes = {
      fetched: await probeStore(evil, addr, fetched.map((f) => f.key), 1000n),
      inserted: await probeStore(evil, addr, inserted.map((f) => f.key), 2000n),
      absent: await probeStore(evil, addr, absent.map((f) => f.key), 3000n)
    }
    const median = (p: Probe[]): number => p.map((x) => x.ms).sort((x, y) => x - y)[Math.floor(p.length / 2)]
    console.log(`HTL-0 probe medians: fetched ${median(probes.fetched).toFixed(2)} ms, inserted ${median(probes.inserted).toFixed(2)} ms, absent ${median(probes.absent).toFixed(2)} ms`)
    // Before the fix: 10 of 10 fetched and 10 of 10 inserted keys answered DATA_FOUND.
    for (const [what, p] of Object.entries(probes)) {
      assert.equal(p.filter((x) => x.found).length, 0, `${what}: ${p.filter((x) => x.found).length} of ${p.length} probes found`)
      assert.ok(p.every((x) => x.type === FrameType.DATA_NOT_FOUND), what)
    }
    // The user's own reads come from the client cache: with B gone, no network is needed.
    await b.stop()
    for (const f of [...fetched, ...inserted]) {
      const r = await a.service.request(new RoutingKey(f.key), { htl: 20 })
      assert.equal(r.hops, 0)
      assert.deepEqual(r.block.data, f.block.data)
    }
  })

  it('the client cache is persisted and bounded by its configured capacity', async () => {
    const { node, dir } = await createNode({ config: { clientCacheBytes: 2 * 1024 * 1024 } })
    extraDirs.push(dir)
    assert.equal(node.clientCache.stats().capacityBytes, 2 * 1024 * 1024)
    const blocks = Array.from({ length: 3 }, () => chkBlock(randomBytes(2000)))
    // HTL 0: a node with no peer keeps the block on purpose (at a higher HTL its insert fails: it
    // reached no other node, NodeCore.ownInsertNeedsPeer).
    for (const f of blocks) await node.service.insert(new RoutingKey(f.key), f.block, { htl: 0 })
    assert.equal(node.store.stats().count, 0, 'nothing the user inserted is in the store')
    await node.stop()
    const again = await createNode({ config: { dataDir: dir, clientCacheBytes: 2 * 1024 * 1024 } })
    extraDirs.push(again.dir)
    try {
      for (const f of blocks) assert.equal((await again.node.service.request(new RoutingKey(f.key), { htl: 20 })).hops, 0)
    } finally {
      await again.node.stop()
    }
  })
})

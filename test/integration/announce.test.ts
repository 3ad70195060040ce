/**
 * Node announcement between real libp2p nodes on 127.0.0.1, driven by the same
 * AnnounceCore the simulator runs: the walk agrees on SHA-256 of the XOR of every
 * participant's seed, and exactly the nodes of the walk add the newcomer under that key;
 * the routed join then takes the newcomer to the nodes near that location.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { pbStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import assert from 'node:assert/strict'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createServer } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { Error as WireError, Frame, FrameType } from '../../proto/warren.js'
import { ANNOUNCE_JOIN_HTL, ANNOUNCE_PROTOCOL, ANNOUNCE_SHARE_NEAREST, JOIN_PROTOCOL, MAX_FRAME_BYTES, MAX_HTL, REQUEST_PROTOCOL } from '../../src/constants.js'
import { distance, RoutingKey } from '../../src/keys/routing-key.js'
import { peerKey } from '../../src/protocol/address-book.js'
import { announceKey, commitmentOf } from '../../src/routing/announce.js'
import { ANNOUNCEMENT_FILE, loadAnnouncement } from '../../src/announcement.js'
import { createNetwork, createNode, ring, until } from '../helpers/network.js'
import { createRawPeer } from '../helpers/raw-peer.js'
import { randomBytes } from '../helpers/seed.js'
import type { AnnounceJoin, PeerRef, WalkRef } from '../../proto/warren.js'
import type { AnnounceOptions } from '../../src/routing/announce-options.js'
import type { TestNetwork } from '../helpers/network.js'
import type { RawPeer } from '../helpers/raw-peer.js'
import type { WarrenNode } from '../../src/node.js'
import type { Stream } from '@libp2p/interface'
import type { ProtobufMessageStream } from '@libp2p/utils'

function knows (node: WarrenNode, peer: string, loc: number): boolean {
  for (const e of node.service.core.table.entries()) if (e.peer === peer && e.loc === loc) return true
  return false
}

/** A routing key at location `loc` (a multiple of 2^-52, as every routing location is). */
function keyAt (loc: number): RoutingKey {
  const bytes = new Uint8Array(32)
  let n = BigInt(loc * 2 ** 52) << 4n
  for (let i = 6; i >= 0; i--) {
    bytes[i] = Number(n & 0xffn)
    n >>= 8n
  }
  const key = new RoutingKey(bytes)
  assert.equal(key.loc, loc)
  return key
}

async function fakePeer (addrs: string[] = []): Promise<{ id: string, ref: PeerRef }> {
  const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  return { id: id.toString(), ref: { peerId: id.toMultihash().bytes, multiaddrs: addrs.map((a) => multiaddr(a).bytes) } }
}

type Bytes = Uint8Array<ArrayBuffer>

/**
 * A hand-written last walk node: commits, takes the reveal and answers the result with the
 * given references (and, if `forge`, a key that does not follow from the seeds).
 */
function rawWalkNode (refs: WalkRef[], forge = false): (stream: Stream) => Promise<void> {
  return async (stream) => {
    const pb = pbStream(stream, { maxDataLength: 4 * MAX_FRAME_BYTES }).pb(Frame)
    const a = (await pb.read()).announce!
    const seed = randomBytes(32) as Bytes
    await pb.write({ type: FrameType.ANNOUNCE_COMMIT, announceCommit: { commitments: [...a.commitments, commitmentOf(seed) as Bytes] } })
    const seeds = [...(await pb.read()).announceReveal!.seeds, seed]
    const key = forge ? RoutingKey.hash(seed) : announceKey(seeds)
    await pb.write({ type: FrameType.ANNOUNCE_RESULT, announceResult: { key: key.bytes as Bytes, seeds, refs } })
    await stream.close()
  }
}

/** A hand-written join route node: records the JOIN and answers JOINED with the given references. */
function rawJoinNode (refs: WalkRef[], received: AnnounceJoin[]): (stream: Stream) => Promise<void> {
  return async (stream) => {
    const pb = pbStream(stream, { maxDataLength: 4 * MAX_FRAME_BYTES }).pb(Frame)
    received.push((await pb.read()).announceJoin!)
    await pb.write({ type: FrameType.ANNOUNCE_JOINED, announceJoined: { refs } })
    await stream.close()
  }
}

describe('node announcement over libp2p', () => {
  let net: TestNetwork
  const extra: Array<{ node: WarrenNode }> = []

  before(async () => {
    net = await createNetwork(6)
    await ring(net)
  })

  after(async () => {
    for (const e of extra) await e.node.stop()
    await net.stop()
  })

  it('agrees on a key by commit-and-reveal and every node of the walk adds the newcomer under it', async () => {
    // The walk alone: the routed join (tested below) would add the join route's nodes.
    const { node: newcomer } = await createNode({ service: { announce: { joinHtl: 0 } } })
    extra.push({ node: newcomer })
    await newcomer.libp2p.dial(net.nodes[0].libp2p.getMultiaddrs()[0])
    await until(() => newcomer.service.core.table.has(net.nodes[0].peerId), 10_000, 'newcomer connected')

    const htl = 4
    const r = await newcomer.service.announce(net.nodes[0].peerId, htl)
    assert.equal(r.key.bytes.length, 32)
    assert.ok(r.participants >= 1 && r.participants <= htl, `${r.participants} participants`)
    // Walk nodes other than the bootstrap route to the newcomer once they have connected to it.
    await until(() => net.nodes.filter((n) => knows(n, newcomer.peerId, r.key.loc)).length === r.participants, 10_000, 'the walk nodes verified the newcomer')
    await until(() => net.nodes.every((n) => n.service.core.pending.size === 0), 10_000, 'nothing left to verify')
    const holders = net.nodes.filter((n) => knows(n, newcomer.peerId, r.key.loc))
    assert.equal(holders.length, r.participants, 'exactly the walk records the newcomer under the agreed key')
    assert.ok(knows(net.nodes[0], newcomer.peerId, r.key.loc), 'the bootstrap node is on the walk')
    for (const n of [...net.nodes, newcomer]) await until(() => n.service.activeOperations === 0, 5000, 'announcement state released')
  })

  it('announces by itself on start when given a bootstrap peer, and reports it in status', async () => {
    const boot = net.nodes[3].libp2p.getMultiaddrs()[0].toString()
    const { node } = await createNode({ config: { bootstrap: [boot] }, service: { announce: { joinHtl: 0 } } })
    extra.push({ node })
    await until(() => node.status().announcement !== null, 20_000, 'automatic announcement')
    const a = node.status().announcement!
    const loc = RoutingKey.fromHex(a.key).loc
    // The walk may pass through the first test's newcomer too: count every node.
    const everyone = [...net.nodes, ...extra.map((e) => e.node)]
    await until(() => everyone.filter((n) => knows(n, node.peerId, loc)).length === a.participants, 10_000, 'the walk nodes verified the newcomer')
    await until(() => everyone.every((n) => n.service.core.pending.size === 0), 10_000, 'nothing left to verify')
    assert.equal(everyone.filter((n) => knows(n, node.peerId, loc)).length, a.participants)
    // The store keeps the blocks nearest its location now that it has one (STORE_KEEP_FRACTION).
    assert.equal(node.service.location, loc)
    for (let i = 0; i < 4; i++) {
      const block = new Uint8Array(64).fill(i)
      await node.store.put(RoutingKey.hash(block), block)
    }
    assert.equal(node.store.stats().kept, 4)
  })
})

describe('a node keeps its location across restarts', () => {
  let net: TestNetwork
  const dirs: string[] = []
  const nodes: WarrenNode[] = []

  before(async () => {
    net = await createNetwork(6)
    await ring(net, [[0, 3], [1, 4]])
  })

  after(async () => {
    for (const n of nodes) await n.stop().catch(() => {})
    await net.stop()
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })

  it('restores the agreed location, keeps its store specialised, routes a join toward it and never walks again', async () => {
    const config = { bootstrap: [net.nodes[2].libp2p.getMultiaddrs()[0].toString()] }
    const { node, dir } = await createNode({ config })
    dirs.push(dir)
    nodes.push(node)
    await until(() => node.status().announcement !== null, 20_000, 'automatic announcement')
    const first = node.status().announcement!
    assert.equal(first.restored, false)
    const loc = node.service.location
    for (let i = 0; i < 4; i++) {
      const block = new Uint8Array(64).fill(i)
      await node.store.put(RoutingKey.hash(block), block)
    }
    assert.equal(node.store.stats().kept, 4)
    const saved = await loadAnnouncement(dir)
    assert.deepEqual(saved, { key: first.key, participants: first.participants, at: first.at })
    const peer = node.peerId
    await node.stop()
    // The network forgets it, so that only the join toward the kept location can teach it again.
    await until(() => net.nodes.every((n) => n.libp2p.getPeers().every((p) => p.toString() !== peer)), 10_000, 'disconnected')
    for (const n of net.nodes) n.service.core.table.removePeer(peer)

    const { node: again, dir: unused } = await createNode({ config: { ...config, dataDir: dir } })
    dirs.push(unused)
    nodes.push(again)
    assert.equal(again.peerId, peer, 'same identity')
    const a = again.status().announcement!
    assert.deepEqual(a, { ...first, restored: true }, 'the saved announcement, not a new one')
    assert.equal(again.service.location, loc)
    assert.equal(again.store.stats().kept, 4, 'the store kept its specialised share from the start')
    await until(() => net.nodes.some((n) => knows(n, peer, loc)), 20_000, 'a join toward the kept location')
    const holders = net.nodes.filter((n) => knows(n, peer, loc)).length
    // A join learns its route in return: the node routes to route nodes under their own locations.
    await until(() => again.service.core.table.size > 1, 10_000, 'references from the join')
    assert.ok(holders >= 1 && holders <= ANNOUNCE_JOIN_HTL)
    assert.equal(again.status().announcement!.key, first.key, 'no second walk replaced the key')
    assert.deepEqual(await loadAnnouncement(dir), saved)
  })

  it('announces anew when the saved announcement is damaged', async () => {
    const { node, dir } = await createNode({ announce: false })
    dirs.push(dir)
    await node.stop()
    await writeFile(join(dir, ANNOUNCEMENT_FILE), '{"key":"zz"')
    const config = { bootstrap: [net.nodes[4].libp2p.getMultiaddrs()[0].toString()], dataDir: dir }
    const { node: again, dir: unused } = await createNode({ config })
    dirs.push(unused)
    nodes.push(again)
    // The damaged file gave no location: the node announces itself again and saves the new key.
    await until(() => again.status().announcement !== null, 20_000, 'a new announcement')
    const a = again.status().announcement!
    assert.equal(a.restored, false)
    assert.equal(RoutingKey.fromHex(a.key).loc, again.service.location)
    assert.deepEqual(await loadAnnouncement(dir), { key: a.key, participants: a.participants, at: a.at }, 'the new announcement replaced the damaged file')
  })
})

describe('walk references over libp2p (shareWalk, shareNearest)', () => {
  let net: TestNetwork
  /** Each network node's own location, agreed by its announcement. */
  const locs = new Map<string, number>()
  const extra: Array<{ node: WarrenNode, dir: string }> = []

  async function newcomerVia (boot: WarrenNode, announce?: Partial<AnnounceOptions>): Promise<WarrenNode> {
    const created = await createNode(announce === undefined ? {} : { service: { announce } })
    extra.push(created)
    const node = created.node
    await node.libp2p.dial(boot.libp2p.getMultiaddrs()[0])
    await until(() => node.service.core.table.has(boot.peerId), 10_000, 'newcomer connected')
    return node
  }

  before(async () => {
    net = await createNetwork(8)
    await ring(net)
    // Every node gets its own location by announcing through a neighbour.
    for (let i = 0; i < net.nodes.length; i++) {
      const node = net.nodes[i]
      assert.ok(Number.isNaN(node.service.location), 'no location before the announcement')
      const r = await node.service.announce(net.nodes[(i + 1) % net.nodes.length].peerId, 3)
      assert.equal(node.service.location, r.key.loc)
      locs.set(node.peerId, r.key.loc)
    }
    for (const n of net.nodes) await until(() => n.service.activeOperations === 0, 5000, 'announcements released')
  })

  after(async () => {
    for (const e of extra) {
      await e.node.stop()
      await rm(e.dir, { recursive: true, force: true })
    }
    await net.stop()
  })

  it('gives the newcomer routes to every walk node at its own location and to their entries nearest its key', async () => {
    const boot = net.nodes[0]
    const newcomer = await newcomerVia(boot, { joinHtl: 0 })
    assert.deepEqual(newcomer.libp2p.getPeers().map(String), [boot.peerId], 'the newcomer has met only its bootstrap')
    const r = await newcomer.service.announce(boot.peerId, 4)
    // Routes to peers the newcomer (or a walk node) never met follow once it has connected to them.
    await until(() => net.nodes.filter((n) => knows(n, newcomer.peerId, r.key.loc)).length === r.participants, 10_000, 'the walk nodes verified the newcomer')
    await until(() => [...net.nodes, newcomer].every((n) => n.service.core.pending.size === 0), 20_000, 'nothing left to verify')
    const walk = net.nodes.filter((n) => knows(n, newcomer.peerId, r.key.loc))
    assert.equal(walk.length, r.participants)
    assert.ok(walk.length >= 2, `a walk of ${walk.length} nodes`)
    for (const h of walk) assert.ok(knows(newcomer, h.peerId, locs.get(h.peerId)!), 'a walk node at its own location')
    // The bootstrap's entries nearest the agreed key (its upstream, the newcomer, excluded).
    const nearest = [...boot.service.core.table.entries()].filter((e) => e.peer !== newcomer.peerId)
      .sort((a, b) => distance(a.loc, r.key.loc) - distance(b.loc, r.key.loc))
      .slice(0, ANNOUNCE_SHARE_NEAREST)
    assert.equal(nearest.length, ANNOUNCE_SHARE_NEAREST)
    for (const e of nearest) assert.ok(knows(newcomer, e.peer, e.loc), 'one of the bootstrap\'s nearest entries')
    // Nothing else: every route is the bootstrap's seed entry, a walk node or a walk node's entry.
    const vouched = (peer: string, loc: number): boolean => (peer === boot.peerId && loc === peerKey(boot.libp2p.peerId).loc) ||
      locs.get(peer) === loc || walk.some((h) => knows(h, peer, loc))
    const entries = [...newcomer.service.core.table.entries()]
    for (const e of entries) assert.ok(vouched(e.peer, e.loc), `unexplained route ${e.peer} @ ${e.loc}`)
    // (Several walk nodes may name the same entry: one route each.)
    assert.ok(r.refs >= entries.length - 1, 'the result counts the routes the walk gave')

    // A walk node the newcomer had not met: it connected to it to verify the route, and routes to it.
    const h = walk.find((n) => n !== boot)!
    const target = h.libp2p.peerId
    assert.ok(newcomer.libp2p.getConnections(target).length > 0, 'the newcomer connected to the walk node')
    const received = h.service.core.stats.requestsReceived
    await assert.rejects(newcomer.service.request(keyAt(locs.get(h.peerId)!), { htl: 1 }))
    // At least once: a DATA_NOT_FOUND is retried through another route, which may lead back to it.
    assert.ok(h.service.core.stats.requestsReceived > received, 'the request reached the walk node')
  })

  it('gives the newcomer nothing but its bootstrap when it does not take walk references (control)', async () => {
    const boot = net.nodes[4]
    const newcomer = await newcomerVia(boot, { shareWalk: 'off', joinHtl: 0 })
    const r = await newcomer.service.announce(boot.peerId, 4)
    assert.ok(r.participants >= 2)
    assert.equal(r.refs, 0)
    assert.deepEqual([...newcomer.service.core.table.peerSet()], [boot.peerId])
    assert.ok(Number.isFinite(newcomer.service.location))
  })

  /** Every node of the test network and the newcomers added so far, but `newcomer`. */
  function everyone (newcomer: WarrenNode): WarrenNode[] {
    return [...net.nodes, ...extra.map((e) => e.node)].filter((n) => n !== newcomer)
  }

  it('routes the newcomer\'s join toward its location: nodes off its walk learn it there, and it learns them', async () => {
    const boot = net.nodes[2]
    const newcomer = await newcomerVia(boot)
    // A walk of one node, the bootstrap: any other node that learns the newcomer at its agreed
    // location learns it from the join.
    const r = await newcomer.service.announce(boot.peerId, 1)
    assert.equal(r.participants, 1)
    const refs = await r.joined
    const others = everyone(newcomer)
    await until(() => [...others, newcomer].every((n) => n.service.core.pending.size === 0), 20_000, 'nothing left to verify')
    const route = others.filter((n) => n !== boot && knows(n, newcomer.peerId, r.key.loc))
    assert.ok(route.length >= 2, `the join reached ${route.length} nodes off the walk`)
    for (const n of route) {
      assert.ok(Number.isFinite(n.service.location))
      assert.ok(knows(newcomer, n.peerId, n.service.location), 'the newcomer learnt a route node at its own location')
    }
    assert.ok(refs !== undefined && refs >= route.length, `${String(refs)} references from a route of ${route.length}`)
    for (const n of [...others, newcomer]) await until(() => n.service.activeOperations === 0, 5000, 'join state released')
  })

  it('leaves the nodes off the walk unaware of the newcomer without the join (control)', async () => {
    const boot = net.nodes[6]
    const newcomer = await newcomerVia(boot, { joinHtl: 0 })
    const r = await newcomer.service.announce(boot.peerId, 1)
    assert.equal(r.participants, 1)
    assert.equal(await r.joined, undefined)
    const others = everyone(newcomer)
    for (const n of [...others, newcomer]) await until(() => n.service.activeOperations === 0, 5000, 'state released')
    assert.deepEqual(others.filter((n) => knows(n, newcomer.peerId, r.key.loc)).map((n) => n.peerId), [boot.peerId])
  })
})

describe('join frames from a hostile peer', () => {
  const fakes: string[] = []
  let target: { node: WarrenNode, dir: string }
  let evil: RawPeer
  /** The target's other neighbour: the next hop of the joins it relays, which it holds unanswered. */
  let sink: RawPeer
  const held: Stream[] = []
  const relayed: AnnounceJoin[] = []

  async function open (): Promise<ProtobufMessageStream<Frame, Stream>> {
    const s = await evil.dialProtocol(target.node.libp2p.getMultiaddrs()[0], JOIN_PROTOCOL)
    return pbStream(s, { maxDataLength: 4 * MAX_FRAME_BYTES }).pb(Frame)
  }

  /** A fresh newcomer reference (remembered, so that the test can check it left no route). */
  async function fake (): Promise<PeerRef> {
    const f = await fakePeer()
    fakes.push(f.id)
    return f.ref
  }

  async function ask (frame: Frame): Promise<Frame> {
    const pb = await open()
    await pb.write(frame)
    return await pb.read({ signal: AbortSignal.timeout(10_000) })
  }

  before(async () => {
    target = await createNode()
    sink = await createRawPeer()
    evil = await createRawPeer()
    for (const p of [sink, evil]) {
      await p.start()
      // Speaking the request protocol makes a raw peer a routing-table neighbour of the target.
      await p.handle(REQUEST_PROTOCOL, (stream) => { stream.abort(new Error('not serving')) })
    }
    await sink.handle(JOIN_PROTOCOL, async (stream) => {
      held.push(stream)
      relayed.push((await pbStream(stream).pb(Frame).read()).announceJoin!)
    })
    for (const p of [sink, evil]) {
      await p.dial(target.node.libp2p.getMultiaddrs()[0])
      await until(() => target.node.service.core.table.has(p.peerId.toString()), 10_000, 'raw peer routable')
    }
  })

  after(async () => {
    await evil.stop()
    await sink.stop()
    await target.node.stop()
    await rm(target.dir, { recursive: true, force: true })
  })

  it('holds a peer to its limit of joins in progress, and releases them when the next hop fails', async () => {
    const table = target.node.service.core.table
    const joins = await Promise.all(Array.from({ length: 4 }, async (_, i) => {
      const pb = await open()
      const node = await fake()
      const loc = 0.6 + i / 64
      await pb.write({ type: FrameType.ANNOUNCE_JOIN, announceJoin: { id: BigInt(1000 + i), htl: 1, node, loc } })
      return { pb, node, id: fakes[fakes.length - 1], loc }
    }))
    await until(() => relayed.length === 4, 10_000, 'four joins relayed to the sink')
    for (const { node, id, loc } of joins) {
      // A made-up newcomer (no address) is no route: only a peer the node connected to is (issue 11).
      assert.ok(!knows(target.node, id, loc), 'a made-up newcomer takes no route')
      const j = relayed.find((x) => x.loc === loc)
      assert.ok(j !== undefined, 'relayed at the same location')
      assert.equal(j.htl, 0)
      assert.deepEqual(Uint8Array.from(j.node?.peerId ?? []), node.peerId)
    }
    assert.equal(target.node.service.activeOperations, 4)
    const over = await ask({ type: FrameType.ANNOUNCE_JOIN, announceJoin: { id: 1004n, htl: 1, node: await fake(), loc: 0.7 } })
    assert.equal(over.error?.code, WireError.Code.OVERLOADED)
    assert.ok(!table.has(fakes[fakes.length - 1]), 'a refused join adds no route')
    // The next hop fails: each join ends at the target, which answers with its references.
    for (const s of held) s.abort(new Error('gone'))
    for (const { pb } of joins) assert.equal((await pb.read({ signal: AbortSignal.timeout(10_000) })).type, FrameType.ANNOUNCE_JOINED)
    await until(() => target.node.service.activeOperations === 0, 10_000, 'join state released')
  })

  it('answers malformed joins with ERROR and a repeated one with REJECTED_LOOP, adding no route', async () => {
    const table = target.node.service.core.table
    const before = [...table.entries()].map((e) => `${e.peer}@${e.loc}`).sort()
    const bad: Array<[string, Frame, WireError.Code]> = []
    const join = (j: Partial<AnnounceJoin>, node?: PeerRef): Frame => ({ type: FrameType.ANNOUNCE_JOIN, announceJoin: { id: 2000n + BigInt(bad.length), htl: 3, loc: 0.2, node, ...j } })
    for (const loc of [NaN, Infinity, -Infinity, -0.25, 1, 1.5]) bad.push([`location ${loc}`, join({ loc }, await fake()), WireError.Code.MALFORMED])
    bad.push(['no node', join({}), WireError.Code.MALFORMED])
    bad.push(['an unparseable peer ID', join({}, { peerId: new Uint8Array(34).fill(0xff), multiaddrs: [] }), WireError.Code.MALFORMED])
    bad.push(['an empty peer ID', join({}, { peerId: new Uint8Array(0), multiaddrs: [] }), WireError.Code.MALFORMED])
    const tooMany = await fake()
    tooMany.multiaddrs = Array.from({ length: 9 }, () => multiaddr('/ip4/127.0.0.1/tcp/1').bytes)
    bad.push(['too many addresses', join({}, tooMany), WireError.Code.MALFORMED])
    bad.push(['a huge HTL', join({ htl: 2 ** 32 - 1 }, await fake()), WireError.Code.MALFORMED])
    bad.push(['the receiver as the newcomer', join({}, { peerId: target.node.libp2p.peerId.toMultihash().bytes, multiaddrs: [] }), WireError.Code.INVALID_KEY])
    bad.push(['a location held for another peer', join({ loc: peerKey(sink.peerId).loc }, await fake()), WireError.Code.INVALID_KEY])
    const long = await fake()
    long.multiaddrs = [new Uint8Array(MAX_FRAME_BYTES + 1)]
    bad.push(['an oversized frame', join({}, long), WireError.Code.TOO_LARGE])
    bad.push(['an announcement on the join protocol', { type: FrameType.ANNOUNCE, announce: { id: 2100n, htl: 1, node: await fake(), commitments: [] } }, WireError.Code.UNEXPECTED])
    for (const [what, frame, code] of bad) {
      const answer = await ask(frame)
      assert.equal(answer.type, FrameType.ERROR, what)
      assert.equal(answer.error?.code, code, `${what}: ${answer.error?.message ?? ''}`)
    }
    assert.deepEqual([...table.entries()].map((e) => `${e.peer}@${e.loc}`).sort(), before, 'no malformed join added or repointed a route')

    // A well-formed join at HTL 0 ends here; the same ID again is a loop, even for another newcomer.
    const node = await fake()
    const ok = await ask({ type: FrameType.ANNOUNCE_JOIN, announceJoin: { id: 3000n, htl: 0, node, loc: 0.45 } })
    assert.equal(ok.type, FrameType.ANNOUNCE_JOINED)
    // Its newcomer is made up (no address to connect to): held for verification, never a route.
    assert.ok(!knows(target.node, fakes[fakes.length - 1], 0.45))
    const again = await ask({ type: FrameType.ANNOUNCE_JOIN, announceJoin: { id: 3000n, htl: 0, node: await fake(), loc: 0.55 } })
    assert.equal(again.type, FrameType.REJECTED_LOOP)
    assert.ok(!table.has(fakes[fakes.length - 1]), 'a looping join adds no route')
    await until(() => target.node.service.activeOperations === 0, 5000, 'no join state left')
  })
})

describe('walk and join references from a hostile node', () => {
  const cap = (1 + ANNOUNCE_SHARE_NEAREST) * (MAX_HTL + 1)

  for (const phase of ['result', 'joined'] as const) {
    for (const allow of [false, true]) {
      const what = phase === 'result' ? 'walk references (ANNOUNCE_RESULT)' : 'join references (ANNOUNCE_JOINED)'
      it(allow
        ? `${what} are capped and filtered, and their private addresses dialled when allowed (control)`
        : `${what} are capped and filtered, do not repoint routes, and their private addresses are never dialled`, async () => {
        let connections = 0
        const server = createServer((sock) => { connections++; sock.destroy() })
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
        const addr = `/ip4/127.0.0.1/tcp/${(server.address() as { port: number }).port}`
        // In the result phase the walk alone: a join would dial the references' addresses too.
        const announce = phase === 'result' ? { joinHtl: 0 } : {}
        const newcomer = await createNode({ service: { allowPrivateAddrs: allow, announce }, core: { hopTimeoutMs: 1000 } })
        const evil = await createRawPeer()
        await evil.start()
        try {
          const me = newcomer.node
          // The hostile node speaks the request protocol too, so the newcomer holds a seed entry
          // for it: the location a reference must not repoint, and the join's only first hop.
          await evil.handle(REQUEST_PROTOCOL, (stream) => { stream.abort(new Error('not serving')) })
          const evilLoc = peerKey(evil.peerId).loc

          const good: Array<{ id: string, loc: number }> = []
          const dropped: string[] = []
          const refs: WalkRef[] = []
          // Beyond the cap: the first references go (a deeper node cannot crowd out those above it).
          for (let i = 0; i < 40; i++) {
            const f = await fakePeer([addr])
            dropped.push(f.id)
            refs.push({ peer: f.ref, loc: 0.1 + i / 1024 })
          }
          const malformed: Array<WalkRef | { loc: number }> = [
            { loc: 0.3 },
            { peer: { peerId: new Uint8Array(34).fill(0xff), multiaddrs: [] }, loc: 0.3 },
            { peer: { peerId: new Uint8Array(0), multiaddrs: [] }, loc: 0.3 },
            { peer: { peerId: new Uint8Array(100).fill(1), multiaddrs: [] }, loc: 0.3 }
          ]
          refs.push(...malformed as WalkRef[])
          for (const loc of [NaN, Infinity, -Infinity, -0.25, 1, 1.5, evilLoc]) {
            const f = await fakePeer([addr])
            dropped.push(f.id)
            refs.push({ peer: f.ref, loc })
          }
          const tooMany = await fakePeer(Array.from({ length: 9 }, () => addr))
          const badAddr = await fakePeer()
          badAddr.ref.multiaddrs.push(Uint8Array.from([0xff, 0xff, 0xff]))
          dropped.push(tooMany.id, badAddr.id)
          refs.push({ peer: tooMany.ref, loc: 0.3 }, { peer: badAddr.ref, loc: 0.3 })
          refs.push({ peer: { peerId: me.libp2p.peerId.toMultihash().bytes, multiaddrs: [multiaddr(addr).bytes] }, loc: 0.3 })
          // The hostile node itself, then genuine-looking strangers up to the cap.
          refs.push({ peer: { peerId: evil.peerId.toMultihash().bytes, multiaddrs: [] }, loc: 0.25 })
          good.push({ id: evil.peerId.toString(), loc: 0.25 })
          for (let i = 0; refs.length < 40 + cap; i++) {
            const f = await fakePeer([addr])
            refs.push({ peer: f.ref, loc: 0.5 + i / 1024 })
            good.push({ id: f.id, loc: 0.5 + i / 1024 })
          }

          const joins: AnnounceJoin[] = []
          await evil.handle(ANNOUNCE_PROTOCOL, rawWalkNode(phase === 'result' ? refs : []))
          await evil.handle(JOIN_PROTOCOL, rawJoinNode(refs, joins))
          await me.libp2p.dial(evil.getMultiaddrs()[0])
          await until(() => knows(me, evil.peerId.toString(), evilLoc), 10_000, 'the hostile node\'s seed entry')
          const r = await me.service.announce(evil.peerId.toString(), 3)
          assert.equal(r.participants, 1)
          const learnt = phase === 'result' ? r.refs : await r.joined
          assert.equal(learnt, good.length, 'exactly the well-formed references within the cap')
          if (phase === 'joined') {
            assert.equal(r.refs, 0)
            assert.equal(joins.length, 1, 'the join went to the newcomer\'s only entry')
            const j = joins[0]
            assert.equal(j.htl, ANNOUNCE_JOIN_HTL - 1)
            assert.equal(j.loc, r.key.loc)
            assert.deepEqual(Uint8Array.from(j.node?.peerId ?? []), me.libp2p.peerId.toMultihash().bytes)
          }
          // References are claims (issue 11): only the hostile node itself, connected, is a route
          // at once; the strangers wait until the newcomer has connected to them, which it tries
          // only at addresses it may dial (private ones only if allowed). None answers.
          await until(() => me.service.core.pending.size === 0, 30_000, 'the references verified or dropped')
          for (const g of good) assert.equal(knows(me, g.id, g.loc), g.id === evil.peerId.toString(), 'only a verified reference is a route')
          for (const id of dropped) assert.ok(!me.service.core.table.has(id), 'a dropped reference left no route')
          assert.ok(knows(me, evil.peerId.toString(), evilLoc), 'the seed entry still points at its peer')
          assert.ok(!me.service.core.table.has(me.peerId))
          assert.equal(connections > 0, allow, `connections to the address in the references: ${connections}`)
          await until(() => me.service.activeOperations === 0, 5000, 'operations released')
        } finally {
          await evil.stop()
          await newcomer.node.stop()
          await rm(newcomer.dir, { recursive: true, force: true })
          server.close()
        }
      })
    }
  }

  for (const bad of ['forged key', 'oversized frame'] as const) {
    it(`fails cleanly on a result with a ${bad}, adding no route`, async () => {
      const newcomer = await createNode({ core: { hopTimeoutMs: 1000 } })
      const evil = await createRawPeer()
      await evil.start()
      try {
        const me = newcomer.node
        const f = await fakePeer(['/ip4/127.0.0.1/tcp/1'])
        const refs: WalkRef[] = [{ peer: f.ref, loc: 0.5 }]
        if (bad === 'oversized frame') {
          const long = Array.from({ length: 8 }, (_, i) => multiaddr(`/dns4/${'a'.repeat(200)}${i}.example/tcp/1`).bytes)
          while (refs.length < 60) refs.push({ peer: { peerId: f.ref.peerId, multiaddrs: long }, loc: 0.5 })
          assert.ok(Frame.encode({ type: FrameType.ANNOUNCE_RESULT, announceResult: { key: new Uint8Array(32), seeds: [], refs } }).length > MAX_FRAME_BYTES)
        }
        await evil.handle(ANNOUNCE_PROTOCOL, rawWalkNode(refs, bad === 'forged key'))
        await me.libp2p.dial(evil.getMultiaddrs()[0])
        await assert.rejects(me.service.announce(evil.peerId.toString(), 3), /announcement failed/)
        assert.equal(me.service.core.table.size, 0)
        assert.ok(Number.isNaN(me.service.location))
        await until(() => me.service.activeOperations === 0, 5000, 'announcement released')
      } finally {
        await evil.stop()
        await newcomer.node.stop()
        await rm(newcomer.dir, { recursive: true, force: true })
      }
    })
  }
})

/**
 * Node announcement between real libp2p nodes on 127.0.0.1, driven by the same
 * AnnounceCore the simulator runs: the walk agrees on SHA-256 of the XOR of every
 * participant's seed, and exactly the nodes of the walk add the newcomer under that key.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { pbStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { Frame, FrameType } from '../../proto/warren.js'
import { ANNOUNCE_PROTOCOL, ANNOUNCE_SHARE_NEAREST, MAX_FRAME_BYTES, MAX_HTL } from '../../src/constants.js'
import { distance, RoutingKey } from '../../src/keys/routing-key.js'
import { peerKey } from '../../src/protocol/warren-service.js'
import { announceKey, commitmentOf } from '../../src/routing/announce.js'
import { createNetwork, createNode, ring, until } from '../helpers/network.js'
import { createRawPeer } from '../helpers/raw-peer.js'
import type { PeerRef, WalkRef } from '../../proto/warren.js'
import type { AnnounceOptions } from '../../src/routing/announce.js'
import type { TestNetwork } from '../helpers/network.js'
import type { WarrenNode } from '../../src/node.js'
import type { Stream } from '@libp2p/interface'

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
    const { node: newcomer } = await createNode()
    extra.push({ node: newcomer })
    await newcomer.libp2p.dial(net.nodes[0].libp2p.getMultiaddrs()[0])
    await until(() => newcomer.service.core.table.has(net.nodes[0].peerId), 10_000, 'newcomer connected')

    const htl = 4
    const r = await newcomer.service.announce(net.nodes[0].peerId, htl)
    assert.equal(r.key.bytes.length, 32)
    assert.ok(r.participants >= 1 && r.participants <= htl, `${r.participants} participants`)
    const holders = net.nodes.filter((n) => knows(n, newcomer.peerId, r.key.loc))
    assert.equal(holders.length, r.participants, 'exactly the walk records the newcomer under the agreed key')
    assert.ok(knows(net.nodes[0], newcomer.peerId, r.key.loc), 'the bootstrap node is on the walk')
    for (const n of [...net.nodes, newcomer]) await until(() => n.service.activeOperations === 0, 5000, 'announcement state released')
  })

  it('announces by itself on start when given a bootstrap peer, and reports it in status', async () => {
    const boot = `${net.nodes[3].libp2p.getMultiaddrs()[0].toString()}`
    const { node } = await createNode({ config: { bootstrap: [boot] } })
    extra.push({ node })
    await until(() => node.status().announcement !== null, 20_000, 'automatic announcement')
    const a = node.status().announcement!
    const loc = RoutingKey.fromHex(a.key).loc
    // The walk may pass through the first test's newcomer too: count every node.
    const everyone = [...net.nodes, ...extra.map((e) => e.node)]
    assert.equal(everyone.filter((n) => knows(n, node.peerId, loc)).length, a.participants)
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
    const newcomer = await newcomerVia(boot)
    assert.deepEqual(newcomer.libp2p.getPeers().map(String), [boot.peerId], 'the newcomer has met only its bootstrap')
    const r = await newcomer.service.announce(boot.peerId, 4)
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

    // A walk node the newcomer never dialled is now reachable through the learnt route.
    const h = walk.find((n) => n !== boot)!
    const target = h.libp2p.peerId
    assert.equal(newcomer.libp2p.getConnections(target).length, 0)
    const received = h.service.core.stats.requestsReceived
    await assert.rejects(newcomer.service.request(keyAt(locs.get(h.peerId)!), { htl: 1 }))
    assert.ok(newcomer.libp2p.getConnections(target).length > 0, 'the newcomer dialled the walk node')
    assert.equal(h.service.core.stats.requestsReceived, received + 1)
  })

  it('gives the newcomer nothing but its bootstrap when it does not take walk references (control)', async () => {
    const boot = net.nodes[4]
    const newcomer = await newcomerVia(boot, { shareWalk: 'off' })
    const r = await newcomer.service.announce(boot.peerId, 4)
    assert.ok(r.participants >= 2)
    assert.equal(r.refs, 0)
    assert.deepEqual([...newcomer.service.core.table.peerSet()], [boot.peerId])
    assert.ok(Number.isFinite(newcomer.service.location))
  })
})

describe('walk references from a hostile walk node', () => {
  const cap = (1 + ANNOUNCE_SHARE_NEAREST) * (MAX_HTL + 1)

  for (const allow of [false, true]) {
    it(allow
      ? 'are capped and filtered, and their private addresses dialled when allowed (control)'
      : 'are capped and filtered, do not repoint routes, and their private addresses are never dialled', async () => {
      let connections = 0
      const server = createServer((sock) => { connections++; sock.destroy() })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      const addr = `/ip4/127.0.0.1/tcp/${(server.address() as { port: number }).port}`
      const friend = await createNode()
      const newcomer = await createNode({ service: { allowPrivateAddrs: allow }, core: { hopTimeoutMs: 1000 } })
      const evil = await createRawPeer()
      await evil.start()
      try {
        const me = newcomer.node
        await me.libp2p.dial(friend.node.libp2p.getMultiaddrs()[0])
        await until(() => me.service.core.table.has(friend.node.peerId), 10_000, 'friend connected')
        const friendLoc = peerKey(friend.node.libp2p.peerId).loc

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
        for (const loc of [NaN, Infinity, -Infinity, -0.25, 1, 1.5, friendLoc]) {
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
        // The walk node itself, then genuine-looking strangers up to the cap.
        refs.push({ peer: { peerId: evil.peerId.toMultihash().bytes, multiaddrs: [] }, loc: 0.25 })
        good.push({ id: evil.peerId.toString(), loc: 0.25 })
        for (let i = 0; refs.length < 40 + cap; i++) {
          const f = await fakePeer([addr])
          refs.push({ peer: f.ref, loc: 0.5 + i / 1024 })
          good.push({ id: f.id, loc: 0.5 + i / 1024 })
        }

        await evil.handle(ANNOUNCE_PROTOCOL, rawWalkNode(refs))
        await me.libp2p.dial(evil.getMultiaddrs()[0])
        const r = await me.service.announce(evil.peerId.toString(), 3)
        assert.equal(r.participants, 1)
        assert.equal(r.refs, good.length, 'exactly the well-formed references within the cap')
        for (const g of good) assert.ok(knows(me, g.id, g.loc), 'a well-formed reference became a route')
        for (const id of dropped) assert.ok(!me.service.core.table.has(id), 'a dropped reference left no route')
        assert.ok(knows(me, friend.node.peerId, friendLoc), 'the neighbour\'s seed entry still points at it')
        assert.ok(!me.service.core.table.has(me.peerId))

        // A request near a stranger's location goes to it: dialled only if private addresses are allowed.
        await assert.rejects(me.service.request(keyAt(good[1].loc), { htl: 1 }))
        assert.equal(connections > 0, allow, `connections to the address in the references: ${connections}`)
        await until(() => me.service.activeOperations === 0, 5000, 'operations released')
      } finally {
        await evil.stop()
        for (const c of [newcomer, friend]) {
          await c.node.stop()
          await rm(c.dir, { recursive: true, force: true })
        }
        server.close()
      }
    })
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

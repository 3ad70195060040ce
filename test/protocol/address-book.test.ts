/**
 * The address book: what `learn` keeps of a peer reference from the wire, its LRU bound, and
 * that a reference parsed before (the cache a relay hits on block after block) is treated
 * exactly like a new one. Public addresses are from 44.0.0.0/8 and 45.0.0.0/8 (never dialled
 * here: only parsed), since the documentation ranges count as private.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { AddressBook } from '../../src/protocol/address-book.js'
import { ProtocolViolation } from '../../src/protocol/messages.js'
import type { PeerRef } from '../../proto/warren.js'
import type { AddressBookComponents } from '../../src/protocol/address-book.js'
import type { PeerId } from '@libp2p/interface'

async function newPeerId (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

/** A book whose peer store knows nobody (so `ref` shows only what the book kept) and that records the peers dials were prepared for. */
function book (self: PeerId, size: number, connected: Set<string> = new Set()): { book: AddressBook, merged: string[] } {
  const merged: string[] = []
  const components = {
    peerId: self,
    addressManager: { getAddresses: () => [] },
    connectionManager: { getConnections: (id: PeerId) => connected.has(id.toString()) ? [{}] : [] },
    peerStore: {
      get: async () => { throw new Error('not found') },
      merge: async (id: PeerId) => { merged.push(id.toString()) }
    }
  } as unknown as AddressBookComponents
  return { book: new AddressBook(components, { size }), merged }
}

function refOf (id: PeerId, ...addrs: string[]): PeerRef {
  return { peerId: id.toMultihash().bytes, multiaddrs: addrs.map((a) => multiaddr(a).bytes) }
}

/** The addresses the book holds for `peer`, as text. */
async function kept (b: AddressBook, peer: PeerId): Promise<string[]> {
  return (await b.ref(peer.toString())).multiaddrs.map((a) => multiaddr(a).toString())
}

describe('AddressBook.learn', () => {
  it('keeps the public TCP part of each address, and returns the peer ID', async () => {
    const [self, p] = await Promise.all([newPeerId(), newPeerId()])
    const { book: b } = book(self, 8)
    const ref = refOf(p, '/ip4/44.0.113.7/tcp/4001/p2p-circuit', '/ip4/10.0.0.1/tcp/4001', '/dns4/example.com/tcp/1')
    assert.equal(b.learn(ref), p.toString())
    assert.deepEqual(await kept(b, p), ['/ip4/44.0.113.7/tcp/4001'])
    // A second time, from the cache: the same answer.
    assert.equal(b.learn(ref), p.toString())
    assert.deepEqual(await kept(b, p), ['/ip4/44.0.113.7/tcp/4001'])
  })

  it('learns a reference too long to cache like any other, every time', async () => {
    const [self, p] = await Promise.all([newPeerId(), newPeerId()])
    const { book: b } = book(self, 8)
    const long = Array.from({ length: 8 }, (_, i) => `/ip4/44.0.113.${i + 1}/tcp/${4000 + i}/http-path/${'x'.repeat(200)}`)
    for (let i = 0; i < 2; i++) {
      assert.equal(b.learn(refOf(p, ...long)), p.toString())
      assert.deepEqual(await kept(b, p), long.slice(0, 4).map((a) => a.slice(0, a.indexOf('/http-path'))))
    }
  })

  it('keeps no view of the frame a reference was read from', async () => {
    const [self, p] = await Promise.all([newPeerId(), newPeerId()])
    const { book: b } = book(self, 8)
    const id = p.toMultihash().bytes
    const frame = new Uint8Array(64 * 1024)
    frame.set(id, 100)
    const ref = { peerId: frame.subarray(100, 100 + id.byteLength), multiaddrs: [multiaddr('/ip4/44.0.113.7/tcp/4001').bytes] }
    assert.equal(b.learn(ref), p.toString())
    const sent = (await b.ref(p.toString())).peerId
    assert.deepEqual(sent, id)
    assert.notEqual(sent.buffer, frame.buffer)
  })

  it('takes new addresses of a peer it parsed before', async () => {
    const [self, p] = await Promise.all([newPeerId(), newPeerId()])
    const { book: b } = book(self, 8)
    b.learn(refOf(p, '/ip4/44.0.113.7/tcp/4001'))
    b.learn(refOf(p, '/ip4/45.51.100.9/tcp/4002'))
    assert.deepEqual(await kept(b, p), ['/ip4/45.51.100.9/tcp/4002'])
    b.learn(refOf(p, '/ip4/44.0.113.7/tcp/4001'))
    assert.deepEqual(await kept(b, p), ['/ip4/44.0.113.7/tcp/4001'])
  })

  it('forgets the least recently learnt peer past its size, a cached reference counting as learnt', async () => {
    const [self, a, b2, c] = await Promise.all([newPeerId(), newPeerId(), newPeerId(), newPeerId()])
    const { book: b } = book(self, 2)
    const refA = refOf(a, '/ip4/44.0.113.1/tcp/1')
    b.learn(refA)
    b.learn(refOf(b2, '/ip4/44.0.113.2/tcp/2'))
    b.learn(refA)
    b.learn(refOf(c, '/ip4/44.0.113.3/tcp/3'))
    assert.deepEqual(await kept(b, a), ['/ip4/44.0.113.1/tcp/1'])
    assert.deepEqual(await kept(b, b2), [])
    assert.deepEqual(await kept(b, c), ['/ip4/44.0.113.3/tcp/3'])
  })

  it('never keeps its own addresses, nor a peer without dialable ones', async () => {
    const [self, p] = await Promise.all([newPeerId(), newPeerId()])
    const { book: b, merged } = book(self, 8)
    assert.equal(b.learn(refOf(self, '/ip4/44.0.113.7/tcp/4001')), self.toString())
    assert.equal(b.learn(refOf(p, '/ip4/127.0.0.1/tcp/4001')), p.toString())
    assert.deepEqual(await kept(b, p), [])
    await b.prepareDial(p.toString())
    assert.deepEqual(merged, [])
  })

  it('refuses a malformed reference every time it comes', async () => {
    const [self, p] = await Promise.all([newPeerId(), newPeerId()])
    const { book: b } = book(self, 8)
    const bad = { peerId: Uint8Array.of(1, 2, 3), multiaddrs: [] }
    for (let i = 0; i < 2; i++) assert.throws(() => b.learn(bad), ProtocolViolation)
    const badAddr = { peerId: p.toMultihash().bytes, multiaddrs: [Uint8Array.of(0xff, 0xff, 0xff)] }
    for (let i = 0; i < 2; i++) assert.throws(() => b.learn(badAddr), ProtocolViolation)
  })

  it('hands libp2p the kept addresses before a dial, unless already connected', async () => {
    const [self, p, q] = await Promise.all([newPeerId(), newPeerId(), newPeerId()])
    const { book: b, merged } = book(self, 8, new Set([q.toString()]))
    b.learn(refOf(p, '/ip4/44.0.113.7/tcp/4001'))
    b.learn(refOf(q, '/ip4/44.0.113.8/tcp/4001'))
    await b.prepareDial(p.toString())
    await b.prepareDial(q.toString())
    await b.prepareDial(p.toString())
    assert.deepEqual(merged, [p.toString(), p.toString()])
  })
})

/**
 * Addresses learnt from the network (data sources, inserters, newcomers, walk references),
 * filtered and bounded (LRU), and the peer references this node sends about itself and others.
 *
 * Learnt addresses reach libp2p's peer store only when the node is about to dial the peer
 * (`prepareDial`), so a flood of made-up peer references cannot grow the peer store; and
 * only TCP/IP addresses outside private ranges are kept unless private ones are allowed, so a
 * peer cannot make this node dial addresses of its choosing inside the operator's network.
 */
import { peerIdFromMultihash, peerIdFromString } from '@libp2p/peer-id'
import { isGlobalUnicast, isPrivate } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import * as Digest from 'multiformats/hashes/digest'
import { ADDR_BOOK_ADDRS_PER_PEER, ADDR_BOOK_SIZE, PEER_REF_TTL_MS } from '../constants.js'
import { RoutingKey } from '../keys/routing-key.js'
import { checkPeerRef, MAX_PEER_ADDRS, ProtocolViolation, WireError } from './messages.js'
import type { PeerRef } from '../../proto/warren.js'
import type { PeerId, PeerStore } from '@libp2p/interface'
import type { AddressManager, ConnectionManager } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Seed location of a peer in routing tables: SHA-256 of its peer ID's multihash bytes. */
export function peerKey (peerId: PeerId): RoutingKey {
  return RoutingKey.hash(peerId.toMultihash().bytes)
}

export interface AddressBookComponents {
  peerId: PeerId
  addressManager: AddressManager
  connectionManager: ConnectionManager
  peerStore: PeerStore
}

export interface AddressBookInit {
  /** Accept loopback and private-range addresses learnt from other peers (LANs, local test networks). */
  allowPrivateAddrs?: boolean
  /** Peers whose addresses are remembered (default ADDR_BOOK_SIZE). */
  size?: number
  /**
   * The addresses this node advertises for itself (config `announce`), as given. Default: its
   * own addresses that pass the same filter as learnt ones (public unless allowPrivateAddrs).
   */
  announce?: string[]
}

export class AddressBook {
  private readonly components: AddressBookComponents
  private readonly self: string
  private readonly allowPrivateAddrs: boolean
  private readonly size: number
  private readonly announce: Multiaddr[]
  /** Learnt peers' dialable addresses as multiaddr bytes (IP and TCP port only), oldest first. */
  private readonly book = new Map<string, Uint8Array[]>()
  /**
   * Peer references parsed lately, by their bytes, and peer IDs by their text: a relay meets
   * the same data source on block after block, and parsing it again (a multihash, a base58
   * encoding, its multiaddrs) took 4.5 % of the main thread of a get in bench/chain.ts, and
   * peer IDs rebuilt from text before each dial another 2 % (docs/benchmarks.md).
   */
  private readonly parsed = new Map<string, { id: string, kept: Uint8Array[] }>()
  private readonly ids = new Map<string, PeerId>()
  private selfRef?: { ref: PeerRef, at: number }

  constructor (components: AddressBookComponents, init: AddressBookInit = {}) {
    this.components = components
    this.self = components.peerId.toString()
    this.allowPrivateAddrs = init.allowPrivateAddrs ?? false
    this.size = init.size ?? ADDR_BOOK_SIZE
    this.announce = (init.announce ?? []).map((a) => multiaddr(a))
  }

  /**
   * The addresses this node advertises for itself, without /p2p: the configured ones, else its
   * own that a peer may dial (public ones unless private addresses are allowed: an address
   * record listing loopback and LAN interfaces tells every peer about the operator's network).
   */
  advertised (): Multiaddr[] {
    if (this.announce.length > 0) return this.announce
    return this.components.addressManager.getAddresses().map((a) => a.decapsulateCode(421)).filter((a) => this.dialable(a))
  }

  /**
   * Parse a peer reference from the wire (throws ProtocolViolation) and remember its dialable
   * addresses. Returns its peer ID string.
   */
  learn (ref: PeerRef): string {
    checkPeerRef(ref)
    const memo = refKey(ref)
    let p = memo === undefined ? undefined : this.parsed.get(memo)
    if (p === undefined) p = this.parse(ref)
    if (memo !== undefined) remember(this.parsed, memo, p, PARSED_CACHE)
    if (p.id !== this.self && p.kept.length > 0) {
      this.book.delete(p.id)
      this.book.set(p.id, p.kept)
      if (this.book.size > this.size) this.book.delete(this.book.keys().next().value as string)
    }
    return p.id
  }

  /** A checked peer reference's ID (as text) and the addresses of it worth keeping. */
  private parse (ref: PeerRef): { id: string, kept: Uint8Array[] } {
    let id: PeerId
    let addrs: Multiaddr[]
    try {
      // A copy: the reference's bytes are a view of the frame read off the wire (up to 64 KiB),
      // which a cached PeerId would otherwise keep alive.
      id = peerIdFromMultihash(Digest.decode(ref.peerId.slice()))
    } catch {
      throw new ProtocolViolation(WireError.Code.MALFORMED, 'peer reference with an unparseable peer ID')
    }
    try {
      addrs = ref.multiaddrs.map((b) => multiaddr(b)).filter((a) => this.dialable(a))
    } catch {
      throw new ProtocolViolation(WireError.Code.MALFORMED, 'peer reference with an unparseable multiaddr')
    }
    // Kept small (issue 11: ~10 KB of heap per entry of 8 long parsed multiaddrs): only what is
    // dialled (IP and TCP port: the rest of an address means nothing to a TCP dial), as bytes,
    // at most ADDR_BOOK_ADDRS_PER_PEER distinct ones.
    const kept = [...new Set(addrs.map(dialPart))].slice(0, ADDR_BOOK_ADDRS_PER_PEER).map((a) => multiaddr(a).bytes)
    const s = id.toString()
    remember(this.ids, s, id, PARSED_CACHE)
    return { id: s, kept }
  }

  /** The PeerId of `peer` (its text form), built once while in use (it keeps its text too). */
  private peerIdOf (peer: string): PeerId {
    const id = this.ids.get(peer) ?? peerIdFromString(peer)
    remember(this.ids, peer, id, PARSED_CACHE)
    return id
  }

  /** A dialable reference to `peer` (ourselves or a peer we know addresses for). */
  async ref (peer: string): Promise<PeerRef> {
    if (peer === this.self) {
      // The own address list is rebuilt at most every PEER_REF_TTL_MS: one per forwarded insert otherwise.
      const now = Date.now()
      if (this.selfRef === undefined || now - this.selfRef.at > PEER_REF_TTL_MS) {
        const addrs = this.advertised()
        this.selfRef = { at: now, ref: { peerId: this.components.peerId.toMultihash().bytes, multiaddrs: addrs.slice(0, MAX_PEER_ADDRS).map((a) => a.bytes) } }
      }
      return this.selfRef.ref
    }
    const id = this.peerIdOf(peer)
    let addrs = this.book.get(peer)
    if (addrs === undefined) {
      try {
        addrs = (await this.components.peerStore.get(id)).addresses.map((a) => a.multiaddr.bytes)
      } catch {
        addrs = []
      }
    }
    return { peerId: id.toMultihash().bytes, multiaddrs: addrs.slice(0, MAX_PEER_ADDRS) as Array<Uint8Array<ArrayBuffer>> }
  }

  /** Before dialling `peer`: hand libp2p the addresses we learnt for it, if we are not connected. */
  async prepareDial (peer: string): Promise<void> {
    const addrs = this.book.get(peer)
    if (addrs === undefined) return
    const id = this.peerIdOf(peer)
    if (this.components.connectionManager.getConnections(id).length > 0) return
    await this.components.peerStore.merge(id, { multiaddrs: addrs.map((a) => multiaddr(a)) })
  }

  /** May this node dial an address a peer told it about? See `dialableAddr`. */
  dialable (ma: Multiaddr): boolean {
    return dialableAddr(ma, this.allowPrivateAddrs)
  }
}

/** Entries of the address book's caches of parsed references and peer IDs. */
const PARSED_CACHE = 256

/**
 * References of at most this many bytes are cached: an Ed25519 peer ID (38 bytes) and a few
 * IP/TCP addresses, what honest nodes send. Longer ones (up to 8 addresses of 256 bytes each)
 * are parsed every time: cached, their keys would cost ~4 KB each (issue 11's address-book
 * memory finding, test/integration/hostile-memory.test.ts).
 */
const CACHED_REF_BYTES = 160

/** A peer reference's bytes as a map key (its peer ID and addresses, delimited), if it is short enough to cache. */
function refKey (ref: PeerRef): string | undefined {
  let size = ref.peerId.byteLength
  for (const a of ref.multiaddrs) size += a.byteLength
  if (size > CACHED_REF_BYTES) return undefined
  let k = Buffer.from(ref.peerId).toString('hex')
  for (const a of ref.multiaddrs) k += '/' + Buffer.from(a).toString('hex')
  return k
}

/** Put (or put back) `key` in `cache` as its most recent entry, dropping the least recent past `max`. */
function remember<V> (cache: Map<string, V>, key: string, value: V, max: number): void {
  cache.delete(key)
  cache.set(key, value)
  if (cache.size > max) cache.delete(cache.keys().next().value as string)
}

/** The part of a dialable address a TCP dial uses: /ip4|ip6/<ip>/tcp/<port>. */
function dialPart (ma: Multiaddr): string {
  const [ip, tcp] = ma.getComponents()
  return `/${ip.name}/${ip.value ?? ''}/tcp/${tcp.value ?? ''}`
}

/**
 * May a node dial an address somebody else told it about (a peer reference, an ARK)? TCP over
 * IP only, and outside loopback and private ranges unless `allowPrivate`.
 */
export function dialableAddr (ma: Multiaddr, allowPrivate: boolean): boolean {
  const [ip, tcp] = ma.getComponents()
  if ((ip?.name !== 'ip4' && ip?.name !== 'ip6') || tcp?.name !== 'tcp') return false
  if (allowPrivate) return true
  return ip.name === 'ip4' ? !isPrivate(ma) : isGlobalUnicast(ma)
}

/**
 * The address group a connection's remote address counts against for per-IP limits: the IPv4
 * address, or the /64 of an IPv6 address (one host is usually given a whole /64). Anything
 * else (not IP) is one group by its own text.
 */
export function ipGroup (ma: Multiaddr): string {
  const ip = ma.getComponents()[0]
  if (ip?.name === 'ip4' && ip.value !== undefined) return ip.value
  if (ip?.name === 'ip6' && ip.value !== undefined) {
    const [head, tail = ''] = ip.value.toLowerCase().split('::')
    const h = head === '' ? [] : head.split(':')
    const t = tail === '' ? [] : tail.split(':')
    const groups = ip.value.includes('::') ? [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t] : h
    return groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':') + '::/64'
  }
  return ma.toString()
}

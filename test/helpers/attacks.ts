/**
 * Attack scripts of the security review (issue 11), kept as test helpers: each drives real
 * nodes the way an attacker would, with a raw libp2p peer (test/helpers/raw-peer.ts) or a
 * warren node of the attacker's, and reports what it achieved.
 */
import { pbStream } from '@libp2p/utils'
import { createServer } from 'node:net'
import { Error as WireError, Frame, FrameType, KeyType } from '../../proto/warren.js'
import { INSERT_PROTOCOL, MAX_FRAME_BYTES } from '../../src/constants.js'
import { ChkType, encodeChk } from '../../src/keys/chk.js'
import { randomBytes } from './seed.js'
import type { RawPeer } from './raw-peer.js'
import type { Block } from '../../proto/warren.js'
import type { Multiaddr } from '@multiformats/multiaddr'

/** A TCP listener on 127.0.0.1 that counts the connections made to it (and drops them). */
export interface Canary {
  port: number
  addr: string
  connections: () => number
  close: () => Promise<void>
}

export async function canary (): Promise<Canary> {
  let n = 0
  const server = createServer((sock) => { n++; sock.destroy() })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    port,
    addr: `/ip4/127.0.0.1/tcp/${port}`,
    connections: () => n,
    close: async () => { await new Promise<void>((resolve) => server.close(() => { resolve() })) }
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
export async function rawInsert (evil: RawPeer, target: Multiaddr, id: bigint, b = chkBlock()): Promise<InsertOutcome> {
  const s = await evil.dialProtocol(target, INSERT_PROTOCOL)
  const pb = pbStream(s, { maxDataLength: MAX_FRAME_BYTES }).pb(Frame)
  try {
    await pb.write({ type: FrameType.INSERT, insert: { id, key: b.key, htl: 0, source: { peerId: evil.peerId.toMultihash().bytes, multiaddrs: [] } } })
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
  const out: InsertOutcome[] = new Array(count)
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

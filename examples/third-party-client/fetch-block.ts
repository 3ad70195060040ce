/**
 * A third-party warren client: a stock js-libp2p node (TCP, Noise, yamux, identify) that
 * fetches one CHK block from a warren node over /warren/request/1.0.0 and verifies it. It uses
 * no warren code — only proto/warren.proto compiled by protons into ./generated/warren.ts and
 * what docs/protocol.md says about the wire:
 *
 *   - one stream per request, protocol `/warren/request/1.0.0`;
 *   - every frame is an unsigned-varint length prefix followed by a protobuf `Frame` of at most
 *     64 KiB, whose `type` names the one body field that is set;
 *   - we send REQUEST { id: random u64, key: 32-byte routing key, htl } and read one reply:
 *     DATA_FOUND (the block), DATA_NOT_FOUND, ROUTE_NOT_FOUND, REJECTED_LOOP or ERROR;
 *   - a CHK block is 32,768 bytes and its routing key is SHA-256 of those bytes; with the URI's
 *     decryption key it opens with ChaCha20-Poly1305 (all-zero nonce, 16-byte tag at the end)
 *     into [type u8][length u32 big-endian][payload][zero padding].
 *
 * Usage: node fetch-block.js <multiaddr of a warren node with /p2p/<id>> <warren:CHK@… URI | 64 hex digits> [htl]
 * Prints a JSON line; exit status 0 when the block was found and verified, 2 when the network
 * did not find it, 1 on any other failure.
 */
import { createHash, createDecipheriv } from 'node:crypto'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import * as lp from 'it-length-prefixed'
import { createLibp2p } from 'libp2p'
import { base58btc } from 'multiformats/bases/base58'
import { Frame, FrameType, KeyType } from './generated/warren.js'

export const REQUEST_PROTOCOL = '/warren/request/1.0.0'
export const MAX_FRAME_BYTES = 64 * 1024
export const BLOCK_SIZE = 32 * 1024
const TAG_BYTES = 16

export interface FetchResult {
  /** 'found': block verified; 'not-found': DATA_NOT_FOUND or ROUTE_NOT_FOUND. */
  outcome: 'found' | 'not-found'
  /** The reply's frame type name. */
  reply: string
  /** Hops the reply says were spent below the node we asked. */
  hops: number
  block?: Uint8Array
  /** The decrypted payload, when a decryption key was given. */
  payload?: Uint8Array
}

export interface ParsedKey {
  routingKey: Uint8Array<ArrayBuffer>
  decryptKey?: Uint8Array
}

/** `warren:CHK@<routing key>,<decryption key>` (base58btc, no multibase prefix) or a hex routing key. */
export function parseKey (text: string): ParsedKey {
  if (/^[0-9a-f]{64}$/i.test(text)) return { routingKey: Uint8Array.from(Buffer.from(text, 'hex')) }
  const m = /^warren:CHK@([1-9A-HJ-NP-Za-km-z]+),([1-9A-HJ-NP-Za-km-z]+)(?:\/.*)?$/.exec(text)
  if (m === null) throw new Error(`not a CHK URI or a 64-digit hex routing key: ${text}`)
  const routingKey = Uint8Array.from(base58btc.baseDecode(m[1]))
  const decryptKey = base58btc.baseDecode(m[2])
  if (routingKey.length !== 32 || decryptKey.length !== 32) throw new Error('both keys of a CHK URI are 32 bytes')
  return { routingKey, decryptKey }
}

function sha256 (...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest())
}

function equal (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

/** Open a CHK block with its decryption key and check that the key is the convergent key of the contents. */
export function decryptChk (block: Uint8Array, decryptKey: Uint8Array): { type: number, payload: Uint8Array } {
  const decipher = createDecipheriv('chacha20-poly1305', decryptKey, new Uint8Array(12), { authTagLength: TAG_BYTES })
  decipher.setAuthTag(block.subarray(BLOCK_SIZE - TAG_BYTES))
  const envelope = Buffer.concat([decipher.update(block.subarray(0, BLOCK_SIZE - TAG_BYTES)), decipher.final()])
  const type = envelope[0]
  const length = envelope.readUInt32BE(1)
  const payload = new Uint8Array(envelope.subarray(5, 5 + length))
  if (!envelope.subarray(5 + length).every((b) => b === 0)) throw new Error('CHK envelope padding is not zero')
  if (!equal(sha256(new TextEncoder().encode('warren-chk-v1'), Uint8Array.of(type), payload), decryptKey)) {
    throw new Error('the decryption key is not derived from the block contents')
  }
  return { type, payload }
}

/** Ask the warren node at `addr` for the CHK block `key` and verify what comes back. */
export async function fetchBlock (addr: string, key: ParsedKey, htl = 10): Promise<FetchResult> {
  const node = await createLibp2p({
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() }
  })
  try {
    const stream = await node.dialProtocol(multiaddr(addr), REQUEST_PROTOCOL, { signal: AbortSignal.timeout(30_000) })
    const id = new DataView(crypto.getRandomValues(new Uint8Array(8)).buffer).getBigUint64(0)
    stream.send(lp.encode.single(Frame.encode({ type: FrameType.REQUEST, request: { id, key: key.routingKey, htl } })))
    let reply: Frame | undefined
    for await (const bytes of lp.decode(stream, { maxDataLength: MAX_FRAME_BYTES })) {
      reply = Frame.decode(bytes.subarray())
      break
    }
    await stream.close().catch(() => {})
    if (reply === undefined) throw new Error('the stream closed without a reply')
    switch (reply.type) {
      case FrameType.DATA_FOUND: {
        const block = reply.dataFound?.block
        if (block === undefined) throw new Error('DATA_FOUND without a block')
        if (block.type !== KeyType.CHK) throw new Error(`expected a CHK block, got key type ${block.type}`)
        if (block.data.length !== BLOCK_SIZE) throw new Error(`a CHK block is ${BLOCK_SIZE} bytes, got ${block.data.length}`)
        if (!equal(sha256(block.data), key.routingKey)) throw new Error('SHA-256 of the block is not the routing key: the node sent a bad block')
        const out: FetchResult = { outcome: 'found', reply: reply.type, hops: reply.dataFound?.hops ?? 0, block: block.data }
        if (key.decryptKey !== undefined) out.payload = decryptChk(block.data, key.decryptKey).payload
        return out
      }
      case FrameType.DATA_NOT_FOUND:
        return { outcome: 'not-found', reply: reply.type, hops: reply.dataNotFound?.hops ?? 0 }
      case FrameType.ROUTE_NOT_FOUND:
        return { outcome: 'not-found', reply: reply.type, hops: reply.routeNotFound?.hops ?? 0 }
      case FrameType.ERROR:
        throw new Error(`the node answered ERROR ${reply.error?.code ?? ''}: ${reply.error?.message ?? ''}`)
      default:
        throw new Error(`unexpected reply ${reply.type}`)
    }
  } finally {
    await node.stop()
  }
}

async function main (): Promise<void> {
  const [addr, keyText, htlText] = process.argv.slice(2)
  if (addr === undefined || keyText === undefined) {
    console.error('usage: node fetch-block.js <multiaddr with /p2p/<id>> <warren:CHK@… URI | hex routing key> [htl]')
    process.exit(1)
  }
  try {
    const r = await fetchBlock(addr, parseKey(keyText), htlText === undefined ? undefined : Number(htlText))
    console.log(JSON.stringify({
      outcome: r.outcome,
      reply: r.reply,
      hops: r.hops,
      blockSha256: r.block === undefined ? undefined : Buffer.from(sha256(r.block)).toString('hex'),
      payloadBytes: r.payload?.length,
      payloadSha256: r.payload === undefined ? undefined : Buffer.from(sha256(r.payload)).toString('hex')
    }))
    process.exit(r.outcome === 'found' ? 0 : 2)
  } catch (err: any) {
    console.error(`fetch-block: ${err.message}`)
    process.exit(1)
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main()

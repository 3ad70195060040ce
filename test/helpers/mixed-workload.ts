/**
 * A mixed workload on real nodes with every frame on the wire recorded (issue 13, item 4):
 * puts and gets of a small and a multi-segment file, an SSK and a KSK, a request on the
 * per-operation protocol, a newcomer's announcement and routed join, and a get through a
 * trusted peer. Shared by the frame-size test (test/protocol/frame-sizes.test.ts) and the
 * padding-cost bench (bench/frame-sizes.ts).
 */
import { randomBytes } from 'node:crypto'
import { keygen } from '../../src/client/key-client.js'
import { PROTOCOL_PREFIX, REQUEST_PROTOCOL } from '../../src/constants.js'
import { FrameType, requestFrame } from '../../src/protocol/messages.js'
import { exchange, link } from '../../src/protocol/stream.js'
import { createNetwork, createNode, ring, until } from './network.js'
import { Tap } from '../tunnel/tap.js'
import { decode, encodingLength } from 'uint8-varint'
import type { TestNetwork } from './network.js'
import type { WarrenNode } from '../../src/node.js'

/** Frame sizes seen on the wire: total bytes of each length-prefixed frame (prefix included). */
export interface FrameCensus {
  /** Frames per total size, all /warren/* protocols. */
  sizes: Map<number, number>
  /** Frames per protocol. */
  protocols: Map<string, number>
  /** Bytes of all frames. */
  bytes: number
  frames: number
}

/** The bodies of the varint-length-prefixed frames in `bytes` (one direction of a stream). */
export function splitFrames (bytes: Buffer): Buffer[] {
  const out: Buffer[] = []
  for (let o = 0; o < bytes.length;) {
    const len = decode(bytes, o)
    o += encodingLength(len)
    out.push(bytes.subarray(o, o + len))
    o += len
  }
  return out
}

/** Lengths of the varint-length-prefixed frames in `bytes`: each frame's total size. */
export function frameTotals (bytes: Buffer): number[] {
  return splitFrames(bytes).map((body) => encodingLength(body.byteLength) + body.byteLength)
}

/** Every frame each tapped node sent on a /warren/* stream (each frame is sent by exactly one node). */
export function census (taps: Tap[]): FrameCensus {
  const c: FrameCensus = { sizes: new Map(), protocols: new Map(), bytes: 0, frames: 0 }
  for (const tap of taps) {
    for (const s of tap.sentStreams()) {
      if (!s.protocol.startsWith(`${PROTOCOL_PREFIX}/`)) continue
      for (const n of frameTotals(s.sent)) {
        c.sizes.set(n, (c.sizes.get(n) ?? 0) + 1)
        c.protocols.set(s.protocol, (c.protocols.get(s.protocol) ?? 0) + 1)
        c.bytes += n
        c.frames++
      }
    }
  }
  return c
}

/** Two segments: more than SEGMENT_DATA_BLOCKS (128) blocks of 32 KiB. */
export const MULTI_SEGMENT_BYTES = 4 * 1024 * 1024 + 300 * 1024

export interface Workload {
  net: TestNetwork
  newcomer?: WarrenNode
  taps: Tap[]
  stop: () => Promise<void>
}

/**
 * Five nodes in a ring (0 trusts 2, not its neighbour), every one tapped, then the mixed
 * workload; the newcomer is tapped before it announces itself.
 */
export async function runMixedWorkload (): Promise<Workload> {
  const net = await createNetwork(5)
  const w: Workload = { net, taps: [], stop: async () => { await w.newcomer?.stop(); await net.stop() } }
  try {
    await ring(net)
    const tunnels = (i: number): number => net.nodes[i].tunnels.core.table.peerSet().size
    await until(() => net.nodes.every((_, i) => tunnels(i) >= 2), 10_000, 'tunnel routes')
    await net.nodes[0].tunnel.trustAdd('t', (await net.nodes[2].tunnel.card()).text)
    for (const n of net.nodes) w.taps.push(await Tap.on(n))
    const [n0, n1, n2, n3, n4] = net.nodes

    // CHK: a small file and a multi-segment one, each read back at another node.
    const small = randomBytes(5000)
    const { uri: smallUri } = await n0.client.put([small])
    await n3.client.get(smallUri)
    const { uri: bigUri } = await n1.client.put([randomBytes(MULTI_SEGMENT_BYTES)])
    await n4.client.get(bigUri)

    // Signed keys: an SSK document and a KSK, each pointing at a small CHK.
    const { insertUri, requestUri } = keygen()
    await n2.keys.put({ uri: smallUri }, `${insertUri}doc`, 'ssk')
    await n4.client.get(`${requestUri}doc`)
    await n3.keys.put({ uri: smallUri }, 'KSK@frame-sizes-test', 'ksk')
    await n0.client.get('KSK@frame-sizes-test')

    // The per-operation request protocol (served for peers without the link): one request.
    const l = link(n1.peerId, await n0.libp2p.dialProtocol(n1.libp2p.getMultiaddrs()[0], REQUEST_PROTOCOL))
    await exchange(l, requestFrame(1n, randomBytes(32), 0), [FrameType.DATA_NOT_FOUND, FrameType.ROUTE_NOT_FOUND], AbortSignal.timeout(10_000))
    await l.close({})

    // A newcomer announces itself at node 0; its routed join follows.
    const { node: newcomer } = await createNode({ announce: false })
    w.newcomer = newcomer
    w.taps.push(await Tap.on(newcomer))
    await newcomer.libp2p.dial(n0.libp2p.getMultiaddrs()[0])
    await until(() => newcomer.service.core.table.has(n0.peerId), 10_000, 'newcomer connected')
    await newcomer.service.announce(n0.peerId, 4)
    await until(() => census(w.taps).protocols.has(`${PROTOCOL_PREFIX}/join/1.0.0`), 10_000, 'the routed join')

    // A get through the trusted peer (node 2, two hops from node 0).
    const f = await n0.tunnels.get('t', smallUri)
    for await (const _ of f.stream) {}
    return w
  } catch (err) {
    await w.stop()
    throw err
  }
}

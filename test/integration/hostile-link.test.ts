/**
 * The link protocol (src/protocol/link.ts) against a hostile neighbour: a raw libp2p peer that
 * opens /warren/link/1.0.0 to a real node and writes LinkFrames by hand. What a per-operation
 * stream guarantees (hostile*.test.ts) must hold per channel: validated first frames, typed
 * ERROR answers, per-peer limits, nothing leaked; and the link itself is hostile input: past
 * its credit, an undecodable or oversized frame, or credit never owed costs the peer the link
 * stream (and the node its operations on it, released at once), never the node.
 * The node's only neighbour S takes requests and never answers, so operations routed on stay
 * in progress until the test releases them.
 */
import * as lp from 'it-length-prefixed'
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { pbStream } from '@libp2p/utils'
import { Block, Frame, FrameType, LinkFrame, Error as WireError } from '../../proto/warren.js'
import { LINK_PROTOCOL, LINK_WINDOW_BYTES, MAX_LINK_CHANNELS, REQUEST_PROTOCOL } from '../../src/constants.js'
import { RoutingKey } from '../../src/keys/routing-key.js'
import { MAX_LINK_FRAME_BYTES } from '../../src/protocol/link.js'
import { chkBlock } from '../helpers/attacks.js'
import { createNode, until } from '../helpers/network.js'
import { createRawPeer } from '../helpers/raw-peer.js'
import { randomBytes } from '../helpers/seed.js'
import { removeTempDir } from '../helpers/temp.js'
import type { RawPeer } from '../helpers/raw-peer.js'
import type { WarrenNode } from '../../src/node.js'
import type { Stream } from '@libp2p/interface'

const FIN = 1
const RESET = 2

/** A link stream opened by hand: send LinkFrames (or raw bytes), read the node's LinkFrames. */
interface RawLink {
  stream: Stream
  send: (f: Partial<LinkFrame> & { channel: number }) => void
  sendBytes: (bytes: Uint8Array) => void
  /** The next LinkFrame for `channel` within `ms` (credit-only frames are skipped). */
  next: (channel: number, ms?: number) => Promise<LinkFrame>
  /** Resolves when the stream closed or was reset. */
  closed: Promise<void>
}

async function rawLink (evil: RawPeer, node: WarrenNode): Promise<RawLink> {
  const stream = await evil.dialProtocol(node.libp2p.getMultiaddrs()[0], LINK_PROTOCOL)
  const closed = new Promise<void>((resolve) => { stream.addEventListener('close', () => { resolve() }, { once: true }) })
  const inbox: LinkFrame[] = []
  let wake: (() => void) | undefined
  void (async () => {
    try {
      for await (const buf of lp.decode(stream, { maxDataLength: MAX_LINK_FRAME_BYTES })) {
        const f = LinkFrame.decode(buf.subarray())
        if (f.channel !== 0) inbox.push(f)
        wake?.()
      }
    } catch {}
    wake?.()
  })()
  const next = async (channel: number, ms = 10_000): Promise<LinkFrame> => {
    const deadline = Date.now() + ms
    for (;;) {
      const i = inbox.findIndex((f) => f.channel === channel)
      if (i >= 0) return inbox.splice(i, 1)[0]
      if (stream.status !== 'open' || Date.now() > deadline) throw new Error(`no frame on channel ${channel} (stream ${stream.status})`)
      await new Promise<void>((resolve) => { wake = resolve; setTimeout(resolve, 50) })
    }
  }
  return {
    stream,
    send: (f) => { stream.send(lp.encode.single(LinkFrame.encode({ flags: 0, credit: 0, padding: new Uint8Array(), ...f }))) },
    sendBytes: (bytes) => { stream.send(lp.encode.single(bytes)) },
    next,
    closed
  }
}

const request = (id: bigint, key: Uint8Array<ArrayBuffer>, htl: number): Frame => ({ type: FrameType.REQUEST, request: { id, key, htl } })

describe('hostile link peers', () => {
  let node: WarrenNode
  let dir: string
  let stall: RawPeer
  let evil: RawPeer
  /** Streams S was sent, to let them go. */
  const held: Stream[] = []
  let nextId = 1n

  before(async () => {
    ({ node, dir } = await createNode({ core: { hopTimeoutMs: 60_000 } }))
    stall = await createRawPeer()
    await stall.start()
    await stall.handle(REQUEST_PROTOCOL, async (stream) => {
      held.push(stream)
      await pbStream(stream).pb(Frame).read()
    }, { maxInboundStreams: 256 })
    await stall.dial(node.libp2p.getMultiaddrs()[0])
    await until(() => node.service.core.table.has(stall.peerId.toString()), 10_000, 'the stalling peer is a neighbour')
    evil = await createRawPeer()
    await evil.start()
  })

  after(async () => {
    await evil.stop()
    await stall.stop()
    await node.stop()
    await removeTempDir(dir)
  })

  /** Let S's held operations go and wait until the node has nothing in progress. */
  async function settle (): Promise<void> {
    for (const s of held.splice(0)) s.abort(new Error('released by the test'))
    await until(() => node.service.activeOperations === 0 && node.service.slotsHeld === 0, 10_000, 'the node to release every operation')
  }

  it('answers requests on channels, each with its own final frame and FIN', async () => {
    const stored = chkBlock()
    // In the store that answers peers (a node's own inserts stay in its client cache).
    await node.store.put(new RoutingKey(stored.key), Block.encode(stored.block))
    const l = await rawLink(evil, node)
    l.send({ channel: 1, frame: request(nextId++, stored.key, 0) })
    l.send({ channel: 2, frame: request(nextId++, randomBytes(32), 0) })
    const found = await l.next(1)
    assert.equal(found.frame?.type, FrameType.DATA_FOUND)
    assert.ok(Buffer.from(found.frame!.dataFound!.block!.data).equals(stored.block.data))
    assert.equal(found.flags, FIN)
    const missing = await l.next(2)
    assert.equal(missing.frame?.type, FrameType.DATA_NOT_FOUND)
    assert.equal(missing.flags, FIN)
    l.stream.abort(new Error('done'))
    await settle()
  })

  it('a wrong or malformed first frame gets a typed ERROR on its channel; the link carries on', async () => {
    const l = await rawLink(evil, node)
    l.send({ channel: 1, frame: { type: FrameType.ALL_CLEAR, allClear: { depth: 1, remainingHtl: 0, hops: 0 } } })
    l.send({ channel: 2, frame: request(nextId++, randomBytes(5), 0) })
    const unexpected = await l.next(1)
    assert.equal(unexpected.frame?.type, FrameType.ERROR)
    assert.equal(unexpected.frame?.error?.code, WireError.Code.UNEXPECTED)
    assert.equal(unexpected.flags, FIN)
    const badKey = await l.next(2)
    assert.equal(badKey.frame?.error?.code, WireError.Code.INVALID_KEY)
    // A replayed channel id is a finished channel: dropped, not a new operation.
    const requests = node.service.core.stats.requestsReceived
    l.send({ channel: 2, frame: request(nextId++, randomBytes(32), 0) })
    l.send({ channel: 3, frame: request(nextId++, randomBytes(32), 0) })
    assert.equal((await l.next(3)).frame?.type, FrameType.DATA_NOT_FOUND)
    assert.equal(node.service.core.stats.requestsReceived, requests + 1, 'only channel 3 started an operation')
    await assert.rejects(l.next(2, 500), /no frame on channel 2/)
    assert.equal(l.stream.status, 'open')
    l.stream.abort(new Error('done'))
    await settle()
  })

  it(`sheds channels past ${MAX_LINK_CHANNELS} in progress with OVERLOADED, and releases them all when the link goes`, async () => {
    const l = await rawLink(evil, node)
    for (let ch = 1; ch <= MAX_LINK_CHANNELS + 2; ch++) l.send({ channel: ch, frame: request(nextId++, randomBytes(32), 5) })
    for (const ch of [MAX_LINK_CHANNELS + 1, MAX_LINK_CHANNELS + 2]) {
      const shed = await l.next(ch)
      assert.equal(shed.frame?.error?.code, WireError.Code.OVERLOADED, `channel ${ch}`)
    }
    await until(() => node.service.activeOperations === MAX_LINK_CHANNELS, 10_000, 'the admitted operations to be routed on to S')
    l.stream.abort(new Error('gone'))
    // Every upstream went with the link: the operations end now, not at their 60 s deadline.
    await until(() => node.service.activeOperations === 0 && node.service.slotsHeld === 0, 5_000, 'the operations of the dead link to be released')
    await settle()
  })

  it('a channel flooded with unread frames is reset alone', async () => {
    const l = await rawLink(evil, node)
    l.send({ channel: 1, frame: request(nextId++, randomBytes(32), 5) })
    await until(() => node.service.activeOperations === 1, 10_000, 'the operation to be routed on to S')
    const junk: Frame = { type: FrameType.DATA_NOT_FOUND, dataNotFound: { hops: 0 } }
    for (let i = 0; i < 3; i++) l.send({ channel: 1, frame: junk })
    const reset = await l.next(1)
    assert.equal(reset.flags & RESET, RESET)
    await until(() => node.service.activeOperations === 0, 5_000, 'the flooded channel\'s operation to be released')
    l.send({ channel: 2, frame: request(nextId++, randomBytes(32), 0) })
    assert.equal((await l.next(2)).frame?.type, FrameType.DATA_NOT_FOUND, 'the link still serves')
    l.stream.abort(new Error('done'))
    await settle()
  })

  it('sending past the credit window costs the peer its link, and nothing leaks', async () => {
    const l = await rawLink(evil, node)
    // Each operation is held at S, so its channel is not read again: a big frame on it stays
    // unconsumed. 60 KiB each, past the 1 MiB window well before the per-peer limit.
    const big: Frame = { type: FrameType.ERROR, error: { code: WireError.Code.INTERNAL, message: 'x'.repeat(60_000) } }
    const channels = Math.ceil(LINK_WINDOW_BYTES / 60_000) + 2
    assert.ok(channels <= MAX_LINK_CHANNELS)
    for (let ch = 1; ch <= channels; ch++) l.send({ channel: ch, frame: request(nextId++, randomBytes(32), 5) })
    await until(() => node.service.activeOperations === channels, 10_000, 'the operations to be routed on to S')
    for (let ch = 1; ch <= channels; ch++) l.send({ channel: ch, frame: big })
    await l.closed
    assert.notEqual(l.stream.status, 'open')
    await until(() => node.service.activeOperations === 0 && node.service.slotsHeld === 0, 5_000, 'the operations of the reset link to be released')
    await settle()
  })

  for (const [what, act] of [
    ['an undecodable frame', (l: RawLink) => { l.sendBytes(Uint8Array.of(0xff, 0xff, 0xff)) }],
    ['an oversized frame', (l: RawLink) => { l.sendBytes(new Uint8Array(MAX_LINK_FRAME_BYTES + 1)) }],
    ['credit never owed', (l: RawLink) => { l.send({ channel: 0, credit: LINK_WINDOW_BYTES }) }],
    ['an operation frame on channel 0', (l: RawLink) => { l.send({ channel: 0, frame: request(1n, randomBytes(32), 0) }) }]
  ] as const) {
    it(`${what} resets the link; the node serves a new one`, async () => {
      const l = await rawLink(evil, node)
      l.send({ channel: 1, frame: request(nextId++, randomBytes(32), 5) })
      await until(() => node.service.activeOperations === 1, 10_000, 'the operation to be routed on to S')
      act(l)
      await l.closed
      await until(() => node.service.activeOperations === 0 && node.service.slotsHeld === 0, 5_000, 'the operation of the reset link to be released')
      const again = await rawLink(evil, node)
      again.send({ channel: 1, frame: request(nextId++, randomBytes(32), 0) })
      assert.equal((await again.next(1)).frame?.type, FrameType.DATA_NOT_FOUND)
      again.stream.abort(new Error('done'))
      await settle()
    })
  }
})

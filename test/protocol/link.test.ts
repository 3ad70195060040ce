/**
 * Link sessions (src/protocol/link.ts) between two bare libp2p peers on 127.0.0.1: channels
 * carry frames both ways, and the credit window throttles a sender whose receiver does not
 * read, instead of letting the data pile up in the stream (libp2p resets a stream at 4 MiB
 * unread, StreamBufferError).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { defaultLogger } from '@libp2p/logger'
import { FrameType, Error as WireError } from '../../proto/warren.js'
import { LINK_PROTOCOL, LINK_WINDOW_BYTES, MAX_LINK_CHANNELS } from '../../src/constants.js'
import { LinkSession } from '../../src/protocol/link.js'
import { MAX_PADDED_FRAME_BYTES } from '../../src/protocol/padding.js'
import { until } from '../helpers/network.js'
import { createRawPeer } from '../helpers/raw-peer.js'
import type { LinkChannel } from '../../src/protocol/link-channel.js'
import type { RawPeer } from '../helpers/raw-peer.js'
import type { Frame } from '../../proto/warren.js'

const log = defaultLogger().forComponent('test:link')

/** A frame of about `bytes` bytes, recognisable by `tag`. */
const big = (tag: number, bytes: number): Frame => ({ type: FrameType.ERROR, error: { code: WireError.Code.INTERNAL, message: String(tag).padEnd(bytes, '.') } })

describe('link sessions', () => {
  let x: RawPeer
  let y: RawPeer
  /** Channels Y opened, as X's session handed them over (X's driver reads them when told). */
  const atX: LinkChannel[] = []
  let opener: LinkSession
  let acceptor: LinkSession | undefined

  before(async () => {
    x = await createRawPeer()
    y = await createRawPeer()
    await x.start()
    await y.start()
    await x.handle(LINK_PROTOCOL, (stream, connection) => {
      acceptor = new LinkSession({ peer: connection.remotePeer.toString(), stream, opener: false, onChannel: (ch) => { atX.push(ch) }, log })
    })
    const stream = await y.dialProtocol(x.getMultiaddrs()[0], LINK_PROTOCOL)
    opener = new LinkSession({ peer: x.peerId.toString(), stream, opener: true, log })
  })

  after(async () => {
    await y.stop()
    await x.stop()
  })

  it('carries an exchange per channel, both ways, with FIN ending it', async () => {
    const ch = await opener.openChannel()
    await ch.write(big(1, 100), {})
    await until(() => atX.length === 1, 5_000, 'the channel at X')
    const there = atX.shift()!
    assert.equal((await there.read({})).error?.message, big(1, 100).error?.message)
    await there.write(big(2, 200), { close: true })
    assert.equal((await ch.read({})).error?.message, big(2, 200).error?.message)
    await assert.rejects(ch.read({}), /closed the channel/)
    await ch.close()
    assert.equal(opener.size, 0, 'the opener forgot the channel')
    assert.equal(acceptor!.size, 0, 'the acceptor forgot the channel')
  })

  it('a reader that does not read throttles the sender at the window, and nothing is lost', async () => {
    // Each frame is padded to the largest size class (padding.ts): that is what it costs in credit.
    const frameBytes = 30_000
    const fit = Math.floor(LINK_WINDOW_BYTES / MAX_PADDED_FRAME_BYTES)
    // More than fit the window, one channel kept for the small frame below.
    const n = Math.min(fit + 6, MAX_LINK_CHANNELS - 1)
    const channels = await Promise.all(Array.from({ length: n }, async () => await opener.openChannel()))
    let written = 0
    const writes = channels.map(async (ch, i) => { await ch.write(big(i, frameBytes), {}); written++ })
    await until(() => atX.length >= fit, 10_000, 'the frames that fit the window to reach X')
    // A small frame sent after the big ones overtakes those still waiting for credit: it
    // arrives while X holds only what fits the window, so the rest really were held back.
    const small = await opener.openChannel()
    await small.write(big(-1, 10), {})
    await until(() => atX.some((c) => c.id === small.id), 10_000, 'the small frame at X')
    const bigAtX = atX.filter((c) => c.id !== small.id).length
    // All that fit went out: a sender that charged itself more than a frame's bytes would hold
    // some of them back.
    assert.equal(bigAtX, fit, `${bigAtX} frames of ${MAX_PADDED_FRAME_BYTES} bytes at X, window ${LINK_WINDOW_BYTES}`)
    assert.ok(written < n, 'writes past the window are still waiting')
    assert.equal(opener.endedWith, undefined)
    // X reads: credit flows back, every write completes, every frame arrives intact.
    const seen = new Set<string>()
    while (seen.size < n) {
      await until(() => atX.length > 0, 10_000, `the next channel at X (${seen.size} of ${n} read, ${written} written, ${String((opener as any).credit)} ${String((acceptor as any).owed)} ${String((acceptor as any).unconsumed)})`)
      const ch = atX.shift()!
      const f = await ch.read({})
      if (ch.id !== small.id) seen.add(f.error!.message)
      await ch.write({ type: FrameType.DATA_NOT_FOUND, dataNotFound: { hops: 0 } }, { close: true })
    }
    await Promise.all(writes)
    assert.deepEqual([...seen].sort(), channels.map((_, i) => big(i, frameBytes).error!.message).sort())
    for (const ch of [...channels, small]) {
      assert.equal((await ch.read({})).type, FrameType.DATA_NOT_FOUND)
      await ch.close()
    }
    assert.equal(opener.size, 0)
    assert.equal(acceptor!.size, 0)
    assert.equal(acceptor!.endedWith, undefined, 'the receiver never saw the sender overrun its credit')
  })

  it('a reset reaches the other end and fails its reader', async () => {
    const ch = await opener.openChannel()
    await ch.write(big(7, 10), {})
    await until(() => atX.length === 1, 5_000, 'the channel at X')
    const there = atX.shift()!
    await there.read({})
    let closed = false
    there.onClose(() => { closed = true })
    const pending = there.read({})
    ch.abort(new Error('caller gave up'))
    await assert.rejects(pending, /reset the channel/)
    assert.ok(closed)
    await until(() => acceptor!.size === 0 && opener.size === 0, 5_000, 'both ends to forget the channel')
  })

  // Last: it opens a second link stream, whose acceptor replaces `acceptor`.
  it('writes the frames of one event-loop turn together, in one write of one buffer to the stream', async () => {
    const stream = await y.dialProtocol(x.getMultiaddrs()[0], LINK_PROTOCOL)
    let writes = 0
    /** Pieces of each write: a list of pieces would reach the socket as that many writes (link.ts flush). */
    const pieces: number[] = []
    const send = stream.send.bind(stream)
    stream.send = (data) => {
      writes++
      pieces.push(data instanceof Uint8Array ? 1 : [...data].length)
      return send(data)
    }
    const session = new LinkSession({ peer: x.peerId.toString(), stream, opener: true, log })
    const channels = await Promise.all(Array.from({ length: 10 }, async () => await session.openChannel()))
    await Promise.all(channels.map(async (ch, i) => { await ch.write(big(100 + i, 1000), {}) }))
    await until(() => atX.length === 10, 5_000, 'ten channels at X')
    const messages = await Promise.all(atX.splice(0).map(async (there) => (await there.read({})).error?.message))
    assert.deepEqual(messages, channels.map((_, i) => big(100 + i, 1000).error?.message), 'every frame arrived, in order')
    assert.equal(writes, 1, 'ten frames of ten channels went out in one write')
    assert.deepEqual(pieces, [1], 'as one contiguous buffer')
    session.abort(new Error('test over'))
  })
})

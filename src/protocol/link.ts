/**
 * The link layer (LINK_PROTOCOL): one long-lived libp2p stream per neighbour and direction that
 * carries many requests and inserts at once, each on its own channel, instead of a new yamux
 * stream with a multistream-select negotiation per hop per block (measured before this layer:
 * bench/chain.ts get 0.02-0.05x a raw stream, put 0.01-0.02x; docs/benchmarks.md).
 *
 * Wire: length-prefixed `LinkFrame`s (proto/warren.proto). The end that opened the stream opens
 * channels (ids 1, 2, 3, ... : a channel opens with its first frame) and the other end answers
 * on them; a channel is the same bidirectional sequence of `Frame`s as a per-operation stream
 * (a `Link`, stream.ts), so the request/insert driver runs unchanged on either.
 *
 * Flow control is credit-based, per stream direction: a sender may have LINK_WINDOW_BYTES of
 * operation frames unconsumed at the receiver, and the receiver grants bytes back (`credit`,
 * piggybacked on its own frames or on a control frame) once the driver has read them. The
 * reader drains the libp2p stream at once (it never pauses, so the 4 MiB StreamBufferError
 * cannot trigger), and a slow consumer throttles its sender by withholding credit rather than
 * by buffering. Channels open at once are capped (MAX_LINK_CHANNELS): a sender waits for a free
 * one, so a busy neighbour slows its upstream down instead of refusing it.
 *
 * Everything received is hostile: frames are size-capped before decoding, a peer that sends past
 * its credit, grants credit it was never owed, or sends an undecodable frame loses the whole link
 * stream (its operations fail and are retried elsewhere by the routing core), a channel with too
 * many unread frames is reset, frames for finished channels are dropped (and still credited),
 * and the driver above validates every Frame as before (`expectFrame`, deadlines, admission).
 */
import * as lp from 'it-length-prefixed'
import { writer } from 'protons-runtime'
import { encodingLength } from 'uint8-varint'
import { Frame, LinkFrame } from '../../proto/warren.js'
import { LINK_PROTOCOL, LINK_WINDOW_BYTES, MAX_FRAME_BYTES, MAX_LINK_CHANNELS } from '../constants.js'
import { errorFrame, ProtocolViolation, WireError } from './messages.js'
import { LINK_FRAME_PADDING, MAX_PADDED_FRAME_BYTES, paddingFor } from './padding.js'
import { noteWireError } from './stream.js'
import { Waiters } from '../util/waiters.js'
import { FIN, LinkChannel, RESET } from './link-channel.js'
import type { WireErrorHook } from './stream.js'
import type { Logger, Stream } from '@libp2p/interface'
import type { Writer } from 'protons-runtime'

/** Largest LinkFrame accepted: a Frame of MAX_FRAME_BYTES, its link header, and room for padding. */
export const MAX_LINK_FRAME_BYTES = MAX_FRAME_BYTES + 1024

/** Upper bound of a LinkFrame's bytes besides its Frame: channel, flags, credit, the Frame's tag and length. */
const HEADER_MAX_BYTES = 32

/** Bytes of the Frame field's tag in a LinkFrame (field 3, length-delimited). */
const FRAME_TAG_BYTES = encodingLength((3 << 3) | 2)

/** Credit is granted back once this much is owed (or piggybacked earlier on a frame going back). */
const GRANT_BYTES = LINK_WINDOW_BYTES / 8

const EMPTY = new Uint8Array(0)
/** Padding bytes: never written, only copied from (the writer copies at `flush`). */
const ZEROS = new Uint8Array(MAX_PADDED_FRAME_BYTES)

/**
 * Credit a LinkFrame carrying a `frame`-byte Frame may need: its padded size (padding.ts) with the
 * largest header. Throws FrameTooLarge, before anything is sent, when even the smallest header
 * would not fit the largest size class.
 */
function paddedBound (frame: number): number {
  const bare = frame + HEADER_MAX_BYTES
  try {
    return paddingFor(bare, LINK_FRAME_PADDING)?.total ?? bare
  } catch {
    paddingFor(frame + 8, LINK_FRAME_PADDING)
    return MAX_PADDED_FRAME_BYTES
  }
}

export interface LinkSessionInit {
  peer: string
  stream: Stream
  /** This end opened the stream: it opens the channels and the other end answers them. */
  opener: boolean
  /** The other end opened `channel` (its first frame is waiting to be read). Only when !opener. */
  onChannel?: (channel: LinkChannel) => void
  /** The session ended (the stream closed or was reset, or the peer broke the link protocol). */
  onEnd?: (session: LinkSession) => void
  /** Told of every ERROR frame sent or received on the session's channels. */
  onWireError?: WireErrorHook
  log: Logger
}

/** One link stream: its channels, its credit both ways, its reader. */
export class LinkSession {
  readonly peer: string
  readonly opener: boolean
  private readonly stream: Stream
  private readonly init: LinkSessionInit
  private readonly channels = new Map<number, LinkChannel>()
  /** Opener: the next channel id. Acceptor: the highest channel id the opener used. */
  private lastId = 0
  /** Channels this end opened and still counts (opener). */
  private opened = 0
  /** Bytes of operation frames this end may still send. */
  private credit = LINK_WINDOW_BYTES
  /** Bytes of operation frames received and not yet read by the driver. */
  private unconsumed = 0
  /** Bytes read by the driver and not yet granted back. */
  private owed = 0
  private readonly creditWaiters = new Waiters()
  private readonly slotWaiters = new Waiters()
  private ended?: Error
  /** This turn's frames, listed for one write (`enqueue`, `flush`). */
  private turn?: Writer
  /** The stream's last write asked for a drain: senders wait for it. */
  private blocked = false

  constructor (init: LinkSessionInit) {
    this.init = init
    this.peer = init.peer
    this.opener = init.opener
    this.stream = init.stream
    this.stream.addEventListener('close', (evt) => {
      this.end((evt as any).error ?? new Error(`the link to ${this.peer} closed`), false)
    }, { once: true })
    void this.readLoop()
  }

  /** Why the session ended, once it has. */
  get endedWith (): Error | undefined {
    return this.ended
  }

  /** Channels open on this stream. */
  get size (): number {
    return this.channels.size
  }

  /**
   * A new channel for an operation of this end (opener only). Waits, by `signal`, while
   * MAX_LINK_CHANNELS are open: the peer would refuse more.
   */
  async openChannel (signal?: AbortSignal): Promise<LinkChannel> {
    if (!this.opener) throw new Error('only the end that opened a link stream opens channels on it')
    while (this.ended === undefined && this.opened >= MAX_LINK_CHANNELS) await this.slotWaiters.wait(signal)
    if (this.ended !== undefined) throw this.ended
    if (this.lastId >= 0xffffffff) {
      // 4 billion channels on one stream: let the manager open a fresh one.
      this.end(new Error(`channel ids on the link to ${this.peer} are used up`), false)
      throw this.ended!
    }
    this.opened++
    // Its id is given when its first frame goes out (`send`): first frames then reach the
    // other end in id order even when a big one waits for credit while a small one passes.
    return new LinkChannel(this, 0)
  }

  /** Reset the stream: every channel on it fails. */
  abort (err: Error): void {
    this.end(err, true)
  }

  /**
   * Send a LinkFrame on `to` (a channel, or 0 for credit). A `frame` costs its bytes of credit
   * (waited for, by `signal`); control frames are free. Frames are written together, in one
   * buffer, once per turn of the event loop (`flush`); a sender waits while the stream asks
   * for a drain.
   */
  async send (to: LinkChannel | 0, flags: number, frame: Frame | undefined, signal?: AbortSignal): Promise<void> {
    if (this.ended !== undefined) throw this.ended
    let bare: Frame | undefined
    let frameBytes = 0
    if (frame !== undefined) {
      noteWireError(this.init.onWireError, frame, 'sent', LINK_PROTOCOL)
      // The LinkFrame pads itself: a Frame relayed from a stream drops the padding it came with.
      bare = frame.padding === undefined && frame.paddingWide === undefined ? frame : { ...frame, padding: undefined, paddingWide: undefined }
      // Measured, not encoded: the writer only lists what it would copy (see `flush`).
      const measure = writer()
      Frame.codec().encode(bare, measure, { lengthDelimited: false })
      const need = paddedBound(measure.len)
      while (this.ended === undefined && (this.credit < need)) await this.creditWaiters.wait(signal)
      if (this.ended !== undefined) throw this.ended
      frameBytes = FRAME_TAG_BYTES + encodingLength(measure.len) + measure.len
    }
    let channel = 0
    if (to !== 0) {
      if (to.id === 0) {
        to.id = ++this.lastId
        this.channels.set(to.id, to)
      }
      channel = to.id
    }
    const credit = this.owed
    this.owed = 0
    // Padded to a size class (padding.ts): the header is encoded once bare to measure it.
    const link: LinkFrame = { channel, flags, credit, padding: EMPTY, frame: bare }
    const fit = paddingFor(LinkFrame.encode({ channel, flags, credit, padding: EMPTY }).byteLength + frameBytes, LINK_FRAME_PADDING)
    if (fit !== undefined) link[fit.field] = ZEROS.subarray(0, fit.padding)
    const bytes = this.enqueue(link)
    if (bare !== undefined) this.credit -= bytes
    if (this.blocked) await this.stream.onDrain({ signal })
  }

  /**
   * Write `link`, length-prefixed, into this turn's writer; returns its bytes (without the
   * prefix). Every frame written on its own cost a yamux frame, a Noise message (a cipher set
   * up per message) and a socket write: a block's hop took three or four of them (request,
   * answer, FIN, credit), where a raw stream pays one per 64 KiB. Written together, the frames
   * of all the operations on the link share them.
   */
  private enqueue (link: LinkFrame): number {
    if (this.turn === undefined) {
      this.turn = writer()
      setImmediate(() => { this.flush() })
    }
    const before = this.turn.len
    LinkFrame.codec().encode(link, this.turn)
    const written = this.turn.len - before
    let bytes = written - 1
    while (bytes + encodingLength(bytes) > written) bytes--
    return bytes
  }

  /**
   * Write this turn's frames as one contiguous buffer: the writer copies each frame's fields,
   * a block's 32 KiB among them, straight into it, once (an encoded Frame and then a joined
   * buffer copied every block twice per hop: docs/benchmarks.md, "One copy per frame sent").
   * Handed down as a list of pieces, they stayed pieces all the way: Noise encrypts a list
   * piece by piece, and @libp2p/tcp writes each piece with its own `socket.write`. With
   * TCP_NODELAY (libp2p's default) each write can leave as its own TCP segment, so the wire
   * showed every frame's parts apart (its length prefix, its link header with the padding, its
   * Frame), and a Frame's unpadded size with them: padding to size classes (padding.ts)
   * defeated. Joined, a Noise message goes out as its length, yamux's header, the frames and
   * the tag; a 16 MiB get through three hops made 6,866 socket writes instead of 15,895 (its
   * CPU moved within the noise: docs/benchmarks.md).
   */
  private flush (): void {
    const turn = this.turn
    this.turn = undefined
    if (turn === undefined || this.ended !== undefined) return
    try {
      this.blocked = !this.stream.send(turn.finish())
    } catch (err: any) {
      this.end(err, true)
      return
    }
    if (this.blocked) {
      this.stream.onDrain().then(() => { this.blocked = false }, () => {})
    }
  }

  /** The driver read `cost` bytes of frames: grant them back (now, or with the next frame back). */
  consumed (cost: number): void {
    if (cost === 0) return
    this.unconsumed -= cost
    this.owed += cost
    if (this.owed >= GRANT_BYTES && this.ended === undefined) {
      this.send(0, 0, undefined).catch(() => {})
    }
  }

  /** `ch` is done here (called once per channel): forget it, free its slot. */
  forget (ch: LinkChannel): void {
    if (this.channels.get(ch.id) === ch) this.channels.delete(ch.id)
    if (this.opener) {
      this.opened--
      this.slotWaiters.wake()
    }
  }

  private async readLoop (): Promise<void> {
    try {
      for await (const buf of lp.decode(this.stream, { maxDataLength: MAX_LINK_FRAME_BYTES })) {
        this.receive(buf.subarray(), buf.byteLength)
      }
      this.end(new Error(`${this.peer} closed the link`), false)
    } catch (err: any) {
      if (this.ended === undefined) this.init.log('link to %s broken - %s', this.peer, err.message)
      this.end(err, true)
    }
  }

  private receive (bytes: Uint8Array, cost: number): void {
    let f: LinkFrame
    try {
      f = LinkFrame.decode(bytes)
    } catch (err: any) {
      throw new ProtocolViolation(WireError.Code.MALFORMED, `undecodable link frame: ${err.message}`)
    }
    if (f.credit > 0) {
      this.credit += f.credit
      if (this.credit > LINK_WINDOW_BYTES) throw new ProtocolViolation(WireError.Code.MALFORMED, `granted ${this.credit} bytes of credit, past the ${LINK_WINDOW_BYTES}-byte window`)
      this.creditWaiters.wake()
    }
    if (f.frame === undefined) cost = 0
    else {
      noteWireError(this.init.onWireError, f.frame, 'received', LINK_PROTOCOL)
      this.unconsumed += cost
      if (this.unconsumed > LINK_WINDOW_BYTES) throw new ProtocolViolation(WireError.Code.TOO_LARGE, `sent past its credit: ${this.unconsumed} bytes unread, window ${LINK_WINDOW_BYTES}`)
    }
    if (f.channel === 0) {
      if (cost > 0 || f.flags !== 0) throw new ProtocolViolation(WireError.Code.MALFORMED, 'channel 0 carries only credit')
      return
    }
    const ch = this.channels.get(f.channel)
    if (ch !== undefined) {
      ch.deliver(f, cost)
      return
    }
    if (!this.opener && f.channel > this.lastId && f.frame !== undefined && (f.flags & RESET) === 0) {
      this.lastId = f.channel
      if (this.channels.size >= MAX_LINK_CHANNELS) {
        this.consumed(cost)
        this.send(new LinkChannel(this, f.channel), FIN, errorFrame(WireError.Code.OVERLOADED, `at most ${MAX_LINK_CHANNELS} operations at once on one link; wait for one to end`)).catch(() => {})
        return
      }
      const opened = new LinkChannel(this, f.channel)
      this.channels.set(opened.id, opened)
      opened.deliver(f, cost)
      this.init.onChannel?.(opened)
      return
    }
    // A frame for a channel that ended here (a late frame after a reset) or never was: drop it.
    this.consumed(cost)
  }

  private end (reason: Error, reset: boolean): void {
    if (this.ended !== undefined) return
    // A graceful end still writes what was queued (a last answer, a FIN).
    if (!reset) this.flush()
    if (this.ended !== undefined) return
    this.ended = reason
    for (const ch of this.channels.values()) ch.gone(reason)
    this.channels.clear()
    this.creditWaiters.fail(reason)
    this.slotWaiters.fail(reason)
    if (reset) this.stream.abort(reason)
    else this.stream.close().catch((e: Error) => { this.stream.abort(e) })
    this.init.onEnd?.(this)
  }
}

/**
 * One operation's hop on a link stream (link.ts): a channel of a LinkSession, read and written
 * like a per-operation stream (a `Link`, stream.ts), so the request/insert driver runs unchanged
 * on either. The session owns the stream, the credit and the channel numbers; a channel owns
 * its queue of unread frames, its half-closes and its reset.
 */
import { ProtocolViolation, WireError } from './messages.js'
import { Waiters } from '../util/waiters.js'
import type { Frame, LinkFrame } from '../../proto/warren.js'
import type { LinkSession } from './link.js'
import type { Link } from './stream.js'

/** LinkFrame.flags bits (LinkFrame.Flag). */
export const FIN = 1
export const RESET = 2

/**
 * Unread frames one channel may hold. The operations are lock-step (one frame, then wait for the
 * answer), so an honest peer never has more than one waiting; more is a peer flooding a channel.
 */
const MAX_QUEUED_FRAMES = 2

/** One operation's hop on a link stream: a Link (stream.ts). */
export class LinkChannel implements Link {
  readonly peer: string
  /** Its number on the stream; 0 until its first frame goes out (opener). */
  id: number
  private readonly queue: Array<{ frame: Frame, cost: number }> = []
  private readonly readers = new Waiters()
  private readonly closeListeners: Array<() => void> = []
  /** This end sent its last frame. */
  private localClosed = false
  /** The peer sent its last frame. */
  private remoteClosed = false
  private resetWith?: Error
  private finished = false

  constructor (private readonly session: LinkSession, id: number) {
    this.peer = session.peer
    this.id = id
  }

  async read (options: { signal?: AbortSignal }): Promise<Frame> {
    for (;;) {
      const next = this.queue.shift()
      if (next !== undefined) {
        this.session.consumed(next.cost)
        return next.frame
      }
      if (this.resetWith !== undefined) throw this.resetWith
      if (this.remoteClosed) throw new Error(`${this.peer} closed the channel without answering`)
      if (this.readers.length > 0) throw new Error('one reader at a time on a link channel')
      await this.readers.wait(options.signal)
    }
  }

  async write (frame: Frame, options: { signal?: AbortSignal, close?: boolean }): Promise<void> {
    if (this.resetWith !== undefined) throw this.resetWith
    if (this.localClosed) throw new Error('the channel is closed for writing')
    const close = options.close === true
    if (close) this.localClosed = true
    await this.session.send(this, close ? FIN : 0, frame, options.signal)
    if (close) this.maybeFinish()
  }

  async close (options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.resetWith !== undefined || this.localClosed) return
    this.localClosed = true
    // The peer already forgot a channel it finished (see maybeFinish), or never heard of it.
    if (this.id !== 0 && !(this.session.opener && this.remoteClosed)) await this.session.send(this, FIN, undefined, options.signal)
    else this.finish()
    this.maybeFinish()
  }

  abort (reason: Error): void {
    if (this.resetWith !== undefined) return
    const peerForgot = this.session.opener ? this.remoteClosed : this.localClosed
    if (!peerForgot && this.id !== 0 && this.session.endedWith === undefined) this.session.send(this, RESET, undefined).catch(() => {})
    this.reset(reason)
  }

  onClose (fn: () => void): void {
    if (this.resetWith !== undefined) queueMicrotask(fn)
    else this.closeListeners.push(fn)
  }

  /** A LinkFrame for this channel arrived (`cost` bytes of credit if it carries a Frame). */
  deliver (f: LinkFrame, cost: number): void {
    if (f.frame !== undefined) {
      if (this.remoteClosed || this.resetWith !== undefined) {
        this.session.consumed(cost)
      } else if (this.queue.length >= MAX_QUEUED_FRAMES) {
        this.session.consumed(cost)
        this.abort(new ProtocolViolation(WireError.Code.UNEXPECTED, `${this.peer} sent more than ${MAX_QUEUED_FRAMES} frames unanswered on one channel`))
        return
      } else {
        this.queue.push({ frame: f.frame, cost })
      }
    }
    if ((f.flags & RESET) !== 0) {
      this.reset(new Error(`${this.peer} reset the channel`))
      return
    }
    if ((f.flags & FIN) !== 0) {
      this.remoteClosed = true
      this.maybeFinish()
    }
    this.readers.wake()
  }

  /** The session ended under the channel. */
  gone (err: Error): void {
    this.reset(err)
  }

  private reset (err: Error): void {
    if (this.resetWith !== undefined) return
    this.resetWith = err
    for (const q of this.queue.splice(0)) this.session.consumed(q.cost)
    this.readers.fail(err)
    this.finish()
    for (const fn of this.closeListeners.splice(0)) fn()
  }

  /**
   * The opener is done once the answerer's last frame arrived, the answerer once it sent its
   * last frame: each forgets the channel then (the other end may still send a FIN, dropped as
   * late), so a peer that never closes cannot pile up half-open channels here.
   */
  private maybeFinish (): void {
    if (this.session.opener ? this.remoteClosed : this.localClosed) this.finish()
  }

  private finish (): void {
    if (this.finished) return
    this.finished = true
    this.session.forget(this)
  }
}

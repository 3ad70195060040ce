/**
 * Stream plumbing shared by every warren protocol handler (request, insert, announce, join):
 * length-prefixed protobuf framing with a hard size cap, deadlines as abort signals, sending a
 * frame and closing, answering a protocol violation, and per-peer admission slots.
 *
 * Like the `rpc/` helpers of js-libp2p's kad-dht, nothing here knows about routing: the drivers
 * (request-insert.ts, announce.ts, join.ts) translate frames to core events and back, and use
 * these to move the frames.
 */
import { AbortError, TimeoutError } from '@libp2p/interface'
import { pbStream } from '@libp2p/utils'
import { peerIdFromString } from '@libp2p/peer-id'
import { MAX_FRAME_BYTES } from '../constants.js'
import { expectFrame, Frame, FrameType, ProtocolViolation, violationFrame } from './messages.js'
import { FRAME_PADDING, padded } from './padding.js'
import type { Logger, Stream } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { ProtobufMessageStream } from '@libp2p/utils'

export type FrameStream = ProtobufMessageStream<Frame, Stream>

/**
 * One side of one hop of one operation: the peer at the other end and a bidirectional
 * sequence of frames. Either its own libp2p stream (`StreamLink`, the per-operation
 * protocols) or a channel of a neighbour's link stream (link.ts).
 */
export interface Link {
  peer: string
  /** The next frame from the peer; rejects once the peer closed or reset, or on `signal`. */
  read: (options: { signal?: AbortSignal }) => Promise<Frame>
  /** Send `frame`; with `close`, it is this side's last (a half-close). */
  write: (frame: Frame, options: { signal?: AbortSignal, close?: boolean }) => Promise<void>
  /** Half-close this side (after flushing). */
  close: (options?: { signal?: AbortSignal }) => Promise<void>
  /** Give up at once: the peer sees a reset. */
  abort: (err: Error) => void
  /** Call `fn` once when the link is reset (by either side) or closed by the peer. */
  onClose: (fn: () => void) => void
}

/** An ERROR frame this node sent to a peer or received from one (issue 14, item 4: metrics). */
export interface WireErrorEvent {
  /** Its WireError.Code (MALFORMED, UNEXPECTED, INVALID_KEY, TOO_LARGE, TIMEOUT, OVERLOADED...). */
  code: string
  direction: 'sent' | 'received'
  /** The libp2p protocol of the stream that carried it (LINK_PROTOCOL for a link channel). */
  protocol: string
}

/** Told of every ERROR frame on the node's streams and link channels; must not throw. */
export type WireErrorHook = (e: WireErrorEvent) => void

/** Tell `hook` about `frame` when it is an ERROR frame. */
export function noteWireError (hook: WireErrorHook | undefined, frame: Frame | undefined, direction: WireErrorEvent['direction'], protocol: string): void {
  if (hook === undefined || frame?.type !== FrameType.ERROR) return
  hook({ code: frame.error?.code ?? 'UNKNOWN', direction, protocol })
}

/** A Link over its own libp2p stream, framed by pbStream. */
export interface StreamLink extends Link {
  stream: Stream
  pb: FrameStream
}

/** A hop's state as the drivers keep it: the stream to the node above and the one below. */
export interface HopLinks {
  upstream?: Link
  child?: Link
}

/** setTimeout's (and AbortSignal.timeout's) largest delay; a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** `ms` as a valid timer delay: at least 1 ms, at most MAX_TIMER_MS. */
export function timerMs (ms: number): number {
  return Math.min(MAX_TIMER_MS, Math.max(1, ms))
}

/**
 * A signal that aborts after `ms` (with a TimeoutError), or as soon as `also` aborts; dispose of
 * it (`using`) when the work is done. Unlike AbortSignal.timeout, whose timer fires at its
 * deadline whether or not anyone still waits and builds a DOMException with a stack trace each
 * time (1-2 % of bench/chain.ts's CPU profile: one per hop of every operation), its timer is
 * cleared.
 */
export function deadline (ms: number, also?: AbortSignal): { signal: AbortSignal } & Disposable {
  const controller = new AbortController()
  const timer = setTimeout(() => { controller.abort(new TimeoutError(`timed out after ${ms} ms`)) }, timerMs(ms))
  timer.unref()
  const onAbort = (): void => { controller.abort(also?.reason) }
  if (also?.aborted === true) onAbort()
  else also?.addEventListener('abort', onAbort, { once: true })
  return {
    signal: controller.signal,
    [Symbol.dispose]: () => {
      clearTimeout(timer)
      also?.removeEventListener('abort', onAbort)
    }
  }
}

/** A signal that aborts at the absolute time `deadline` (ms since the epoch). */
export function deadlineSignal (deadline: number): AbortSignal {
  return AbortSignal.timeout(timerMs(deadline - Date.now()))
}

/** Frames padded to a size class on the way out (padding.ts). */
const PaddedFrame = padded(Frame, FRAME_PADDING)

/**
 * Frames on `stream`, each capped at MAX_FRAME_BYTES before it is decoded and padded to a size
 * class when written; ERROR frames both ways told to `onWireError`.
 */
export function link (peer: string, stream: Stream, onWireError?: WireErrorHook): StreamLink {
  const pb = pbStream(stream, { maxDataLength: MAX_FRAME_BYTES }).pb(PaddedFrame)
  return {
    peer,
    stream,
    pb,
    read: async (options) => {
      const frame = await pb.read(options)
      noteWireError(onWireError, frame, 'received', stream.protocol ?? '')
      return frame
    },
    write: async (frame, options) => {
      await pb.write(frame, options)
      noteWireError(onWireError, frame, 'sent', stream.protocol ?? '')
      if (options.close === true) await stream.close(options)
    },
    close: async (options) => { await stream.close(options) },
    abort: (err) => { stream.abort(err) },
    onClose: (fn) => { stream.addEventListener('close', fn, { once: true }) }
  }
}

/**
 * Open a stream for `protocol` to `to`. `prepareDial` first hands libp2p the addresses this
 * node learnt for the peer (the address book keeps them out of the peer store until then).
 */
export async function openLink (connectionManager: ConnectionManager, prepareDial: (peer: string) => Promise<void>,
  to: string, protocol: string, signal: AbortSignal, onWireError?: WireErrorHook): Promise<StreamLink> {
  await prepareDial(to)
  return link(to, await connectionManager.openStream(peerIdFromString(to), protocol, { signal }), onWireError)
}

/**
 * Write `frame` on `l`, then (with `close`) half-close the stream. Never throws: a peer that
 * cannot take our answer gets its stream reset, and the operation it belonged to ends anyway.
 */
export async function send (l: Link, frame: Frame, close: boolean, writeMs: number, closeMs: number, log?: Logger): Promise<void> {
  try {
    using d = deadline(close ? writeMs + closeMs : writeMs)
    await l.write(frame, { signal: d.signal, close })
  } catch (err: any) {
    log?.('could not answer %s - %s', l.peer, err.message)
    l.abort(err)
  }
}

/**
 * Answer what went wrong reading or checking a frame (`err`) with an ERROR frame and close;
 * a stream that ended early has nobody to answer and is reset.
 */
export async function answerViolation (l: Link, err: unknown, writeMs: number, closeMs: number, log?: Logger): Promise<void> {
  const frame = violationFrame(err)
  if (frame === undefined) {
    l.abort(err as Error)
    return
  }
  log?.('protocol violation by %s: %s (%s)', l.peer, frame.error?.message, (err as Error)?.message ?? err)
  await send(l, frame, true, writeMs, closeMs, log)
}

/**
 * The first frame of an inbound stream, one of `allowed` and well formed, read within
 * `timeoutMs` (a silent stream must not hold a slot); undefined once the stream has been
 * answered with an ERROR (or reset).
 */
export async function readFirst (l: Link, allowed: FrameType[], timeoutMs: number, writeMs: number, closeMs: number, log?: Logger): Promise<Frame | undefined> {
  try {
    using d = deadline(timeoutMs)
    return expectFrame(await l.read({ signal: d.signal }), allowed)
  } catch (err) {
    await answerViolation(l, err, writeMs, closeMs, log)
    return undefined
  }
}

/** Why an exchange on a hop failed, as the routing cores name it. */
export type HopFailure = 'timeout' | 'invalid' | 'error'

/** Classify an error from writing or reading a hop whose deadline is `signal`. */
export function hopFailure (err: unknown, signal: AbortSignal | undefined): HopFailure {
  if (signal?.aborted === true) return 'timeout'
  return err instanceof ProtocolViolation ? 'invalid' : 'error'
}

/** Write `frame` on `l` and read the answer, one of `allowed` (checked), both by `signal`. */
export async function exchange (l: Link, frame: Frame, allowed: FrameType[], signal: AbortSignal): Promise<Frame> {
  await l.write(frame, { signal })
  return expectFrame(await l.read({ signal }), allowed)
}

/**
 * Call `fn` once if `signal` aborts; returns the function that stops listening (call it when
 * the operation ends first). Without a signal, nothing.
 */
export function whenAborted (signal: AbortSignal | undefined, fn: (reason: Error) => void): () => void {
  if (signal === undefined) return () => {}
  const listener = (): void => { fn(signal.reason ?? new AbortError()) }
  signal.addEventListener('abort', listener, { once: true })
  return () => { signal.removeEventListener('abort', listener) }
}

/** Reset every stream of every hop in `hops` (the node is stopping). */
export function abortHops (hops: Iterable<HopLinks>, err: Error): void {
  for (const h of hops) {
    h.upstream?.abort(err)
    h.child?.abort(err)
  }
}

/**
 * Operations each peer has in progress here, bounded per peer. A slot is taken before
 * anything asynchronous happens, so concurrent streams of one peer cannot all pass the check,
 * and given back exactly once when the operation's state is released.
 */
export class PeerSlots {
  private readonly held = new Map<string, number>()
  private count = 0

  constructor (readonly limit: number) {}

  /** Take a slot for `peer`; false when it already holds `limit`. */
  acquire (peer: string): boolean {
    const n = this.held.get(peer) ?? 0
    if (n >= this.limit) return false
    this.held.set(peer, n + 1)
    this.count++
    return true
  }

  release (peer: string): void {
    const n = this.held.get(peer)
    if (n === undefined) return
    this.count--
    if (n <= 1) this.held.delete(peer)
    else this.held.set(peer, n - 1)
  }

  /** Slots held by all peers together (kept as a count: the node's cap reads it on every admission). */
  get total (): number {
    return this.count
  }

  clear (): void {
    this.held.clear()
    this.count = 0
  }
}

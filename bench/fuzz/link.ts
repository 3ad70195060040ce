/**
 * Fuzzing the link protocol (`/warren/link/1.0.0`, src/protocol/link.ts): the multiplexed
 * stream nodes use between neighbours. Each fuzzing identity keeps one link stream to the
 * target, shared by its workers as a node shares one per neighbour, and every case is one or a
 * few LinkFrames on it:
 *
 * - channel cases (72 %): a new channel carrying a request or insert case of cases.ts (valid,
 *   mutated fields, wrong frame types, stray bodies, byte mutations that still decode), with
 *   FIN or odd flag bits now and then, padding, and channel ids that skip ahead; the second
 *   frame goes after ALL_CLEAR as on a stream. Answer: Frames on the channel until the
 *   target's FIN or RESET.
 * - floods (8 %): a request and 2-4 more frames on the channel without waiting (the target
 *   holds at most two unread: it answers or resets the channel).
 * - dropped frames (12 %): a frame to a channel the target finished, a new channel opened
 *   with RESET or with only FIN, a credit-only frame; the protocol drops them silently, so a
 *   valid request on a new channel follows and must be answered (the link is still sound).
 * - link violations (8 %): undecodable LinkFrames (random bytes, a bit-flipped or truncated
 *   header, a Frame field that is not a Frame), a LinkFrame longer than MAX_LINK_FRAME_BYTES,
 *   a Frame or flags on channel 0, credit granted past the window. Answer: the target ends the
 *   link stream (its operations fail over); the identity then opens a new one.
 *
 * What the target must do with every LinkFrame is decided here by mirroring link.ts's rules
 * (`expectation`), so a case whose mutation happens to produce a valid frame is judged by what
 * it is, not by what it was meant to be.
 */
import * as lp from 'it-length-prefixed'
import { Uint8ArrayList } from 'uint8arraylist'
import { Frame, FrameType, LinkFrame } from '../../proto/warren.js'
import { LINK_PROTOCOL, LINK_WINDOW_BYTES } from '../../src/constants.js'
import { MAX_LINK_FRAME_BYTES } from '../../src/protocol/link.js'
import { bytes, int, makeCase, pick, requestFrame, varint } from './cases.js'
import { ANSWER_TIMEOUT_MS, frameLabel } from './streams.js'
import type { Material } from './cases.js'
import type { Conn } from './streams.js'
import type { Rng } from '../../src/routing/random.js'
import type { Stream } from '@libp2p/interface'

const FIN = 1
const RESET = 2
const EMPTY: Uint8Array<ArrayBuffer> = new Uint8Array(0)

/** A LinkFrame's bytes with `frame` (a Frame's encoding, possibly malformed) as field 3, written by hand. */
function linkBytes (channel: number, flags: number, credit: number, frame: Uint8Array | undefined, padding: Uint8Array<ArrayBuffer> = EMPTY): Uint8Array {
  const header = LinkFrame.encode({ channel, flags, credit, padding })
  if (frame === undefined) return header
  return new Uint8ArrayList(header, Uint8Array.of((3 << 3) | 2), Uint8Array.from(varint(BigInt(frame.byteLength))), frame).subarray()
}

/** What link.ts does with `payload` (`isNew`: its channel id is above every id used so far). */
type Expectation = 'kill' | 'channel' | 'drop'

function expectation (payload: Uint8Array, isNew: boolean): Expectation {
  if (payload.byteLength > MAX_LINK_FRAME_BYTES) return 'kill'
  let f: LinkFrame
  try {
    f = LinkFrame.decode(payload)
  } catch {
    return 'kill'
  }
  if (f.channel === 0) return f.frame !== undefined || f.flags !== 0 ? 'kill' : 'drop'
  return isNew && f.frame !== undefined && (f.flags & RESET) === 0 ? 'channel' : 'drop'
}

interface Waiter { resolve: () => void }

/** One link stream to the target, as the fuzzing identity's end (the opener). */
class FuzzLink {
  private nextId = 0
  private readonly handlers = new Map<number, (f: LinkFrame | undefined) => void>()
  /** Channels the target finished (we got its FIN or RESET): it drops frames sent to them. */
  readonly finished: number[] = []
  private credit = LINK_WINDOW_BYTES
  private owed = 0
  private creditWaiters: Waiter[] = []
  ended?: string
  /** A case sent a link-level violation: the end that follows is its answer, not a finding. */
  violation?: string
  private readonly endWaiters: Waiter[] = []

  constructor (private readonly stream: Stream) {
    stream.addEventListener('close', () => { this.end('closed') }, { once: true })
    void this.readLoop()
  }

  private async readLoop (): Promise<void> {
    try {
      for await (const buf of lp.decode(this.stream, { maxDataLength: MAX_LINK_FRAME_BYTES })) {
        const f = LinkFrame.decode(buf.subarray())
        if (f.credit > 0) {
          this.credit += f.credit
          for (const w of this.creditWaiters.splice(0)) w.resolve()
        }
        if (f.frame !== undefined) this.owed += buf.byteLength
        this.handlers.get(f.channel)?.(f)
        // Give the target its credit back before it runs out (it grants ours the same way).
        if (this.owed >= LINK_WINDOW_BYTES / 8) this.sendRaw(linkBytes(0, 0, this.takeOwed(), undefined))
      }
      this.end('closed')
    } catch (err: any) {
      this.end(`reset (${err.name})`)
    }
  }

  private end (why: string): void {
    if (this.ended !== undefined) return
    this.ended = why
    for (const h of this.handlers.values()) h(undefined)
    for (const w of [...this.creditWaiters.splice(0), ...this.endWaiters.splice(0)]) w.resolve()
  }

  /** The target finished channel `id` (a few are kept for the dropped-frame cases). */
  done (id: number): void {
    this.finished.push(id)
    if (this.finished.length > 64) this.finished.shift()
  }

  takeOwed (): number {
    const n = this.owed
    this.owed = 0
    return n
  }

  /** A fresh channel id (sometimes skipping ahead: allowed, ids only grow). */
  newId (rng: Rng): number {
    this.nextId += rng() < 0.9 ? 1 : 1 + int(rng, 1000)
    return this.nextId
  }

  listen (id: number, h: (f: LinkFrame | undefined) => void): () => void {
    this.handlers.set(id, h)
    return () => { this.handlers.delete(id) }
  }

  private sendRaw (payload: Uint8Array): boolean {
    if (this.ended !== undefined) return true
    try {
      return this.stream.send(lp.encode.single(payload))
    } catch (err: any) {
      this.end(`send failed (${err.name})`)
      return true
    }
  }

  /**
   * Send a LinkFrame built by `build(channel id, credit)`; a frame that carries a Frame waits
   * for credit first. The channel id is taken after the wait, so new channels reach the target
   * in id order.
   */
  async send (build: (id: number, credit: number) => Uint8Array, id: number | ((rng: Rng) => number), rng: Rng, costly: boolean, signal: AbortSignal): Promise<{ id: number, payload: Uint8Array }> {
    while (this.needsCredit(costly)) {
      await new Promise<void>((resolve, reject) => {
        const w = { resolve }
        this.creditWaiters.push(w)
        signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true })
      })
    }
    const channel = typeof id === 'number' ? id : id(rng)
    const payload = build(channel, this.takeOwed())
    if (costly) this.credit -= payload.byteLength
    if (!this.sendRaw(payload)) await this.stream.onDrain({ signal }).catch(() => {})
    return { id: channel, payload }
  }

  private needsCredit (costly: boolean): boolean {
    return costly && this.ended === undefined && this.credit < MAX_LINK_FRAME_BYTES
  }

  /** Resolves once the link ended (or `signal` fires). */
  async whenEnded (signal: AbortSignal): Promise<void> {
    if (this.ended !== undefined) return
    await new Promise<void>((resolve) => {
      const w = { resolve }
      this.endWaiters.push(w)
      signal.addEventListener('abort', () => { resolve() }, { once: true })
    })
  }

  abort (): void {
    this.stream.abort(new Error('fuzzing done'))
  }
}

/** A fuzzing identity's link stream, reopened when the target ends it. */
export class LinkPool {
  private current?: Promise<FuzzLink>
  private latest?: FuzzLink
  private readonly all: FuzzLink[] = []

  constructor (private readonly conn: Conn) {}

  async get (): Promise<FuzzLink> {
    // Decided without awaiting first: workers asking at once share one new stream.
    if (this.current === undefined || this.latest?.ended !== undefined) {
      this.latest = undefined
      this.current = this.conn.stream(LINK_PROTOCOL).then((s) => {
        const l = new FuzzLink(s)
        this.all.push(l)
        this.latest = l
        return l
      })
      this.current.catch(() => { this.current = undefined })
    }
    return await this.current
  }

  close (): void {
    for (const l of this.all) l.abort()
  }
}

export interface LinkResult { labels: string[], frames: number, example: string }

/** Send a channel's first frame (and the rest as the answers allow); the labels of its answers. */
async function channel (l: FuzzLink, rng: Rng, first: Uint8Array, second: Uint8Array | undefined, flags: number, padding: Uint8Array<ArrayBuffer>, flood: number, signal: AbortSignal): Promise<{ labels: string[], frames: number }> {
  const labels: string[] = []
  let frames = 0
  // The target's LinkFrames on the channel (undefined: the link ended), read one at a time.
  const pending: Array<LinkFrame | undefined> = []
  let wake: (() => void) | undefined
  const on = (f: LinkFrame | undefined): void => {
    pending.push(f)
    wake?.()
  }
  const next = async (): Promise<LinkFrame | undefined> => {
    while (pending.length === 0) {
      signal.throwIfAborted()
      await new Promise<void>((resolve) => {
        wake = resolve
        signal.addEventListener('abort', () => { resolve() }, { once: true })
      })
      wake = undefined
    }
    return pending.shift()
  }
  let unlisten = (): void => {}
  let id = 0
  let answered = false
  let secondSent = false
  try {
    await l.send((ch, credit) => {
      id = ch
      unlisten = l.listen(ch, on)
      return linkBytes(ch, flags, credit, first, padding)
    }, (r) => l.newId(r), rng, true, signal)
    frames++
    for (let i = 0; i < flood; i++) {
      await l.send((ch, credit) => linkBytes(ch, 0, credit, first), id, rng, true, signal)
      frames++
    }
    for (;;) {
      const f = await next()
      if (f === undefined) {
        labels.push(l.violation !== undefined ? `link ended by another case (${l.violation})` : `none: link ${l.ended ?? 'ended'}`)
        return { labels, frames }
      }
      if (f.frame !== undefined) {
        answered = true
        labels.push(frameLabel(f.frame))
        if (second !== undefined && !secondSent && f.frame.type === FrameType.ALL_CLEAR && (flags & FIN) === 0 && (f.flags & (FIN | RESET)) === 0) {
          secondSent = true
          await l.send((ch, credit) => linkBytes(ch, rng() < 0.3 ? FIN : 0, credit, second), id, rng, true, signal)
          frames++
        }
      }
      if ((f.flags & RESET) !== 0) {
        labels.push('RESET')
        l.done(id)
        return { labels, frames }
      }
      if ((f.flags & FIN) !== 0) {
        if (!answered) labels.push('none: FIN without an answer')
        l.done(id)
        return { labels, frames }
      }
    }
  } catch (err: any) {
    labels.push(`none: ${err.name}`)
    return { labels, frames }
  } finally {
    unlisten()
  }
}

/** One link-protocol case on `pool`'s link stream. */
export async function runLinkCase (pool: LinkPool, m: Material, rng: Rng): Promise<LinkResult> {
  let l: FuzzLink
  try {
    l = await pool.get()
  } catch (err: any) {
    return { labels: [`none: link stream refused (${err.name})`], frames: 0, example: 'opening the link stream' }
  }
  const signal = AbortSignal.timeout(ANSWER_TIMEOUT_MS)
  const r = rng()
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex').slice(0, 400)
  if (r < 0.72) {
    // A channel carrying a request or insert case, as long as the whole LinkFrame decodes
    // (a Frame that does not decode makes the LinkFrame undecodable: a link violation, drawn below).
    for (let tries = 0; tries < 8; tries++) {
      const c = makeCase(rng() < 0.5 ? 'request' : 'insert', m, rng)
      const flags = rng() < 0.85 ? 0 : pick(rng, [FIN, 4, 8, 1 << 31 >>> 0, 0xfffffffc])
      const padding = rng() < 0.8 ? EMPTY : bytes(rng, int(rng, 512))
      if (expectation(linkBytes(1, flags, 0, c.first, padding), true) !== 'channel') continue
      const out = await channel(l, rng, c.first, c.second, flags, padding, 0, signal)
      return { ...out, example: `${c.kind} flags ${flags} first ${hex(c.first)}${c.second === undefined ? '' : ` second ${hex(c.second)}`}` }
    }
  }
  if (r < 0.80) {
    const first = Frame.encode(requestFrame(m, rng))
    const out = await channel(l, rng, first, undefined, 0, EMPTY, 2 + int(rng, 3), signal)
    return { ...out, example: `flood of ${hex(first)}` }
  }
  if (r < 0.92) {
    // A frame the target must drop, then a request on a new channel that it must answer.
    const frame = Frame.encode(requestFrame(m, rng))
    const stale = l.finished.length > 0 ? l.finished[int(rng, l.finished.length)] : undefined
    const kind = pick(rng, stale === undefined ? ['new channel with RESET', 'new channel with only FIN', 'credit only'] : ['finished channel', 'finished channel with FIN', 'new channel with RESET', 'new channel with only FIN', 'credit only'])
    await l.send((ch, credit) => {
      switch (kind) {
        case 'finished channel': return linkBytes(stale!, 0, credit, frame)
        case 'finished channel with FIN': return linkBytes(stale!, FIN, credit, rng() < 0.5 ? frame : undefined)
        case 'new channel with RESET': return linkBytes(ch, RESET | (rng() < 0.5 ? FIN : 0), credit, rng() < 0.5 ? frame : undefined)
        case 'new channel with only FIN': return linkBytes(ch, FIN, credit, undefined)
        default: return linkBytes(0, 0, credit, undefined)
      }
    }, (x) => l.newId(x), rng, kind !== 'credit only', signal)
    const probe = await channel(l, rng, frame, undefined, 0, EMPTY, 0, signal)
    return { labels: [`dropped (${kind})`, ...probe.labels], frames: 1 + probe.frames, example: `${kind}, then ${hex(frame)}` }
  }
  // A link violation: the target must end the link.
  let payload: Uint8Array
  let kind: string
  switch (int(rng, 6)) {
    case 0: kind = 'random bytes'; payload = undecodable(() => bytes(rng, 1 + int(rng, 300))); break
    case 1: {
      kind = 'mutated header'
      const good = linkBytes(1 + int(rng, 100), 0, 0, Frame.encode(requestFrame(m, rng)))
      payload = undecodable(() => { const b = Uint8Array.from(good); b[int(rng, 3)] ^= 1 << int(rng, 8); return b.subarray(0, rng() < 0.5 ? b.length : int(rng, b.length)) })
      break
    }
    case 2: kind = 'frame field not a Frame'; payload = undecodable(() => linkBytes(1, 0, 0, bytes(rng, 1 + int(rng, 64)))); break
    case 3: kind = 'oversized'; payload = bytes(rng, MAX_LINK_FRAME_BYTES + 1 + int(rng, 4096)); break
    case 4: kind = 'channel 0 with a frame or flags'; payload = linkBytes(0, rng() < 0.5 ? FIN : 0, 0, rng() < 0.5 ? Frame.encode(requestFrame(m, rng)) : undefined); if (expectation(payload, false) !== 'kill') payload = linkBytes(0, RESET, 0, undefined); break
    default: kind = 'credit past the window'; payload = linkBytes(0, 0, 2 * LINK_WINDOW_BYTES + int(rng, 2 ** 20), undefined)
  }
  l.violation = kind
  await l.send(() => payload, 0, rng, false, signal)
  await l.whenEnded(signal)
  return { labels: [l.ended !== undefined ? `link ended after our ${kind}` : 'none: link kept open after a violation'], frames: 1, example: `${kind}: ${hex(payload)}` }

  function undecodable (make: () => Uint8Array): Uint8Array {
    for (let i = 0; i < 16; i++) {
      const b = make()
      if (b.byteLength > 0 && expectation(b, true) === 'kill') return b
    }
    return Uint8Array.of(0x08, 0x80) // a varint cut short
  }
}

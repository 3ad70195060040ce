/**
 * The fuzzer's side of a libp2p stream case (bench/fuzz/fuzz.ts): one connection per fuzzing
 * identity, a new stream per case, the answers read and labelled.
 */
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { Error as WireError, Frame, FrameType } from '../../proto/warren.js'
import { MAX_FRAME_BYTES } from '../../src/constants.js'
import type { RawPeer } from '../../test/helpers/raw-peer.js'
import type { Connection, Stream } from '@libp2p/interface'

/** Longer than any answer may take: a walk or join of a few hops at a 1 s hop timeout, or a first-frame timeout. */
export const ANSWER_TIMEOUT_MS = 30_000

/** 'ERROR <code>' or the frame's type. */
export function frameLabel (f: Frame): string {
  return f.type === FrameType.ERROR ? `ERROR ${f.error?.code ?? WireError.Code.INTERNAL}` : f.type
}

export interface Answer { label: string, more: boolean }

/** How to read a protocol's answers: a label, and whether the second frame may follow. */
export type Classify = (bytes: Uint8Array) => Answer

const CONTINUE = new Set([FrameType.ALL_CLEAR, FrameType.ANNOUNCE_COMMIT])

export const classifyFrame: Classify = (bytes) => {
  let f: Frame
  try {
    f = Frame.decode(bytes)
  } catch {
    return { label: 'none: undecodable answer', more: false }
  }
  return { label: frameLabel(f), more: CONTINUE.has(f.type) }
}

/** ERROR or REJECTED_LOOP when `bytes` is one (a frame that ends an exchange: no answer is due). */
export function finalFrame (bytes: Uint8Array): string | undefined {
  try {
    const t = Frame.decode(bytes).type
    return t === FrameType.ERROR || t === FrameType.REJECTED_LOOP ? t : undefined
  } catch {
    return undefined
  }
}

/**
 * A fuzzing identity's connection to the target, opened once and reopened if it closes: a
 * stream on it costs a yamux frame and a protocol negotiation, where `dialProtocol` with a
 * multiaddr also looked the peer up and parsed the address for every case (a fifth of the
 * fuzzer's CPU in a profile; docs/reliability.md has the rates before and after).
 */
export interface Conn {
  stream: (protocol: string) => Promise<Stream>
}

export function conn (peer: RawPeer, target: string): Conn {
  const addr = multiaddr(target)
  let c: Promise<Connection> | undefined
  const open = async (): Promise<Connection> => {
    const got = await c?.catch(() => undefined)
    if (got !== undefined && got.status === 'open') return got
    // The connection went away (at load 20+ the target's connection monitor may drop one whose
    // pings are late) and a new one is dialled: a handshake that times out on a starved CPU is
    // tried again (three times in all) rather than counted against a protocol handler.
    for (let attempt = 1; ; attempt++) {
      c = peer.dial(addr, { signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS) })
      try {
        return await c
      } catch (err) {
        if (attempt >= 3) throw err
      }
    }
  }
  return { stream: async (protocol) => await (await open()).newStream(protocol, { signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS) }) }
}

/**
 * Send one case on a new stream: `first`, then `second` if the answer lets the exchange go on;
 * the answers' labels and the frames sent. `final(frame)` names a frame of ours after which the
 * node may end the stream without an answer.
 */
export async function runStreamCase (to: Conn, protocol: string, first: Uint8Array, second: Uint8Array | undefined, classify: Classify, final: (frame: Uint8Array) => string | undefined, maxBytes = 4 * MAX_FRAME_BYTES): Promise<{ labels: string[], frames: number }> {
  let stream
  try {
    stream = await to.stream(protocol)
  } catch (err: any) {
    return { labels: [`none: stream refused (${err.name})`], frames: 0 }
  }
  const lp = lpStream(stream, { maxDataLength: maxBytes })
  const labels: string[] = []
  let frames = 0
  try {
    for (const frame of [first, second]) {
      if (frame === undefined) break
      await lp.write(frame, { signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS) })
      frames++
      let answer: Answer
      const ours = final(frame)
      try {
        answer = classify((await lp.read({ signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS) })).subarray())
      } catch (err: any) {
        // ERROR and REJECTED_LOOP are a side's last word: the node answers them by ending the stream.
        answer = { label: ours !== undefined && err.name !== 'TimeoutError' ? `ended after our ${ours}` : `none: ${err.name}`, more: false }
      }
      labels.push(answer.label)
      if (!answer.more) break
    }
  } catch (err: any) {
    labels.push(`none: write failed (${err.name})`)
  } finally {
    stream.abort(new Error('case done'))
  }
  return { labels, frames }
}

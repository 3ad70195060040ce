/**
 * One end of an established tunnel (the requester's or the trusted peer's): sealed chunks
 * over the stream to its neighbour on the tunnel's path, in sequence, each read and write
 * bounded by the idle timeout. A missing last chunk (the stream ended early), a chunk that
 * does not open, or an ERROR frame all end the session with TunnelRejected.
 */
import { pbStream } from '@libp2p/utils'
import { TunnelFrame } from '../../proto/tunnel.js'
import { padded, TUNNEL_FRAME_PADDING } from '../protocol/padding.js'
import { CHUNK_DATA_BYTES, MAX_TUNNEL_FRAME_BYTES, TUNNEL_IDLE_MS } from './constants.js'
import { ChunkChannel, TunnelRejected } from './seal.js'
import type { TunnelKeys } from './seal.js'
import type { Stream } from '@libp2p/interface'
import type { ProtobufMessageStream } from '@libp2p/utils'

/** A tunnel stream to a neighbour and its frame reader/writer. */
export interface TunnelLink {
  peer: string
  stream: Stream
  pb: ProtobufMessageStream<TunnelFrame, Stream>
}

/** Tunnel frames padded to a size class on the way out (src/protocol/padding.ts). */
const PaddedTunnelFrame = padded(TunnelFrame, TUNNEL_FRAME_PADDING)

export function tunnelLink (peer: string, stream: Stream): TunnelLink {
  return { peer, stream, pb: pbStream(stream, { maxDataLength: MAX_TUNNEL_FRAME_BYTES }).pb(PaddedTunnelFrame) }
}

export function chunkFrame (sealed: Uint8Array): TunnelFrame {
  return { type: TunnelFrame.Type.CHUNK, sealed: sealed as Uint8Array<ArrayBuffer>, htl: 0, remainingHtl: 0, hops: 0 }
}

/** Did reading end because the stream ended (rather than a timeout or a bad frame)? */
export function isEof (err: unknown): boolean {
  return (err as Error)?.name === 'UnexpectedEOFError'
}

/**
 * Flow control: the receiver of a body answers every ACK_EVERY chunks it consumed with an
 * empty chunk (sealed like any other), and the sender never has more than MAX_IN_FLIGHT
 * unacknowledged. libp2p's stream readers buffer whatever arrives (and reset the stream past
 * 4 MiB), so without it a fast sender overruns a slow consumer (an insert, a slow download)
 * at any hop of the path; 48 chunks of 34 KiB (1.6 MiB) bound every hop's buffer.
 */
const ACK_EVERY = 16
const MAX_IN_FLIGHT = 48

export class TunnelSession {
  private readonly tx: ChunkChannel
  private readonly rx: ChunkChannel
  private sent = 0
  private acked = 0
  private consumed = 0

  /** `requester`: this end sends on the `up` key and reads the `down` one; the trusted peer the opposite. */
  /** `onSealed`: told the bytes of every sealed chunk sent and received (metrics). */
  constructor (readonly link: TunnelLink, keys: TunnelKeys, op: bigint, requester: boolean, private readonly idleMs = TUNNEL_IDLE_MS,
    private readonly onSealed?: (direction: 'sent' | 'received', bytes: number) => void) {
    this.tx = new ChunkChannel(requester ? keys.up : keys.down, op)
    this.rx = new ChunkChannel(requester ? keys.down : keys.up, op)
  }

  async send (data: Uint8Array, last: boolean): Promise<void> {
    const sealed = this.tx.seal(data, last)
    await this.link.pb.write(chunkFrame(sealed), { signal: AbortSignal.timeout(this.idleMs) })
    this.onSealed?.('sent', sealed.length)
  }

  /** Send one body chunk once the receiver has acknowledged enough of the earlier ones. */
  private async sendData (data: Uint8Array, last: boolean): Promise<void> {
    while (this.sent - this.acked >= MAX_IN_FLIGHT) {
      const r = await this.receiveRaw()
      if (r.data.length !== 0 || r.last) throw new TunnelRejected()
      this.acked += ACK_EVERY
    }
    await this.send(data, last)
    this.sent++
  }

  /** Send `source` in chunks, the last one flagged; `limit` bytes at most (else throws). */
  async sendAll (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, limit = Infinity): Promise<number> {
    let pending: Uint8Array | undefined
    let total = 0
    for await (const part of source) {
      total += part.length
      if (total > limit) throw new Error(`more than ${limit} bytes`)
      for (let o = 0; o < part.length; o += CHUNK_DATA_BYTES) {
        if (pending !== undefined) await this.sendData(pending, false)
        pending = part.subarray(o, o + CHUNK_DATA_BYTES)
      }
    }
    await this.sendData(pending ?? new Uint8Array(), true)
    return total
  }

  /**
   * The next message or body chunk (acknowledgements are counted and skipped: an empty chunk
   * that is not the last); TunnelRejected when the tunnel failed, was tampered with or ended early.
   */
  async receive (): Promise<{ data: Uint8Array, last: boolean }> {
    for (;;) {
      const r = await this.receiveRaw()
      if (r.data.length > 0 || r.last) return r
      this.acked += ACK_EVERY
    }
  }

  private async receiveRaw (): Promise<{ data: Uint8Array, last: boolean }> {
    if (this.rx.done) throw new Error('the last chunk was already read')
    let f: TunnelFrame
    try {
      f = await this.link.pb.read({ signal: AbortSignal.timeout(this.idleMs) })
    } catch {
      throw new TunnelRejected()
    }
    if (f.type !== TunnelFrame.Type.CHUNK) throw new TunnelRejected()
    this.onSealed?.('received', f.sealed.length)
    return this.rx.open(f.sealed)
  }

  /** Every chunk's data up to the last one; `limit` bytes at most. */
  async * receiveAll (limit = Infinity): AsyncGenerator<Uint8Array> {
    let total = 0
    while (!this.rx.done) {
      const { data, last } = await this.receive()
      total += data.length
      if (total > limit) throw new Error(`the tunnel carried more than ${limit} bytes`)
      if (!last && ++this.consumed % ACK_EVERY === 0) await this.send(new Uint8Array(), false)
      if (data.length > 0) yield data
    }
  }

  /** Half-close our side; the stream ends once the other end closes too. */
  async close (): Promise<void> {
    await this.link.stream.close({ signal: AbortSignal.timeout(this.idleMs) }).catch((err: Error) => { this.link.stream.abort(err) })
  }

  abort (err: Error): void {
    this.link.stream.abort(err)
  }
}

/**
 * Padding of every frame warren writes (issue 13, item 4): each length-prefixed frame on every
 * /warren/* protocol (link, request, insert, announce, join, tunnel) totals one of
 * FRAME_SIZE_CLASSES bytes on the wire, length prefix included, so that an observer of the
 * (Noise-encrypted) stream cannot tell a request from a reply or an SSK from a URL by size.
 *
 * The true length stays where protobuf puts it (the message's fields); the padding is one
 * `bytes padding` field of the message itself, encoded by protons like any other field, and
 * ignored by receivers. Receivers keep their size caps (MAX_FRAME_BYTES, MAX_LINK_FRAME_BYTES,
 * MAX_TUNNEL_FRAME_BYTES) and do not demand padding (third-party clients may send bare frames).
 *
 * Why these sizes: docs/tunnel.md, "Frame padding" (measured histogram of a mixed workload).
 */
import { encodingLength } from 'uint8-varint'
import type { Uint8ArrayList } from 'uint8arraylist'

/**
 * Total bytes of a padded frame on the wire (varint length prefix + message), smallest first.
 * - 160: every control frame (requests, credit, not-found, all-clear, stored, ERROR, tunnel
 *   ACCEPTED and refusals) and an INSERT with its source reference;
 * - 1536: an SSK block with its headers, announce and join frames, a tunnel OPEN of a URI, a
 *   tunnel control chunk;
 * - 4608: a tunnel OPEN of a long URL, announce results with many references;
 * - 34816: a 32 KiB CHK block (DATA_FOUND, INSERT_DATA, COLLISION) with a source reference of
 *   up to ~1.9 KiB, and a bulk tunnel chunk (sized to fill it, src/tunnel/constants.ts).
 */
export const FRAME_SIZE_CLASSES = [160, 1536, 4608, 34 * 1024] as const

/** The largest padded frame: nothing warren writes may be longer (senders fit their content in it). */
export const MAX_PADDED_FRAME_BYTES = FRAME_SIZE_CLASSES[FRAME_SIZE_CLASSES.length - 1]

/**
 * Field numbers of each message's two padding fields (proto/*.proto): `padding`, and
 * `padding_wide`, whose tag is one byte longer. A length-delimited field's size jumps by a byte
 * where its length varint grows (128, 16384), so a few totals cannot be reached with one of them;
 * they always can with the other.
 */
export interface PaddingFields { padding: number, paddingWide: number }
export const LINK_FRAME_PADDING: PaddingFields = { padding: 15, paddingWide: 16 }
export const FRAME_PADDING: PaddingFields = { padding: 31, paddingWide: 2048 }
export const TUNNEL_FRAME_PADDING: PaddingFields = { padding: 15, paddingWide: 16 }

/**
 * Padding on or off, for measuring its cost (bench/tunnel.ts, docs/tunnel.md) and for proving
 * that the frame-size test notices when it is missing. Always on in a node.
 */
export const framePadding = { enabled: true }

/** A frame that no size class can hold: its sender must split or trim its content. */
export class FrameTooLarge extends Error {
  constructor (bytes: number) {
    super(`a ${bytes}-byte frame does not fit the largest padded frame size (${MAX_PADDED_FRAME_BYTES} bytes): it cannot be sent`)
    this.name = 'FrameTooLarge'
  }
}

/** How to pad a message: which field, how many bytes in it, and the total it then makes. */
export interface PaddingFit { field: keyof PaddingFields, padding: number, total: number }

/**
 * The padding for a message whose encoding without padding is `bare` bytes: which of its two
 * padding fields, and how many bytes of content (at least 1, so the field is always there), so
 * that the length-prefixed message totals exactly one size class, the smallest that can.
 * Undefined when padding is off; throws FrameTooLarge when nothing holds the message.
 */
export function paddingFor (bare: number, fields: PaddingFields): PaddingFit | undefined {
  if (!framePadding.enabled) return undefined
  for (const total of FRAME_SIZE_CLASSES) {
    for (const field of ['padding', 'paddingWide'] as const) {
      const tag = encodingLength((fields[field] << 3) | 2)
      // total = prefix(L) + L, L = bare + tag + varint(p) + p: try each width of the two varints.
      for (let pl = 1; pl <= 3; pl++) {
        for (let ll = 1; ll <= 3; ll++) {
          const p = total - ll - bare - tag - pl
          if (p < 1 || encodingLength(p) !== pl || encodingLength(bare + tag + pl + p) !== ll) continue
          return { field, padding: p, total }
        }
      }
    }
  }
  throw new FrameTooLarge(bare + encodingLength(bare))
}

/** A protons codec (encode/decode) whose messages have the two padding fields. */
export interface PaddableCodec<T extends { padding?: Uint8Array<ArrayBuffer>, paddingWide?: Uint8Array<ArrayBuffer> }> {
  encode: (obj: Partial<T>) => Uint8Array<ArrayBuffer>
  decode: (buf: Uint8Array | Uint8ArrayList, opts?: any) => T
}

/**
 * `codec` whose `encode` pads each message (through one of its padding fields) so that it
 * totals a size class once length-prefixed (pbStream adds the prefix); `decode` unchanged.
 * Any padding a relayed message arrived with is replaced, not kept.
 */
export function padded<T extends { padding?: Uint8Array<ArrayBuffer>, paddingWide?: Uint8Array<ArrayBuffer> }> (codec: PaddableCodec<T>, fields: PaddingFields): PaddableCodec<T> {
  return {
    encode: (obj) => {
      const bare = codec.encode({ ...obj, padding: undefined, paddingWide: undefined })
      const fit = paddingFor(bare.byteLength, fields)
      if (fit === undefined) return bare
      const out = codec.encode({ ...obj, padding: undefined, paddingWide: undefined, [fit.field]: new Uint8Array(fit.padding) })
      if (out.byteLength + encodingLength(out.byteLength) !== fit.total) throw new Error(`internal: padded frame is ${out.byteLength} bytes, expected a ${fit.total}-byte total`)
      return out
    },
    decode: codec.decode
  }
}

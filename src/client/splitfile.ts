/**
 * Split files with forward error correction (format: proto/splitfile.proto, design:
 * docs/fec.md).
 *
 * Insert: the plaintext is cut into CHK DATA blocks of CHK_MAX_PAYLOAD bytes, grouped into
 * segments of k data blocks; each segment gets m Reed-Solomon check blocks computed over the
 * *encrypted* data blocks, so check blocks need no key of their own and a node storing one
 * learns nothing. The last two segments are balanced (a 129-block file is 65 + 64, not
 * 128 + 1) so no segment is much weaker than the others. A top-level SPLITFILE block (size,
 * MIME type, SHA-256, layout) is what the URI names; a file small enough is carried inline
 * in that block, and a large layout is itself inserted as a split file.
 *
 * Memory is bounded whatever the file size: at most 2k encrypted blocks wait for their
 * segment, plus the segments being encoded on the FEC pool (one, or one per worker thread
 * once the codec falls behind the insert, while the next segments are cut) and their check
 * blocks; the layout (96 bytes per data block) is kept until the end.
 *
 * Fetch: per segment, the data blocks in the wanted range are fetched first, in parallel
 * with bounded concurrency, each tried BLOCK_FETCH_TRIES times; as soon as one fails the
 * segment's other blocks are fetched until any k are in hand, and the segment is decoded;
 * the blocks that could not be fetched are handed to `heal` (rebuilt and verified) to be
 * inserted again.
 * Every block is checked against its routing key, every rebuilt block too, and the whole
 * file against its SHA-256.
 */
import { concat } from 'uint8arrays/concat'
import { createHash } from 'node:crypto'
import { Splitfile } from '../../proto/splitfile.js'
import { SEGMENT_CHECK_BLOCKS, SEGMENT_DATA_BLOCKS } from '../constants.js'
import { ChkType, CHK_DECRYPT_KEY_BYTES, CHK_MAX_PAYLOAD, encodeChk } from '../keys/chk.js'
import { RoutingKey, ROUTING_KEY_BYTES } from '../keys/routing-key.js'
import { MAX_SEGMENT_BLOCKS } from './fec.js'
import { fecPool } from './fec-pool.js'
import type { ChkRef, EncodedChk } from '../keys/chk.js'
import type { SplitBlock, SplitSource } from './types.js'

/** One data ref in a layout: routing key || decryption key. */
const DATA_REF_BYTES = ROUTING_KEY_BYTES + CHK_DECRYPT_KEY_BYTES
const SEGMENT_HEADER_BYTES = 4
/** Room left in a SPLITFILE block for everything but the inline data or layout. */
const METADATA_OVERHEAD = 512
/** Largest file carried inline in its metadata block. */
export const INLINE_MAX = CHK_MAX_PAYLOAD - METADATA_OVERHEAD
/** Longest MIME type kept (longer ones are dropped: they would not fit the budget). */
export const MAX_MIME_LENGTH = 255
/** Layouts nest at most this deep (a layout of a layout of a layout...). */
const MAX_LAYOUT_DEPTH = 3
const LAYOUT_MIME = 'application/x-warren-layout'

export interface SplitfileOptions {
  mime?: string
  /** Data blocks per segment (k), default SEGMENT_DATA_BLOCKS. */
  segmentData?: number
  /** Check blocks per full segment (m), default SEGMENT_CHECK_BLOCKS. */
  segmentCheck?: number
}

/** What the inserter produced, with the ref the URI names. */
export interface SplitfileRoot extends ChkRef {
  size: number
  dataBlocks: number
  checkBlocks: number
  segments: number
}

/**
 * One segment of a layout. Its keys are built from the layout's bytes when asked for, not held:
 * a layout decoded into objects took ~500 bytes a data block of heap (15.6 MiB for a 1 GiB
 * file) for as long as the file was read, and the reading node's peak RSS grew with the file
 * (docs/benchmarks.md, "Peak RSS: the codec's memory and the layout's keys"); the bytes take
 * 96. A reader builds the keys of the segment it is reading.
 */
export class Segment {
  constructor (
    readonly index: number,
    /** Index of the segment's first data block in the file. */
    readonly firstBlock: number,
    /** Data blocks (k). */
    readonly k: number,
    /** Check blocks (m). */
    readonly m: number,
    /** The layout's bytes for this segment, past its header: k data refs, then m check keys. */
    private readonly bytes: Uint8Array
  ) {}

  /** The data blocks' refs, views of the layout. */
  data (): ChkRef[] {
    return Array.from({ length: this.k }, (_, i) => {
      const off = i * DATA_REF_BYTES
      return { routingKey: new RoutingKey(this.bytes.subarray(off, off + ROUTING_KEY_BYTES)), decryptKey: this.bytes.subarray(off + ROUTING_KEY_BYTES, off + DATA_REF_BYTES) }
    })
  }

  /** The check blocks' routing keys, views of the layout. */
  check (): RoutingKey[] {
    const base = this.k * DATA_REF_BYTES
    return Array.from({ length: this.m }, (_, i) => new RoutingKey(this.bytes.subarray(base + i * ROUTING_KEY_BYTES, base + (i + 1) * ROUTING_KEY_BYTES)))
  }
}

export interface SplitfileMeta {
  size: number
  mime: string
  sha256: Uint8Array
  inline?: Uint8Array
  segments: Segment[]
  dataBlocks: number
}

function segmentCheckCount (k: number, fullK: number, fullM: number): number {
  return Math.max(1, Math.ceil(k * fullM / fullK))
}

function validateParams (k: number, m: number): void {
  if (!Number.isInteger(k) || k < 1 || !Number.isInteger(m) || m < 1 || k + m > MAX_SEGMENT_BLOCKS) {
    throw new Error(`segment parameters must be positive integers with k + m <= ${MAX_SEGMENT_BLOCKS}, got k=${k}, m=${m}`)
  }
}

/**
 * Read `source` and yield every block of the split file (data blocks as they are cut,
 * check blocks per segment, then the layout's blocks and the metadata block last).
 * Returns the root ref.
 */
export async function * splitfileBlocks (source: SplitSource, options: SplitfileOptions = {}, depth = 0): AsyncGenerator<SplitBlock, SplitfileRoot, undefined> {
  const k = options.segmentData ?? SEGMENT_DATA_BLOCKS
  const m = options.segmentCheck ?? SEGMENT_CHECK_BLOCKS
  validateParams(k, m)
  const mime = (options.mime ?? '').length <= MAX_MIME_LENGTH ? (options.mime ?? '') : ''
  const hash = createHash('sha256')
  const buffer = new Uint8Array(CHK_MAX_PAYLOAD)
  let fill = 0
  let size = 0
  let dataBlocks = 0
  let checkBlocks = 0
  const pending: EncodedChk[] = []
  const layout: Uint8Array[] = []

  // Segments' check blocks are computed on the FEC pool, as many at once as it has threads,
  // while the next segments' data blocks are cut and inserted; they are yielded in order.
  const pool = fecPool()
  const encoding: Array<{ done: boolean, result: Promise<SplitBlock[]> }> = []
  const startSegment = (blocks: EncodedChk[]): void => {
    const index = layout.length
    layout.push(new Uint8Array(0))
    // Only the refs are kept: the blocks' bytes were yielded already and go to the pool packed.
    const refs = blocks.map((b) => ({ routingKey: b.routingKey, decryptKey: b.decryptKey }))
    const result = pool.encode(blocks.map((b) => b.block), segmentCheckCount(blocks.length, k, m)).then((checks) => {
      const part = new Uint8Array(SEGMENT_HEADER_BYTES + refs.length * DATA_REF_BYTES + checks.length * ROUTING_KEY_BYTES)
      const view = new DataView(part.buffer)
      view.setUint16(0, refs.length)
      view.setUint16(2, checks.length)
      let off = SEGMENT_HEADER_BYTES
      for (const b of refs) {
        part.set(b.routingKey.bytes, off)
        part.set(b.decryptKey, off + ROUTING_KEY_BYTES)
        off += DATA_REF_BYTES
      }
      const out: SplitBlock[] = checks.map((c) => {
        const routingKey = RoutingKey.hash(c)
        part.set(routingKey.bytes, off)
        off += ROUTING_KEY_BYTES
        // Each in a buffer of its own (fec-pool.ts): a waiting insert keeps only its block.
        return { routingKey, block: c }
      })
      layout[index] = part
      return out
    })
    const job = { done: false, result }
    result.then(() => { job.done = true }, () => { job.done = true })
    encoding.push(job)
  }
  /** Yield the check blocks of the oldest segments: those ready, or until fewer than `keep` are left encoding. */
  const flush = async function * (keep: number): AsyncGenerator<SplitBlock> {
    while (encoding.length > 0 && (encoding[0].done || encoding.length > keep)) {
      const checks = await encoding.shift()!.result
      checkBlocks += checks.length
      yield * checks
    }
  }
  // Segments encoding at once: one while the codec keeps up with the insert, up to one per pool
  // thread once it does not. Each segment encoding holds its blocks packed and, in its worker,
  // the codec's working copies (~25 MiB in all for 128 + 128 blocks of 32 KiB), and a second
  // worker costs ~15 MiB of its own; a put is usually slower than one thread's encoding
  // (10-14 MB/s, docs/fec.md), so the second segment only adds to the put node's peak RSS
  // (bench/transfer-memory.ts, docs/benchmarks.md). The codec is behind when the next segment
  // is cut (k more blocks inserted) before the oldest one's check blocks are ready; not when
  // the file's last two segments start back to back.
  let ahead = 1
  let cutAtStart = -1
  const segment = async function * (blocks: EncodedChk[]): AsyncGenerator<SplitBlock> {
    if (ahead < pool.threads && dataBlocks > cutAtStart && encoding.length >= ahead && !encoding[0].done) ahead++
    yield * flush(ahead - 1)
    cutAtStart = dataBlocks
    startSegment(blocks)
  }
  const cut = async function * (payload: Uint8Array): AsyncGenerator<SplitBlock> {
    const chk = encodeChk(ChkType.DATA, payload)
    dataBlocks++
    yield { routingKey: chk.routingKey, block: chk.block }
    pending.push(chk)
    yield * flush(Infinity)
    // Keep up to 2k blocks back so the last two segments can be balanced at the end.
    if (pending.length === 2 * k) yield * segment(pending.splice(0, k))
  }

  for await (const chunk of source) {
    hash.update(chunk)
    let offset = 0
    while (offset < chunk.length) {
      if (fill === buffer.length) {
        yield * cut(buffer)
        fill = 0
      }
      const n = Math.min(buffer.length - fill, chunk.length - offset)
      buffer.set(chunk.subarray(offset, offset + n), fill)
      fill += n
      offset += n
      size += n
    }
  }
  const sha256 = new Uint8Array(hash.digest())

  let meta: Splitfile
  if (dataBlocks === 0 && fill <= INLINE_MAX) {
    meta = { size, mime, sha256, inline: buffer.slice(0, fill), segmentData: k, segmentCheck: m, segments: 0, dataBlocks: 0 }
  } else {
    yield * cut(buffer.subarray(0, fill))
    if (pending.length > k) {
      const first = Math.ceil(pending.length / 2)
      yield * segment(pending.splice(0, first))
    }
    if (pending.length > 0) yield * segment(pending.splice(0))
    yield * flush(0)
    const bytes = concat(layout)
    meta = { size, mime, sha256, segmentData: k, segmentCheck: m, segments: layout.length, dataBlocks }
    if (bytes.length <= INLINE_MAX) {
      meta.layout = bytes
    } else {
      if (depth >= MAX_LAYOUT_DEPTH) throw new Error('file too large: layout nesting exceeds its limit')
      const nested = yield * splitfileBlocks([bytes], { mime: LAYOUT_MIME, segmentData: k, segmentCheck: m }, depth + 1)
      dataBlocks += nested.dataBlocks
      checkBlocks += nested.checkBlocks
      meta.layoutRef = concat([nested.routingKey.bytes, nested.decryptKey])
    }
  }
  const root = encodeChk(ChkType.SPLITFILE, Splitfile.encode(meta))
  yield { routingKey: root.routingKey, block: root.block }
  return { routingKey: root.routingKey, decryptKey: root.decryptKey, size, dataBlocks, checkBlocks, segments: layout.length }
}

/** Parse a layout into segments, checking it against the metadata. */
export function decodeLayout (layout: Uint8Array, dataBlocks: number, segments: number): Segment[] {
  // One copy, and every segment a view of it: a slice per key was an ArrayBuffer with its
  // backing store each, ~700 bytes a block (the layout is held while the file is read).
  const bytes = layout.slice()
  const out: Segment[] = []
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let off = 0
  let firstBlock = 0
  while (off < bytes.length) {
    if (off + SEGMENT_HEADER_BYTES > bytes.length) throw new Error('malformed split file layout: truncated segment header')
    const k = view.getUint16(off)
    const m = view.getUint16(off + 2)
    if (k < 1 || m < 1 || k + m > MAX_SEGMENT_BLOCKS) throw new Error(`malformed split file layout: segment ${out.length} has k=${k}, m=${m}`)
    off += SEGMENT_HEADER_BYTES
    const end = off + k * DATA_REF_BYTES + m * ROUTING_KEY_BYTES
    if (end > bytes.length) throw new Error(`malformed split file layout: segment ${out.length} is truncated`)
    out.push(new Segment(out.length, firstBlock, k, m, bytes.subarray(off, end)))
    off = end
    firstBlock += k
  }
  if (out.length !== segments || firstBlock !== dataBlocks) {
    throw new Error(`malformed split file layout: ${out.length} segments of ${firstBlock} data blocks, metadata says ${segments} of ${dataBlocks}`)
  }
  return out
}

/**
 * Parse a SPLITFILE payload; fetches and decodes a nested layout when the metadata names
 * one (`readNested` reads a whole split file, used for that).
 */
export async function decodeSplitfile (payload: Uint8Array, readNested: (ref: ChkRef) => Promise<Uint8Array>, depth = 0): Promise<SplitfileMeta> {
  let s: Splitfile
  try {
    s = Splitfile.decode(payload)
  } catch (err) {
    throw new Error(`malformed split file metadata: ${(err as Error).message}`, { cause: err })
  }
  if (!Number.isSafeInteger(s.size) || s.size < 0) throw new Error(`malformed split file metadata: size ${s.size}`)
  if (s.sha256.length !== 32) throw new Error('malformed split file metadata: no SHA-256')
  const base = { size: s.size, mime: s.mime, sha256: s.sha256, dataBlocks: s.dataBlocks }
  if (s.inline !== undefined) {
    if (s.inline.length !== s.size) throw new Error(`malformed split file metadata: ${s.inline.length} inline bytes, size ${s.size}`)
    return { ...base, inline: s.inline, segments: [] }
  }
  if (s.dataBlocks !== Math.max(1, Math.ceil(s.size / CHK_MAX_PAYLOAD))) {
    throw new Error(`malformed split file metadata: ${s.dataBlocks} data blocks cannot hold exactly ${s.size} bytes`)
  }
  let layout: Uint8Array | undefined = s.layout
  if (layout === undefined) {
    if (s.layoutRef?.length !== DATA_REF_BYTES) throw new Error('malformed split file metadata: neither a layout nor a layout ref')
    if (depth >= MAX_LAYOUT_DEPTH) throw new Error('malformed split file metadata: layouts nested too deep')
    layout = await readNested({ routingKey: new RoutingKey(s.layoutRef.slice(0, ROUTING_KEY_BYTES)), decryptKey: s.layoutRef.slice(ROUTING_KEY_BYTES) })
  }
  return { ...base, segments: decodeLayout(layout, s.dataBlocks, s.segments) }
}

/**
 * Reading a split file's segments (splitfile.ts writes them and decodes their metadata):
 * fetching the blocks a byte range needs, rebuilding lost ones with FEC, healing what was rebuilt.
 */
import { createHash } from 'node:crypto'
import { BLOCK_FETCH_TRIES, CLIENT_CONCURRENCY } from '../constants.js'
import { ChkType, CHK_MAX_PAYLOAD, decodeChk, verifyChkBlock } from '../keys/chk.js'
import type { RoutingKey } from '../keys/routing-key.js'
import { fecPool } from './fec-pool.js'
import type { FetchBlock } from './types.js'
import type { Segment, SplitfileMeta } from './splitfile.js'

/** Where a read hands the blocks it rebuilt from FEC, to be inserted again (Healer satisfies it). */
export interface HealSink {
  /** A block that could not be fetched, recomputed from its segment and checked against its key. */
  add: (key: RoutingKey, block: Uint8Array<ArrayBuffer>) => void
  /** Recomputing a segment's blocks failed (the read itself is not affected). */
  recomputeFailed: (err: Error) => void
}

export interface SplitfileReadOptions {
  /** Block fetches in flight at once. */
  concurrency?: number
  /** Tries per block before it counts as missing. */
  tries?: number
  /** Aborting it cancels every fetch in flight at once and starts no other. */
  signal?: AbortSignal
  /**
   * Healing (Freenet's): the blocks of a rebuilt segment that could not be fetched go here,
   * for the caller to insert again. Reading never waits for it.
   */
  heal?: HealSink
}

/** Block index and the byte range [start, end) of the file to read. */
interface Range { start: number, end: number }

/**
 * Stream the plaintext bytes [start, end) of a split file. Throws (mid-stream) an error
 * naming the segment when one cannot be rebuilt; checks the SHA-256 when reading it all.
 */
export async function * readSplitfile (meta: SplitfileMeta, fetchBlock: FetchBlock, options: SplitfileReadOptions & Partial<Range> = {}): AsyncGenerator<Uint8Array, void, undefined> {
  const start = options.start ?? 0
  const end = options.end ?? meta.size
  if (!(start >= 0 && end <= meta.size && start <= end)) throw new Error(`invalid range ${start}-${end} of a ${meta.size}-byte file`)
  const whole = start === 0 && end === meta.size
  const hash = whole ? createHash('sha256') : undefined
  if (meta.inline !== undefined) {
    const out = meta.inline.subarray(start, end)
    hash?.update(out)
    checkHash(hash, meta)
    if (out.length > 0) yield out
    return
  }
  if (start === end) return
  const P = CHK_MAX_PAYLOAD
  const firstBlock = Math.floor(start / P)
  const lastBlock = Math.floor((end - 1) / P)
  const segments = meta.segments.filter((s) => s.firstBlock <= lastBlock && s.firstBlock + s.k > firstBlock)
  const controller = new AbortController()
  const signal = options.signal === undefined ? controller.signal : AbortSignal.any([controller.signal, options.signal])
  const fetchOne = async (s: Segment): Promise<Uint8Array[]> => {
    const lo = Math.max(firstBlock, s.firstBlock) - s.firstBlock
    const hi = Math.min(lastBlock, s.firstBlock + s.k - 1) - s.firstBlock
    return await fetchSegment(meta, s, lo, hi, fetchBlock, options, signal)
  }
  try {
    let next: Promise<Uint8Array[]> | undefined = segments.length > 0 ? fetchOne(segments[0]) : undefined
    for (let i = 0; i < segments.length; i++) {
      const payloads = await next!
      // Start the next segment before handing this one out: fetching overlaps consuming.
      next = i + 1 < segments.length ? fetchOne(segments[i + 1]) : undefined
      next?.catch(() => {})
      const s = segments[i]
      const lo = Math.max(firstBlock, s.firstBlock)
      for (let b = lo; b < lo + payloads.length; b++) {
        const payload = payloads[b - lo]
        const from = Math.max(start - b * P, 0)
        const to = Math.min(end - b * P, payload.length)
        const out = payload.subarray(from, to)
        hash?.update(out)
        yield out
      }
    }
    checkHash(hash, meta)
  } finally {
    controller.abort()
  }
}

function checkHash (hash: ReturnType<typeof createHash> | undefined, meta: SplitfileMeta): void {
  if (hash === undefined) return
  const got = hash.digest()
  if (!got.equals(meta.sha256)) throw new Error('the file does not match the SHA-256 in its metadata')
}

/**
 * Recompute the blocks of a rebuilt segment (its k data blocks in hand) that could not be
 * fetched: data blocks as they are, check blocks by encoding the segment again. Each goes to
 * `heal` only if it matches its routing key, so nothing wrong is ever inserted.
 */
async function healSegment (data: Uint8Array[], m: number, keys: RoutingKey[], failed: Set<number>, heal: HealSink): Promise<void> {
  const k = data.length
  let checks: Array<Uint8Array<ArrayBuffer>> | undefined
  for (const slot of [...failed].sort((a, b) => a - b)) {
    if (slot >= k) checks ??= await fecPool().encode(data, m)
    // Rebuilt data blocks share one buffer per segment and the insert outlives this read: a
    // copy. Check blocks come in buffers of their own (fec-pool.ts).
    const block = slot < k ? new Uint8Array(data[slot]) : checks![slot - k]
    if (verifyChkBlock(keys[slot], block)) heal.add(keys[slot], block)
  }
}

/**
 * Fetch the data blocks lo..hi (segment-relative) of a segment, falling back to the rest of
 * the segment and FEC when any is missing; returns their plaintext payloads.
 */
async function fetchSegment (meta: SplitfileMeta, s: Segment, lo: number, hi: number, fetchBlock: FetchBlock, options: SplitfileReadOptions, outer: AbortSignal): Promise<Uint8Array[]> {
  const { k, m } = s
  const refs = s.data()
  const keys = [...refs.map((d) => d.routingKey), ...s.check()]
  const limit = options.concurrency ?? CLIENT_CONCURRENCY
  const tries = options.tries ?? BLOCK_FETCH_TRIES
  const controller = new AbortController()
  const signal = AbortSignal.any([controller.signal, outer])
  const slots: Array<Uint8Array | undefined> = Array.from({ length: k + m }, () => undefined)
  const failed = new Set<number>()
  const reasons = new Map<number, string>()
  const wanted = Array.from({ length: hi - lo + 1 }, (_, i) => lo + i)
  const queue = [...wanted]
  let escalated = false
  let have = 0
  const inFlight = new Set<Promise<void>>()

  const fetchSlot = async (slot: number): Promise<void> => {
    let last: Error | undefined
    for (let t = 0; t < tries; t++) {
      signal.throwIfAborted()
      try {
        const block = await fetchBlock(keys[slot], { signal })
        if (!verifyChkBlock(keys[slot], block)) throw new Error('block failed verification')
        slots[slot] = block
        have++
        return
      } catch (err) {
        if (signal.aborted) throw err
        last = err as Error
      }
    }
    failed.add(slot)
    reasons.set(slot, last?.message ?? 'unknown error')
    if (!escalated) {
      escalated = true
      // Any k blocks will do now: the rest of the data blocks first (no decode needed for
      // them), then the check blocks.
      for (let i = 0; i < k + m; i++) if (!wanted.includes(i)) queue.push(i)
    }
  }

  try {
    for (;;) {
      const wantedDone = wanted.every((i) => slots[i] !== undefined)
      if (wantedDone || (escalated && have >= k)) break
      // `escalated` is set by fetchSlot (a closure), which the rule cannot see.
      // oxlint-disable-next-line eslint/no-unmodified-loop-condition
      while (inFlight.size < limit && queue.length > 0 && (!escalated || have + inFlight.size < k)) {
        const slot = queue.shift()!
        const p: Promise<void> = fetchSlot(slot).finally(() => { inFlight.delete(p) })
        inFlight.add(p)
      }
      if (inFlight.size === 0) {
        const missing = [...failed].sort((a, b) => a - b).map((i) => i < k ? `data ${s.firstBlock + i}` : `check ${i - k}`)
        const why = [...new Set(reasons.values())].slice(0, 2).join('; ')
        throw new Error(`segment ${s.index + 1} of ${meta.segments.length} (data blocks ${s.firstBlock}-${s.firstBlock + k - 1}) cannot be rebuilt: ` +
          `${have} of its ${k + m} blocks could be fetched, ${k} are needed; missing: ${missing.join(', ')} (${why})`)
      }
      await Promise.race(inFlight)
    }
  } finally {
    controller.abort()
    await Promise.allSettled(inFlight)
  }

  let data: Array<Uint8Array | undefined> = slots
  if (!wanted.every((i) => slots[i] !== undefined)) {
    // Decoded on the FEC pool, off the main thread; aborting the read drops the job.
    data = await fecPool().reconstruct(slots, k, m, { signal: outer })
    for (const i of wanted) {
      if (!verifyChkBlock(refs[i].routingKey, data[i]!)) {
        throw new Error(`segment ${s.index + 1}: rebuilt data block ${s.firstBlock + i} does not match its key`)
      }
    }
    const heal = options.heal
    if (heal !== undefined && failed.size > 0) {
      healSegment(data as Uint8Array[], m, keys, failed, heal).catch((err: Error) => {
        heal.recomputeFailed(new Error(`segment ${s.index + 1}: healing failed: ${err.message}`))
      })
    }
  }
  return wanted.map((i) => {
    const chk = decodeChk(data[i]!, refs[i].decryptKey)
    if (chk.type !== ChkType.DATA) throw new Error(`data block ${s.firstBlock + i} is a ${ChkType[chk.type]} block`)
    const b = s.firstBlock + i
    const expected = b === meta.dataBlocks - 1 ? meta.size - b * CHK_MAX_PAYLOAD : CHK_MAX_PAYLOAD
    if (chk.payload.length !== expected) throw new Error(`data block ${b} holds ${chk.payload.length} bytes, expected ${expected}`)
    return chk.payload
  })
}

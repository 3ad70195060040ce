/**
 * The block store's layout in LevelDB (src/store/block-store.ts): `/b/<hex>` holds a block's
 * bytes and `/m/<hex>` its 28-byte metadata record; and the scan at open that rebuilds the
 * in-memory index from them and repairs what a crash or tampering left (orphans both ways,
 * undecodable records, bad keys), then evicts down to the capacity.
 */
import { Key } from 'interface-datastore'
import type { LevelDatastore } from 'datastore-level'
import type { StorePolicy, StoreEntry } from './store-policy.js'

/** What the store reports: pino loggers fit as they are. */
export interface StoreLogger {
  info: (msg: string) => void
  warn: (msg: string) => void
}

export const BLOCK_PREFIX = '/b/'
export const META_PREFIX = '/m/'
const HEX_KEY = /^[0-9a-f]{64}$/

export const blockKey = (hex: string): Key => new Key(BLOCK_PREFIX + hex)
export const metaKey = (hex: string): Key => new Key(META_PREFIX + hex)

/** What `open` found and fixed. Consistent stores report all zeros. */
export interface OpenReport {
  /** Entries loaded into the index (after repairs and trimming). */
  loaded: number
  /** Metadata records whose block was missing (deleted). */
  orphanMeta: number
  /** Blocks without a metadata record (deleted). */
  orphanBlocks: number
  /** Metadata records that did not decode, deleted with their block. */
  badMeta: number
  /** Keys under /b/ or /m/ that are not 64 lower-case hex digits (deleted). */
  badKeys: number
  /** Entries evicted because the capacity is now smaller than what was stored. */
  trimmed: number
}

// Metadata record, 28 bytes, big-endian: version u8, 3 reserved bytes, size u32,
// accessCount u32, lastAccess f64 (ms), insertedAt f64 (ms).
const META_VERSION = 1
const META_BYTES = 28
const U32_MAX = 0xffffffff

export function encodeMeta (e: StoreEntry): Uint8Array {
  const out = new Uint8Array(META_BYTES)
  const v = new DataView(out.buffer)
  v.setUint8(0, META_VERSION)
  v.setUint32(4, e.size)
  v.setUint32(8, Math.min(e.accessCount, U32_MAX))
  v.setFloat64(12, e.lastAccess)
  v.setFloat64(20, e.insertedAt)
  return out
}

/** The record, or undefined when it is not one this version wrote. */
export function decodeMeta (bytes: Uint8Array): StoreEntry | undefined {
  if (bytes.length !== META_BYTES) return undefined
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (v.getUint8(0) !== META_VERSION) return undefined
  const e: StoreEntry = {
    size: v.getUint32(4),
    accessCount: v.getUint32(8),
    lastAccess: v.getFloat64(12),
    insertedAt: v.getFloat64(20)
  }
  return Number.isFinite(e.lastAccess) && Number.isFinite(e.insertedAt) ? e : undefined
}

/** Rebuild `policy` from /m/, delete orphans both ways, then evict down to capacity. */
export async function loadIndex (ds: LevelDatastore, policy: StorePolicy, log: StoreLogger): Promise<OpenReport> {
  const report: OpenReport = { loaded: 0, orphanMeta: 0, orphanBlocks: 0, badMeta: 0, badKeys: 0, trimmed: 0 }
  const batch = ds.batch()
  const metas = new Map<string, StoreEntry>()
  const badMeta = new Set<string>()
  for await (const { key, value } of ds.query({ prefix: META_PREFIX })) {
    const hex = key.toString().slice(META_PREFIX.length)
    const entry = decodeMeta(value)
    if (!HEX_KEY.test(hex)) {
      report.badKeys++
      batch.delete(key)
    } else if (entry === undefined) {
      report.badMeta++
      badMeta.add(hex)
      batch.delete(key)
    } else {
      metas.set(hex, entry)
    }
  }
  const blocks = new Set<string>()
  for await (const key of ds.queryKeys({ prefix: BLOCK_PREFIX })) {
    const hex = key.toString().slice(BLOCK_PREFIX.length)
    if (!HEX_KEY.test(hex)) {
      report.badKeys++
      batch.delete(key)
    } else if (!metas.has(hex)) {
      if (!badMeta.has(hex)) report.orphanBlocks++
      batch.delete(key)
    } else {
      blocks.add(hex)
    }
  }
  for (const [hex, entry] of metas) {
    if (blocks.has(hex)) {
      policy.restore(hex, entry)
    } else {
      report.orphanMeta++
      batch.delete(metaKey(hex))
    }
  }
  const victims = policy.planTrim()
  for (const hex of victims) {
    batch.delete(blockKey(hex))
    batch.delete(metaKey(hex))
  }
  report.trimmed = victims.length
  await batch.commit()
  for (const hex of victims) policy.remove(hex)
  report.loaded = policy.count

  const repaired = report.orphanMeta + report.orphanBlocks + report.badMeta + report.badKeys
  if (repaired > 0) {
    log.warn(`store: repaired ${repaired} inconsistencies (metadata without block: ${report.orphanMeta}, ` +
      `block without metadata: ${report.orphanBlocks}, undecodable metadata: ${report.badMeta}, bad keys: ${report.badKeys})`)
  }
  if (report.trimmed > 0) log.info(`store: evicted ${report.trimmed} blocks to fit the capacity of ${policy.capacityBytes} bytes`)
  log.info(`store: ${report.loaded} blocks, ${policy.usedBytes} of ${policy.capacityBytes} bytes`)
  return report
}

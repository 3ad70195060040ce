/**
 * Updatable content over never-overwritten keys (pure code: no network, injected clock).
 *
 * A signed document can be an *updatable descriptor* (SskType.UPDATABLE) that tells readers
 * where the current version lives, in one of two schemes from the Freenet seeds:
 *
 * - Numbered editions: versions are the documents `<name>/0`, `<name>/1`, ... each a redirect to
 *   a CHK. A reader finds the newest without knowing it by probing forward (galloping, then a
 *   binary search between the last hit and the first miss), with a bound on requests, and
 *   remembers the newest edition it has seen so the next search starts there.
 * - Date-based redirects (Freenet 0.5's DBR / MSK): time is cut into periods of `period` seconds
 *   from `start`; the version for the period containing time t lives at `<name>/<slot start as
 *   YYYYMMDDTHHMMSSZ>`. The reader computes today's slot from its clock; a publisher may insert
 *   future slots ahead of time. Old slots are never deleted: unrequested, they die out.
 *
 * The descriptor itself is a small JSON object inside the encrypted envelope (nodes never see it).
 */
import { decodeJsonRecord } from '../util/files.js'

export type UpdatableDescriptor =
  | { kind: 'editions' }
  | { kind: 'dbr', /** Period length in seconds. */ period: number, /** Unix seconds of slot 0. */ start: number }

const VERSION = 1
/** Longest period accepted (about 10 years) and shortest (one second). */
const MAX_PERIOD = 10 * 366 * 86_400

export function encodeDescriptor (d: UpdatableDescriptor): Uint8Array {
  checkDescriptor(d)
  return new TextEncoder().encode(JSON.stringify({ v: VERSION, ...d }))
}

export function decodeDescriptor (bytes: Uint8Array): UpdatableDescriptor {
  const o = decodeJsonRecord(bytes, 'updatable descriptor')
  if (o?.v !== VERSION) throw new Error(`unsupported updatable descriptor version ${String(o?.v)}`)
  const d: UpdatableDescriptor = o.kind === 'dbr' ? { kind: 'dbr', period: o.period, start: o.start } : { kind: o.kind }
  checkDescriptor(d)
  return d
}

function checkDescriptor (d: UpdatableDescriptor): void {
  if (d.kind === 'editions') return
  if (d.kind !== 'dbr') throw new Error(`unknown updatable kind "${String((d as any).kind)}"`)
  if (!Number.isSafeInteger(d.period) || d.period < 1 || d.period > MAX_PERIOD) {
    throw new Error(`a date-based redirect period is a whole number of seconds from 1 to ${MAX_PERIOD}, got ${String(d.period)}`)
  }
  if (!Number.isSafeInteger(d.start) || d.start < 0) throw new Error(`a date-based redirect start is Unix seconds >= 0, got ${String(d.start)}`)
}

/** The document name of edition `n` of `name`. */
export function editionName (name: string, n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`an edition is a non-negative integer, got ${n}`)
  return `${name}/${n}`
}

function compactUtc (unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
}

export interface DbrSlot {
  /** Slot number (0 for the period starting at `start`). */
  index: number
  /** Unix seconds at which the slot's period starts and ends (exclusive). */
  from: number
  until: number
  /** The document name holding this period's version. */
  name: string
}

/** The slot of `name` for the instant `nowMs` (ms since the epoch). */
export function dbrSlot (name: string, d: Extract<UpdatableDescriptor, { kind: 'dbr' }>, nowMs: number): DbrSlot {
  const t = Math.floor(nowMs / 1000)
  if (t < d.start) throw new Error(`no date-based slot yet: the first period starts at ${new Date(d.start * 1000).toISOString()}`)
  const index = Math.floor((t - d.start) / d.period)
  const from = d.start + index * d.period
  return { index, from, until: from + d.period, name: `${name}/${compactUtc(from)}` }
}

export interface LatestEdition {
  /** Newest edition found, or -1 when none exists (or none was found within the bound). */
  latest: number
  /** Requests spent. */
  probes: number
}

/**
 * Find the newest existing edition, given one known to exist (`from`, or -1 for none) and a
 * predicate that asks the network. Editions are inserted in order, so existence is a prefix:
 * gallop forward (from+1, +2, +4, ...) until a miss, then binary-search the gap. At most
 * `maxProbes` requests: N editions past `from` cost about 2*log2(N).
 */
export async function findLatestEdition (exists: (n: number) => Promise<boolean>, from: number, maxProbes: number): Promise<LatestEdition> {
  let latest = Math.max(-1, from)
  let probes = 0
  let missing: number | undefined
  let step = 1
  while (probes < maxProbes) {
    const n = latest + step
    probes++
    if (await exists(n)) {
      latest = n
      step *= 2
    } else {
      missing = n
      break
    }
  }
  while (missing !== undefined && missing - latest > 1 && probes < maxProbes) {
    const mid = Math.floor((latest + missing) / 2)
    probes++
    if (await exists(mid)) latest = mid
    else missing = mid
  }
  return { latest, probes }
}

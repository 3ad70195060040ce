/**
 * Input validation for everything a user types: HTTP query parameters (the client API and the
 * gateway answer 400 with the message), command-line flags and WARREN_* variables (the CLI
 * prints the message). One module, so `htl=abc` gets the same answer everywhere.
 */
import { MAX_HTL } from '../constants.js'

/** A parameter the user got wrong; `statusCode` is what the HTTP API answers. */
export class ParamError extends Error {
  readonly statusCode = 400
  constructor (message: string) {
    super(message)
    this.name = 'ParamError'
  }
}

export interface IntegerRange {
  min: number
  max: number
}

/**
 * Hops-to-live a caller may ask for: the one limit, the node's MAX_HTL (src/constants.ts), the
 * same for `--htl`, `?htl=`, WARREN_HTL and config.json.
 */
export const HTL_RANGE: IntegerRange = { min: 0, max: MAX_HTL }

/** A whole number in `range` from text (digits only: no "1e3", "0x10" or " 5"). */
export function parseInteger (name: string, text: string | number, range: IntegerRange): number {
  const n = typeof text === 'number' ? text : /^-?\d+$/.test(text) ? Number(text) : NaN
  if (!Number.isSafeInteger(n) || n < range.min || n > range.max) {
    throw new ParamError(`${name} must be an integer from ${range.min} to ${range.max}, got "${String(text)}"`)
  }
  return n
}

/** Like parseInteger, for an optional value: undefined or '' gives undefined. */
export function optionalInteger (name: string, text: string | number | undefined, range: IntegerRange): number | undefined {
  return text === undefined || text === '' ? undefined : parseInteger(name, text, range)
}

/** An optional `htl` parameter or flag. */
export function parseHtl (text: string | number | undefined, name = 'htl'): number | undefined {
  return optionalInteger(name, text, HTL_RANGE)
}

/** Unix seconds from "1767225600" or "2026-01-01T00:00:00Z". */
export function parseTime (name: string, text: string): number {
  const t = /^\d+$/.test(text) ? Number(text) : Date.parse(text) / 1000
  if (!Number.isFinite(t) || t < 0) throw new ParamError(`${name} must be Unix seconds or an ISO 8601 date, got "${text}"`)
  return Math.floor(t)
}

/** Where a put publishes under a signed key (POST /api/v1/put and /api/v1/site, `warren put --ssk ...`). */
export type SignedTarget =
  | { kind: 'ssk' | 'ksk', dest: string }
  | { kind: 'update', dest: string, dbr?: { period?: number, start?: number }, /** ms since the epoch */ at?: number }

export type Query = Record<string, string | undefined>

/** A query parameter's value; undefined when it is absent or empty. */
export function present (q: Query, k: string): string | undefined {
  const v = q[k]
  return v === undefined || v === '' ? undefined : v
}

/**
 * The query with the signed-target fields that came as headers (`X-Warren-Update: <insert URI>`,
 * and x-warren-ssk, -ksk, -period, -start, -at): the gateway's pages send insert URIs that way,
 * so a secret never lands in a URL (server logs, browser history).
 */
export function withTargetHeaders (q: Query, headers: Record<string, string | string[] | undefined>): Query {
  const out: Query = { ...q }
  for (const k of ['ssk', 'ksk', 'update', 'period', 'start', 'at']) {
    const v = headers[`x-warren-${k}`]
    if (typeof v === 'string' && v !== '') out[k] = v
  }
  return out
}

/** The signed target named by `ssk=`, `ksk=` or `update=` (with `period`, `start`, `at`); undefined when none is. */
export function parseSignedTarget (q: Query): SignedTarget | undefined {
  const modes = (['ssk', 'ksk', 'update'] as const).filter((k) => present(q, k) !== undefined)
  if (modes.length === 0) {
    for (const k of ['period', 'start', 'at']) if (present(q, k) !== undefined) throw new ParamError(`${k} applies to update only`)
    return undefined
  }
  if (modes.length > 1) throw new ParamError(`use one of ssk, ksk and update, not ${modes.join(' and ')}`)
  const kind = modes[0]
  const dest = present(q, kind)!
  if (kind !== 'update') {
    for (const k of ['period', 'start', 'at']) if (present(q, k) !== undefined) throw new ParamError(`${k} applies to update only`)
    return { kind, dest }
  }
  const period = optionalInteger('period (seconds)', present(q, 'period'), { min: 1, max: Number.MAX_SAFE_INTEGER })
  const start = present(q, 'start')
  const at = present(q, 'at')
  return {
    kind,
    dest,
    dbr: period === undefined && start === undefined ? undefined : { period, start: start === undefined ? undefined : parseTime('start', start) },
    at: at === undefined ? undefined : parseTime('at', at) * 1000
  }
}

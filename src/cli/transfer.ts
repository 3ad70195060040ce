/**
 * Long transfers from the command line: progress bars on stderr (bytes, blocks, rate, ETA;
 * only on a terminal and never with --quiet, so scripts get clean stdout), and `put-site`:
 * upload every file of a directory, then its manifest.
 *
 * The bars consume the client's typed progress events (src/client/types.ts): the bytes sent
 * or received ('warren:file:bytes', counted on the HTTP body) and the blocks the node has
 * inserted ('warren:insert:block', streamed back by POST /api/v1/put as NDJSON lines).
 */
import { SingleBar } from 'cli-progress'
import { closeSync, constants, createReadStream, createWriteStream, open, openSync } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { Socket } from 'node:net'
import { promisify } from 'node:util'
import { join, relative, sep } from 'node:path'
import { createInterface } from 'node:readline'
import { Readable, Transform } from 'node:stream'
import type { Writable } from 'node:stream'
import { CustomProgressEvent } from 'progress-events'
import { CHK_MAX_PAYLOAD } from '../keys/chk.js'
import { mimeFor } from '../client/site-mime.js'
import { NDJSON } from '../api/server.js'
import type { ProgressEvent } from 'progress-events'

export type ApiCall = (base: string, path: string, init?: RequestInit) => Promise<Response>

/** The client's progress events as they reach the command line. */
export type TransferProgressEvents =
  /** `bytes` more sent or received (`total` so far on this body). */
  | ProgressEvent<'warren:file:bytes', { bytes: number, total: number }>
  /** The node inserted one more block (`blocks` of this file so far). */
  | ProgressEvent<'warren:insert:block', { blocks: number, bytes: number }>
  /** A peer refused a block as overloaded (its insert quota): the node tries it again after `ms`. */
  | ProgressEvent<'warren:insert:wait', { ms: number }>

export type TransferProgress = (evt: TransferProgressEvents) => void

export interface Meter {
  onProgress: TransferProgress
  stop: () => void
}

function human (n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++ }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${u[i]}`
}

/** A progress bar for `total` bytes (unknown: 0), or a no-op when quiet or not a terminal. */
export function meter (label: string, total: number, quiet = false, stream: NodeJS.WriteStream = process.stderr): Meter {
  if (quiet || ! stream.isTTY) return { onProgress: () => {}, stop: () => {} }
  const started = Date.now()
  let done = 0
  /** Blocks the node reported inserted; undefined while none was (a download: estimated from the bytes). */
  let inserted: number | undefined
  /** Until when a peer asked us to wait (an insert refused as overloaded). */
  let waitingUntil = 0
  const bar = new SingleBar({
    stream,
    // A pipe's size is unknown: no bar, percentage or ETA then.
    format: total > 0
      ? `${label} [{bar}] {percentage}% | {done} of {size} | {blocks} blocks | {rate}/s | ETA {eta_formatted}{note}`
      : `${label} {done} | {blocks} blocks | {rate}/s{note}`,
    barCompleteChar: '#',
    barIncompleteChar: '-',
    hideCursor: true,
    etaBuffer: 50,
    fps: 5
  })
  const fields = (): Record<string, string> => {
    const secs = Math.max(0.001, (Date.now() - started) / 1000)
    const note = Date.now() < waitingUntil ? ' | peers overloaded (insert quota): waiting' : ''
    return { done: human(done), size: total > 0 ? human(total) : '?', blocks: String(inserted ?? Math.ceil(done / CHK_MAX_PAYLOAD)), rate: human(done / secs), note }
  }
  bar.start(Math.max(total, 1), 0, fields())
  return {
    onProgress: (evt) => {
      if (evt.type === 'warren:file:bytes') done += evt.detail.bytes
      else if (evt.type === 'warren:insert:wait') waitingUntil = Math.max(waitingUntil, Date.now() + evt.detail.ms)
      else inserted = (inserted ?? 0) + 1
      bar.update(Math.min(done, Math.max(total, 1)), fields())
    },
    stop: () => { bar.stop() }
  }
}

/**
 * Ctrl-C (SIGINT) or SIGTERM during a transfer aborts `signal` instead of killing the process
 * mid-bar (which left the cursor hidden and line wrap off). `done()` removes the handlers.
 * A second Ctrl-C while the command tidies up exits at once (130).
 */
export function interruptible (): { signal: AbortSignal, done: () => void } {
  const ac = new AbortController()
  const onSignal = (sig: NodeJS.Signals): void => {
    if (ac.signal.aborted) process.exit(130)
    ac.abort(new CancelledError(sig))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return {
    signal: ac.signal,
    done: () => {
      process.removeListener('SIGINT', onSignal)
      process.removeListener('SIGTERM', onSignal)
    }
  }
}

/**
 * Where `warren get -o PATH` writes: a file stream, or for a FIFO (named pipe) a non-blocking
 * pipe stream. A file stream writes in libuv's threadpool, and a write to a pipe whose reader
 * stalls blocks there for good: the process could then never exit, not even on Ctrl-C (Node
 * joins the threadpool at exit). A pipe stream writes from the event loop and is destroyed at
 * once. Opening a FIFO waits for a reader (in the threadpool too): if `signal` aborts first,
 * this opens the read end itself for an instant, which lets the pending open complete.
 */
export async function openOutput (path: string, signal: AbortSignal): Promise<Writable> {
  const st = await stat(path).catch(() => undefined)
  if (st?.isFIFO() !== true) return createWriteStream(path)
  const release = (): void => {
    try {
      closeSync(openSync(path, constants.O_RDONLY | constants.O_NONBLOCK))
    } catch {}
  }
  signal.addEventListener('abort', release, { once: true })
  let fd: number
  try {
    fd = await promisify(open)(path, constants.O_WRONLY)
  } finally {
    signal.removeEventListener('abort', release)
  }
  if (signal.aborted) {
    closeSync(fd)
    throw signal.reason
  }
  return new Socket({ fd, readable: false, writable: true })
}

export class CancelledError extends Error {
  constructor (readonly signal: NodeJS.Signals) {
    super(`cancelled (${signal})`)
    this.name = 'CancelledError'
  }
}

/** Pass a stream through, reporting its bytes as 'warren:file:bytes' events. */
export function counted (source: Readable, onProgress: TransferProgress): Readable {
  let total = 0
  const t = new Transform({
    transform (chunk: Buffer, _enc, cb) {
      total += chunk.length
      onProgress(new CustomProgressEvent('warren:file:bytes', { bytes: chunk.length, total }))
      cb(null, chunk)
    }
  })
  // pipe() does not pass errors on: an aborted or failed source must fail the stream read from it.
  source.once('error', (err) => t.destroy(err))
  return source.pipe(t)
}

/** Read a streamed put's NDJSON answer: progress lines to `onProgress`, then the result (or its error). */
async function progressResult (res: Response, onProgress?: TransferProgress): Promise<unknown> {
  if (!(res.headers.get('content-type') ?? '').startsWith(NDJSON)) return await res.json()
  const lines = createInterface({ input: Readable.fromWeb(res.body as any), crlfDelay: Infinity })
  for await (const text of lines) {
    if (text === '') continue
    const m = JSON.parse(text) as { type: string, detail?: { blocks: number, bytes: number, ms: number }, result?: unknown, error?: string }
    if (m.type === 'warren:insert:block' && m.detail !== undefined) onProgress?.(new CustomProgressEvent('warren:insert:block', m.detail))
    else if (m.type === 'warren:insert:wait' && m.detail !== undefined) onProgress?.(new CustomProgressEvent('warren:insert:wait', { ms: m.detail.ms }))
    else if (m.type === 'result') return m.result
    else if (m.type === 'error') throw new Error(m.error)
  }
  throw new Error('the node closed the put without a result (did it stop?)')
}

export interface UploadResult { uri: string, size: number, blocks: number, [k: string]: unknown }

/** POST one file (or stdin) to the API's put endpoint, streaming. */
export async function uploadFile (call: ApiCall, base: string, body: Readable, o: { size?: number, name?: string, mime?: string, htl?: string, onProgress?: TransferProgress, query?: Record<string, string>, signal?: AbortSignal }): Promise<UploadResult> {
  const q = new URLSearchParams(o.query)
  if (o.htl !== undefined) q.set('htl', o.htl)
  if (o.name !== undefined) q.set('name', o.name)
  if (o.mime !== undefined) q.set('mime', o.mime)
  const qs = q.size > 0 ? `?${q.toString()}` : ''
  const res = await call(base, `/api/v1/put${qs}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', accept: NDJSON, ...(o.size === undefined ? {} : { 'content-length': String(o.size) }) },
    body: Readable.toWeb(o.onProgress === undefined ? body : counted(body, o.onProgress)) as unknown as BodyInit,
    duplex: 'half',
    signal: o.signal
  } as RequestInit)
  return await progressResult(res, o.onProgress) as UploadResult
}

/**
 * What to tell the user when a put reached no other node. A node's own inserts stay in its
 * client cache, which peers never read (issue 11, finding 6), so `minStored` 1 means some block
 * is held by this node alone and no other node can fetch the file yet.
 */
export function onlyHereWarning (result: Record<string, unknown>): string | undefined {
  if (typeof result.minStored !== 'number' || result.minStored > 1) return undefined
  return 'warning: some blocks of this file reached no other node (has this node any peers? `warren peers`); ' +
    'they stay only in this node\'s own cache, which other nodes never read. Connect to a peer and put the file again.'
}

/** Every regular file below `dir`, as "/"-separated relative paths, sorted. */
export async function walk (dir: string): Promise<string[]> {
  const out: string[] = []
  const visit = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) await visit(p)
      else if (e.isFile()) out.push(relative(dir, p).split(sep).join('/'))
    }
  }
  await visit(dir)
  return out.sort()
}

export interface SiteResult { uri: string, files: number, bytes: number, blocks: number, [k: string]: unknown }

/** Insert a directory as a site: each file, then the manifest naming them. */
export async function uploadSite (call: ApiCall, base: string, dir: string, o: { index?: string, htl?: string, quiet?: boolean, query?: Record<string, string>, signal?: AbortSignal, onProgress?: TransferProgress }): Promise<SiteResult> {
  const paths = await walk(dir)
  if (paths.length === 0) throw new Error(`${dir} has no files to insert`)
  const sizes = await Promise.all(paths.map(async (p) => (await stat(join(dir, p))).size))
  const total = sizes.reduce((a, b) => a + b, 0)
  const bar = meter('put-site', total, o.quiet)
  const entries = []
  let blocks = 0
  try {
    for (let i = 0; i < paths.length; i++) {
      const onProgress: TransferProgress = (evt) => { bar.onProgress(evt); o.onProgress?.(evt) }
      const r = await uploadFile(call, base, createReadStream(join(dir, paths[i])), { size: sizes[i], name: paths[i], htl: o.htl, onProgress, signal: o.signal })
      blocks += r.blocks
      entries.push({ path: paths[i], uri: r.uri, mime: mimeFor(paths[i]), size: sizes[i] })
    }
  } finally {
    bar.stop()
  }
  const q = new URLSearchParams(o.query)
  if (o.htl !== undefined) q.set('htl', o.htl)
  const res = await call(base, `/api/v1/site${q.size > 0 ? `?${q.toString()}` : ''}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ entries, index: o.index }), signal: o.signal })
  const site = await res.json() as { uri: string, blocks: number, [k: string]: unknown }
  return { ...site, uri: site.uri, files: paths.length, bytes: total, blocks: blocks + site.blocks }
}

/**
 * Shared fixtures of the store tests: a hand-driven clock, deterministic blocks, temp dirs,
 * a logger that records, and a raw look at what LevelDB holds.
 */
import { LevelDatastore } from 'datastore-level'
import { RoutingKey } from '../../src/keys/routing-key.js'
import { removeTempDir, tempDir as sharedTempDir } from '../helpers/temp.js'
import type { StoreLogger } from '../../src/store/layout.js'

export interface ManualClock {
  now: () => number
  advance: (ms: number) => void
}

export function manualClock (start = 1_700_000_000_000): ManualClock {
  let t = start
  return { now: () => t, advance: (ms) => { t += ms } }
}

export interface TestBlock {
  key: RoutingKey
  bytes: Uint8Array
}

/** Block `i` of `size` bytes: distinct content per `i`, keyed by its hash like a CHK. */
export function makeBlock (i: number, size: number): TestBlock {
  const bytes = new Uint8Array(size)
  const view = new DataView(bytes.buffer)
  for (let off = 0; off + 4 <= size; off += 4) view.setUint32(off, (i * 2654435761 + off) >>> 0)
  if (size >= 4) view.setUint32(0, i)
  return { key: RoutingKey.hash(bytes), bytes }
}

export function makeBlocks (n: number, size: number): TestBlock[] {
  return Array.from({ length: n }, (_, i) => makeBlock(i, size))
}

/** The verifier the node uses for CHK-style blocks: the key is the hash of the bytes. */
export function hashMatches (hex: string, bytes: Uint8Array): boolean {
  return RoutingKey.hash(bytes).hex === hex
}

export interface RecordingLogger extends StoreLogger {
  lines: string[]
}

export function recordingLogger (): RecordingLogger {
  const lines: string[] = []
  return { lines, info: (msg) => { lines.push(`info ${msg}`) }, warn: (msg) => { lines.push(`warn ${msg}`) } }
}

export async function tempDir (): Promise<string> {
  return await sharedTempDir('warren-store-test-')
}

export async function removeDir (dir: string): Promise<void> {
  await removeTempDir(dir)
}

/** Open the store's directory directly (the store must be closed) and run `fn` on it. */
export async function withRawDatastore<T> (dir: string, fn: (ds: LevelDatastore) => Promise<T>): Promise<T> {
  const ds = new LevelDatastore(dir)
  await ds.open()
  try {
    return await fn(ds)
  } finally {
    await ds.close()
  }
}

/** The hex names under /b/ and /m/ as LevelDB holds them. */
export async function rawNames (dir: string): Promise<{ blocks: string[], metas: string[] }> {
  return withRawDatastore(dir, async (ds) => {
    const names = async (prefix: string): Promise<string[]> => {
      const out: string[] = []
      for await (const key of ds.queryKeys({ prefix })) out.push(key.toString().slice(prefix.length))
      return out.sort()
    }
    return { blocks: await names('/b/'), metas: await names('/m/') }
  })
}

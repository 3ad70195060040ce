/**
 * Test helpers for the client: deterministic file contents, chunked sources and an in-memory
 * block store standing in for the network.
 */
import { createCipheriv } from 'node:crypto'
import { sha256 } from '../../src/keys/routing-key.js'
import { FileSplitter } from './manifest-tree.js'
import type { SplitOptions } from './manifest-tree.js'
import type { FetchBlock } from '../../src/client/types.js'
import type { ChkUri } from '../../src/keys/uri.js'

/** `length` pseudo-random bytes determined by `seed` (a ChaCha20 keystream). */
export function fileBytes (length: number, seed: string): Uint8Array {
  const cipher = createCipheriv('chacha20', sha256(new TextEncoder().encode(seed)), new Uint8Array(16))
  return new Uint8Array(cipher.update(new Uint8Array(length)))
}

/** Feed `data` in chunks of `size` bytes (the last one shorter). */
export async function * chunks (data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < data.length; off += size) yield data.subarray(off, off + size)
}

export class MemoryStore {
  readonly blocks = new Map<string, Uint8Array>()
  /** Routing keys in the order they were added (repeats included). */
  readonly order: string[] = []

  readonly fetch: FetchBlock = async (key) => {
    const block = this.blocks.get(key.hex)
    if (block == null) throw new Error('block not in store')
    return block
  }
}

export interface Inserted {
  uri: ChkUri
  store: MemoryStore
  splitter: FileSplitter
}

/** Split `data` (fed in `chunkSize` pieces) into a fresh memory store. */
export async function insert (data: Uint8Array, chunkSize = 64 * 1024, options?: SplitOptions): Promise<Inserted> {
  const store = new MemoryStore()
  const splitter = new FileSplitter(chunks(data, chunkSize), options)
  for await (const { routingKey, block } of splitter.blocks()) {
    store.blocks.set(routingKey.hex, block)
    store.order.push(routingKey.hex)
  }
  return { uri: splitter.uri, store, splitter }
}

export async function collect (source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const part of source) parts.push(part)
  return new Uint8Array(Buffer.concat(parts))
}

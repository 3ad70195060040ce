/**
 * File-level client over the warren service: `put` splits a stream into CHK blocks plus
 * manifests and inserts them with bounded concurrency (memory stays at a few blocks);
 * `open` resolves a URI and streams the plaintext back in order.
 */
import { KeyType } from '../../proto/warren.js'
import { CLIENT_CONCURRENCY } from '../constants.js'
import { formatUri } from '../keys/uri.js'
import { assembleFile } from './assemble.js'
import { FileSplitter } from './split.js'
import type { SplitSource } from './split.js'
import type { WarrenService } from '../protocol/warren-service.js'

export interface PutResult {
  uri: string
  size: number
  blocks: number
  /** Blocks whose key already existed in the network (identical content; not an error). */
  collisions: number
  /** Fewest nodes that stored any one block (the weakest block's replication). */
  minStored: number
}

export interface PutOptions {
  htl?: number
  concurrency?: number
  onBlock?: (done: number) => void
}

export interface OpenFile {
  size: number
  stream: () => AsyncGenerator<Uint8Array>
}

export class WarrenClient {
  constructor (private readonly service: WarrenService, private readonly defaults: { htl: number, concurrency?: number }) {}

  async put (source: SplitSource, options: PutOptions = {}): Promise<PutResult> {
    const htl = options.htl ?? this.defaults.htl
    const limit = options.concurrency ?? this.defaults.concurrency ?? CLIENT_CONCURRENCY
    const splitter = new FileSplitter(source)
    const inFlight = new Set<Promise<void>>()
    let failure: Error | undefined
    let blocks = 0
    let collisions = 0
    let minStored = Infinity
    for await (const { routingKey, block } of splitter.blocks()) {
      if (failure !== undefined) break
      const p = this.service.insert(routingKey, { type: KeyType.CHK, data: block, pubkey: new Uint8Array(), signature: new Uint8Array(), headers: new Uint8Array() }, { htl })
        .then((r) => {
          blocks++
          if (r.collision) collisions++
          else minStored = Math.min(minStored, r.stored)
          options.onBlock?.(blocks)
        }, (err: Error) => { failure ??= new Error(`insert of block ${routingKey.hex.slice(0, 16)}… failed: ${err.message}`) })
        .finally(() => { inFlight.delete(p) })
      inFlight.add(p)
      if (inFlight.size >= limit) await Promise.race(inFlight)
    }
    await Promise.all(inFlight)
    if (failure !== undefined) throw failure
    return { uri: formatUri(splitter.uri), size: splitter.size, blocks, collisions, minStored: minStored === Infinity ? 0 : minStored }
  }

  /** Resolve `uri` (reads its root block) and return its size and a stream of its bytes. */
  async open (uri: string, options: { htl?: number, concurrency?: number, signal?: AbortSignal } = {}): Promise<OpenFile> {
    const htl = options.htl ?? this.defaults.htl
    let gotSize!: (n: number) => void
    const sizeKnown = new Promise<number>((resolve) => { gotSize = resolve })
    const gen = assembleFile(uri, async (key) => (await this.service.request(key, { htl })).block.data, {
      concurrency: options.concurrency ?? this.defaults.concurrency ?? CLIENT_CONCURRENCY,
      signal: options.signal,
      onSize: (n) => { gotSize(n) }
    })
    const first = gen.next()
    const size = await Promise.race([sizeKnown, first.then(async () => await sizeKnown)])
    return {
      size,
      stream: async function * () {
        const r = await first
        if (r.done === true) return
        yield r.value
        yield * gen
      }
    }
  }

  /** Fetch a whole file into memory (small files, tests). */
  async get (uri: string, options: { htl?: number } = {}): Promise<Uint8Array> {
    const f = await this.open(uri, options)
    const out = new Uint8Array(f.size)
    let off = 0
    for await (const chunk of f.stream()) {
      out.set(chunk, off)
      off += chunk.length
    }
    return out
  }
}

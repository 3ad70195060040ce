/**
 * File-level client over the warren service: `put` splits a stream into a FEC split file
 * (src/client/splitfile.ts) and inserts it with bounded concurrency (memory stays at a few
 * segments); `open` resolves a URI (file, site path) and streams any byte range back, and
 * inserts again the blocks it had to rebuild from FEC (healing).
 */
import { CLIENT_CONCURRENCY } from '../constants.js'
import { ChkType, encodeChk } from '../keys/chk.js'
import { formatUri, parseUri } from '../keys/uri.js'
import { siteBlocks } from './site.js'
import { splitfileBlocks } from './splitfile.js'
import { chkBlock, insertBlocks } from './splitfile-insert.js'
import { openContent } from './splitfile-open.js'
import { Healer } from './heal.js'
import type { SiteEntry } from './site.js'
import type { SplitSource } from './split.js'
import type { InsertProgress } from './splitfile-insert.js'
import type { OpenedContent, OpenOptions } from './splitfile-open.js'
import type { WarrenService } from '../protocol/service.js'
import type { RoutingKey } from '../keys/routing-key.js'

export interface PutResult {
  uri: string
  size: number
  blocks: number
  /** Blocks whose key already existed in the network (identical content; not an error). */
  collisions: number
  /** Fewest nodes that stored any one block (the weakest block's replication). */
  minStored: number
  /** FEC layout: data and check blocks, segments (src/client/splitfile.ts). */
  dataBlocks?: number
  checkBlocks?: number
  segments?: number
}

export interface PutOptions {
  htl?: number
  concurrency?: number
  onBlock?: (done: number) => void
  onProgress?: (p: InsertProgress) => void
  /** MIME type recorded in the metadata. */
  mime?: string
  /** FEC segment size (k data + m check blocks); defaults in src/constants.ts. */
  segmentData?: number
  segmentCheck?: number
}

export type OpenFile = OpenedContent

export class WarrenClient {
  /** Resolves SSK/KSK URIs to the CHK they lead to (set by the node: src/client/resolve.ts). */
  resolve?: OpenOptions['resolve']

  /** Observer of every block request `open` makes (the gateway's recent-request stats). */
  onRequest?: (ok: boolean, hops: number) => void

  /** Inserts again the blocks that fetches had to rebuild from FEC (healing, src/client/heal.ts). */
  readonly healer: Healer

  constructor (private readonly service: WarrenService, private readonly defaults: { htl: number, concurrency?: number }) {
    this.healer = new Healer(async (key, block) => await this.service.insert(key, chkBlock(block), { htl: this.defaults.htl }))
  }

  async put (source: SplitSource, options: PutOptions = {}): Promise<PutResult> {
    const htl = options.htl ?? this.defaults.htl
    const concurrency = options.concurrency ?? this.defaults.concurrency ?? CLIENT_CONCURRENCY
    const gen = splitfileBlocks(source, { mime: options.mime, segmentData: options.segmentData, segmentCheck: options.segmentCheck })
    const { result, stats } = await insertBlocks(gen, async (key, block) => await this.service.insert(key, block, { htl }), {
      concurrency,
      onProgress: (p) => { options.onBlock?.(p.blocks); options.onProgress?.(p) }
    })
    return { uri: formatUri({ type: 'CHK', routingKey: result.routingKey, decryptKey: result.decryptKey }), size: result.size, ...stats, dataBlocks: result.dataBlocks, checkBlocks: result.checkBlocks, segments: result.segments }
  }

  /** Insert a site manifest over files already inserted (src/client/site.ts). */
  async putSite (entries: SiteEntry[], options: { htl?: number, index?: string } = {}): Promise<{ uri: string, blocks: number }> {
    const htl = options.htl ?? this.defaults.htl
    const { result, stats } = await insertBlocks(siteBlocks(entries, options.index), async (key, block) => await this.service.insert(key, block, { htl }))
    return { uri: formatUri({ type: 'CHK', ...result }), blocks: stats.blocks }
  }

  /**
   * Insert a redirect: a one-block CHK whose content is `target` (any warren URI). Readers
   * follow it (at most MAX_REDIRECTS in a row), so any key can point at any other.
   */
  async putRedirect (target: string, options: { htl?: number } = {}): Promise<{ uri: string, target: string }> {
    const canonical = formatUri(parseUri(target))
    const c = encodeChk(ChkType.REDIRECT, new TextEncoder().encode(canonical))
    await this.service.insert(c.routingKey, chkBlock(c.block), { htl: options.htl ?? this.defaults.htl })
    return { uri: formatUri({ type: 'CHK', routingKey: c.routingKey, decryptKey: c.decryptKey }), target: canonical }
  }

  /** Resolve `uri` (reads its root block, and a site's manifest) and return its size, type and a stream of any range. */
  async open (uri: string, options: { htl?: number, concurrency?: number, signal?: AbortSignal, onBlock?: OpenOptions['onBlock'], heal?: boolean } = {}): Promise<OpenFile> {
    const htl = options.htl ?? this.defaults.htl
    const fetchBlock = async (key: RoutingKey): Promise<Uint8Array> => {
      try {
        const r = await this.service.request(key, { htl })
        this.onRequest?.(true, r.hops)
        return r.block.data
      } catch (err) {
        this.onRequest?.(false, (err as { hops?: number }).hops ?? 0)
        throw err
      }
    }
    return await openContent(uri, fetchBlock, {
      concurrency: options.concurrency ?? this.defaults.concurrency ?? CLIENT_CONCURRENCY,
      signal: options.signal,
      onBlock: options.onBlock,
      heal: options.heal === false ? undefined : this.healer.add,
      onHealError: this.healer.recomputeFailed,
      resolve: this.resolve
    })
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

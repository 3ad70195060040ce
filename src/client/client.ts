/**
 * File-level client over the block network: `put` splits a stream into a FEC split file
 * (src/client/splitfile.ts) and inserts it with bounded concurrency (memory stays at a few
 * segments); `open` resolves a URI (file, site path, signed key) and streams any byte range
 * back, and inserts again the blocks it had to rebuild from FEC (healing).
 *
 * Every call takes `signal` and `onProgress` (Helia style): aborting a read or an insert
 * cancels its network operations in flight at once. Every progress event of every call is
 * also dispatched as this client's 'progress' event, for node-wide observers.
 */
import { TypedEventEmitter } from '@libp2p/interface'
import { CustomProgressEvent } from 'progress-events'
import { CLIENT_CONCURRENCY } from '../constants.js'
import { ChkType, encodeChk } from '../keys/chk.js'
import { formatUri, parseUri } from '../keys/uri.js'
import { siteBlocks } from './site.js'
import { chkBlock, insertBlocks, insertFile } from './splitfile-insert.js'
import { openContent } from './open.js'
import { Healer } from './heal.js'
import type { HealerOptions } from './heal.js'
import type { SiteEntry } from './site.js'
import type { PutResult } from './splitfile-insert.js'
import type { SplitfileOptions } from './splitfile.js'
import type { OpenedContent, ResolveUri } from './open.js'
import type { ClientOptions, ClientProgressEvents, SplitSource } from './types.js'
import type { BlockNetwork } from '../protocol/types.js'
import type { RoutingKey } from '../keys/routing-key.js'

export type { PutResult }

export interface WarrenClientComponents {
  network: BlockNetwork
  /** Follows SSK/KSK URIs to the CHK they lead to (KeyClient.resolveToChk); without it only CHK URIs open. */
  resolve?: ResolveUri
}

export interface WarrenClientInit {
  /** Default hops-to-live of inserts and requests. */
  htl: number
  /** Default block operations in flight per call (CLIENT_CONCURRENCY). */
  concurrency?: number
  /** Healing queue and concurrency (src/client/heal.ts). */
  healer?: Omit<HealerOptions, 'onError'>
  /**
   * Files larger than this are not kept in the node's client cache (NetworkOptions.keep): a
   * put keeps the blocks of its first keepMaxBytes, a get keeps nothing of such a file. Default:
   * no limit. The node sets it to its client cache's size / CLIENT_CACHE_KEEP_DIVISOR.
   */
  keepMaxBytes?: number
}

export interface WarrenClientEvents {
  /** Every progress event of every call (the gateway's recent-request statistics listen here). */
  progress: CustomEvent<ClientProgressEvents>
}

export interface PutOptions extends ClientOptions, SplitfileOptions {
  htl?: number
  concurrency?: number
}

export interface OpenFileOptions extends ClientOptions {
  htl?: number
  concurrency?: number
  /** Insert again the blocks rebuilt from FEC (default true). */
  heal?: boolean
}

/** An opened file; its stream emits 'warren:file:bytes' as bytes are delivered. */
export type OpenFile = OpenedContent

export class WarrenClient extends TypedEventEmitter<WarrenClientEvents> {
  /** Inserts again the blocks that fetches had to rebuild from FEC (healing, src/client/heal.ts). */
  readonly healer: Healer
  private readonly network: BlockNetwork
  private readonly resolveUri?: ResolveUri
  private readonly htl: number
  private readonly concurrency: number
  private readonly keepMaxBytes: number

  constructor (components: WarrenClientComponents, init: WarrenClientInit) {
    super()
    this.network = components.network
    this.resolveUri = components.resolve
    this.htl = init.htl
    this.concurrency = init.concurrency ?? CLIENT_CONCURRENCY
    this.keepMaxBytes = init.keepMaxBytes ?? Infinity
    this.healer = new Healer(async (key, block) => await this.network.insert(key, chkBlock(block), { htl: this.htl }), {
      ...init.healer,
      onError: (key, error) => { this.emitProgress(new CustomProgressEvent('warren:heal:error', { key, error })) }
    })
  }

  /** One listener for a call: its own `onProgress`, then this client's 'progress' event. */
  private progress (options: ClientOptions): (evt: ClientProgressEvents) => void {
    return (evt) => {
      options.onProgress?.(evt)
      this.emitProgress(evt)
    }
  }

  private emitProgress (evt: ClientProgressEvents): void {
    this.safeDispatchEvent('progress', { detail: evt })
  }

  async put (source: SplitSource, options: PutOptions = {}): Promise<PutResult> {
    return await insertFile(this.network, source, {
      ...options,
      htl: options.htl ?? this.htl,
      concurrency: options.concurrency ?? this.concurrency,
      keepMaxBytes: this.keepMaxBytes,
      onProgress: this.progress(options)
    })
  }

  /** Insert a site manifest over files already inserted (src/client/site.ts). */
  async putSite (entries: SiteEntry[], options: ClientOptions & { htl?: number, index?: string } = {}): Promise<{ uri: string, blocks: number }> {
    const { result, stats } = await insertBlocks(siteBlocks(entries, options.index), this.network, {
      htl: options.htl ?? this.htl,
      concurrency: this.concurrency,
      signal: options.signal,
      onProgress: this.progress(options)
    })
    return { uri: formatUri({ type: 'CHK', ...result }), blocks: stats.blocks }
  }

  /**
   * Insert a redirect: a one-block CHK whose content is `target` (any warren URI). Readers
   * follow it (at most MAX_REDIRECTS in a row), so any key can point at any other.
   */
  async putRedirect (target: string, options: ClientOptions & { htl?: number } = {}): Promise<{ uri: string, target: string }> {
    const canonical = formatUri(parseUri(target))
    const c = encodeChk(ChkType.REDIRECT, new TextEncoder().encode(canonical))
    await this.network.insert(c.routingKey, chkBlock(c.block), { htl: options.htl ?? this.htl, signal: options.signal, onProgress: this.progress(options) })
    return { uri: formatUri({ type: 'CHK', routingKey: c.routingKey, decryptKey: c.decryptKey }), target: canonical }
  }

  /**
   * Resolve `uri` (reads its root block, a site's manifest, follows signed keys) and return
   * its size, type and a stream of any range. Aborting `options.signal` cancels every block
   * request in flight for it, now or while its stream is read.
   */
  async open (uri: string, options: OpenFileOptions = {}): Promise<OpenFile> {
    const htl = options.htl ?? this.htl
    const onProgress = this.progress(options)
    // Decided once the file's size is known (its root and manifest blocks are kept).
    let keep = true
    const fetchBlock = async (key: RoutingKey, { signal }: { signal: AbortSignal }): Promise<Uint8Array> => {
      try {
        const r = await this.network.request(key, { htl, signal, onProgress, keep })
        onProgress(new CustomProgressEvent('warren:file:block', { key, ok: true, hops: r.hops }))
        return r.block.data
      } catch (err) {
        if (!signal.aborted) onProgress(new CustomProgressEvent('warren:file:block', { key, ok: false, hops: (err as { hops?: number }).hops ?? 0 }))
        throw err
      }
    }
    const file = await openContent(uri, fetchBlock, {
      concurrency: options.concurrency ?? this.concurrency,
      signal: options.signal,
      heal: options.heal === false ? undefined : this.healer,
      resolve: this.resolveUri
    })
    keep = file.size <= this.keepMaxBytes
    return {
      ...file,
      stream: async function * (range) {
        let total = 0
        for await (const chunk of file.stream(range)) {
          total += chunk.length
          onProgress(new CustomProgressEvent('warren:file:bytes', { bytes: chunk.length, total }))
          yield chunk
        }
      }
    }
  }

  /** Fetch a whole file into memory (small files, tests). */
  async get (uri: string, options: OpenFileOptions = {}): Promise<Uint8Array> {
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

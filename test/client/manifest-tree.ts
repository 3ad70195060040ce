/**
 * Test fixture: a writer of the manifest-tree file format (DATA blocks named by a balanced tree
 * of MANIFEST blocks, src/client/manifest.ts). The node inserts FEC split files
 * (src/client/splitfile.ts) and only reads this older format (src/client/assemble.ts through
 * src/client/open.ts), so the writer lives here, to build the files the reader's tests read.
 *
 * Blocks come out in dependency order (every block before the manifest that names it; the root
 * last). A file that fits one CHK payload is one DATA block.
 */
import { ChkType, CHK_MAX_PAYLOAD, encodeChk } from '../../src/keys/chk.js'
import { encodeManifest, MANIFEST_FANOUT, MAX_MANIFEST_HEIGHT } from '../../src/client/manifest.js'
import type { ChkRef } from '../../src/keys/chk.js'
import type { RoutingKey } from '../../src/keys/routing-key.js'
import type { ChkUri } from '../../src/keys/uri.js'
import type { SplitBlock, SplitSource } from '../../src/client/types.js'


export interface SplitOptions {
  /**
   * Refs per manifest, 1 < fanout <= MANIFEST_FANOUT (the default). Readers accept any
   * fan-out; a small one lets tests build deep trees from small files.
   */
  fanout?: number
}

interface Level {
  refs: ChkRef[]
  size: number
}

/** Splits one file; iterate `blocks()` once, then read `uri`. */
export class FileSplitter {
  private readonly source: SplitSource
  private readonly fanout: number
  private readonly levels: Level[] = []
  private started = false
  private _uri?: ChkUri
  private _size = 0
  private _blockCount = 0

  constructor (source: SplitSource, options: SplitOptions = {}) {
    const fanout = options.fanout ?? MANIFEST_FANOUT
    if (!Number.isInteger(fanout) || fanout < 2 || fanout > MANIFEST_FANOUT) {
      throw new Error(`fanout must be an integer in 2..${MANIFEST_FANOUT}, got ${fanout}`)
    }
    this.source = source
    this.fanout = fanout
  }

  /** The file's URI; available once `blocks()` has run to completion. */
  get uri (): ChkUri {
    if (this._uri == null) throw new Error('the file URI is known only after all blocks have been produced')
    return this._uri
  }

  /** Plaintext bytes read so far (the file size once done). */
  get size (): number {
    return this._size
  }

  /** Blocks yielded so far, data and manifests. */
  get blockCount (): number {
    return this._blockCount
  }

  /** Read the source and yield every block of the file; returns the URI. */
  async * blocks (): AsyncGenerator<SplitBlock, ChkUri, undefined> {
    if (this.started) throw new Error('a FileSplitter can be iterated only once')
    this.started = true

    const buffer = new Uint8Array(CHK_MAX_PAYLOAD)
    let fill = 0
    for await (const chunk of this.source) {
      let offset = 0
      while (offset < chunk.length) {
        // A full buffer is sealed only once more data arrives: a file of exactly one payload
        // must stay a single DATA block with no manifest.
        if (fill === buffer.length) {
          yield * this.addData(buffer)
          fill = 0
        }
        const n = Math.min(buffer.length - fill, chunk.length - offset)
        buffer.set(chunk.subarray(offset, offset + n), fill)
        fill += n
        offset += n
        this._size += n
      }
    }

    if (this.levels.length === 0) {
      const chk = encodeChk(ChkType.DATA, buffer.subarray(0, fill))
      yield this.emit(chk)
      this._uri = { type: 'CHK', routingKey: chk.routingKey, decryptKey: chk.decryptKey }
      return this._uri
    }
    yield * this.addData(buffer.subarray(0, fill))

    // Seal the partial manifests bottom-up; the topmost one is the root.
    for (let height = 0; ; height++) {
      const level = this.levels[height]
      const { chk, block } = this.seal(height, level)
      yield block
      if (height === this.levels.length - 1) {
        this._uri = { type: 'CHK', routingKey: chk.routingKey, decryptKey: chk.decryptKey }
        return this._uri
      }
      yield * this.addRef(height + 1, chk, level.size)
    }
  }

  private * addData (payload: Uint8Array): Generator<SplitBlock> {
    const chk = encodeChk(ChkType.DATA, payload)
    yield this.emit(chk)
    yield * this.addRef(0, chk, payload.length)
  }

  /** Append a ref to a level, sealing full manifests upwards as needed. */
  private * addRef (height: number, ref: ChkRef, size: number): Generator<SplitBlock> {
    for (;;) {
      const level = this.levels[height] ??= { refs: [], size: 0 }
      if (level.refs.length < this.fanout) {
        level.refs.push({ routingKey: ref.routingKey, decryptKey: ref.decryptKey })
        level.size += size
        return
      }
      const { chk, block } = this.seal(height, level)
      this.levels[height] = { refs: [{ routingKey: ref.routingKey, decryptKey: ref.decryptKey }], size }
      yield block
      ref = chk
      size = level.size
      height++
    }
  }

  private seal (height: number, level: Level): { chk: ChkRef, block: SplitBlock } {
    if (height > MAX_MANIFEST_HEIGHT) throw new Error(`file too large: manifest tree exceeds height ${MAX_MANIFEST_HEIGHT}`)
    const chk = encodeChk(ChkType.MANIFEST, encodeManifest({ size: level.size, height, refs: level.refs }))
    return { chk, block: this.emit(chk) }
  }

  private emit (chk: { routingKey: RoutingKey, block: Uint8Array<ArrayBuffer> }): SplitBlock {
    this._blockCount++
    return { routingKey: chk.routingKey, block: chk.block }
  }
}

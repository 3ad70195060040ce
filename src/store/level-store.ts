/**
 * The LevelDB side of the block store (./block-store.ts extends it): the database, the one
 * queue every write goes through, and the reads of block bytes.
 *
 * A full disk: once a LevelDB compaction fails (ENOSPC, I/O error) LevelDB repeats that error on
 * every write until the database is reopened. A failed write marks the store failed, and each
 * later write reopens the database first as soon as the disk has room again (`recover`): no
 * restart. Reads go on meanwhile.
 */
import { readdir, stat, statfs } from 'node:fs/promises'
import { join } from 'node:path'
import { blockKey } from './layout.js'
import { STORE_WRITE_BUFFER_BYTES } from '../constants.js'
import type { LevelDatastore } from 'datastore-level'
import type { StoreLogger } from './layout.js'

export interface LevelOptions {
  writeBufferSize?: number
  compression?: boolean
}

/**
 * The store's LevelDB settings: a larger memtable (STORE_WRITE_BUFFER_BYTES), and no Snappy
 * compression: CHK blocks are encrypted and SSK data is too, so compressing them only costs
 * CPU. Tables written earlier with compression still read (LevelDB flags it per block).
 */
export const LEVELDB_OPTIONS: Required<LevelOptions> = { writeBufferSize: STORE_WRITE_BUFFER_BYTES, compression: false }

function isNotFound (err: unknown): boolean {
  return (err as { name?: unknown } | null)?.name === 'NotFoundError'
}

function errorText (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** The error a write reports once the store has failed to write (disk full, I/O error). */
export class StoreWriteError extends Error {
  constructor (message: string, cause: unknown) {
    super(message, { cause })
    this.name = 'StoreWriteError'
  }
}

export class LevelStore {
  readonly dir: string
  protected readonly ds: LevelDatastore
  protected readonly log: StoreLogger
  private tail: Promise<unknown> = Promise.resolve()
  protected closing?: Promise<void>
  /**
   * The write error LevelDB now repeats on every write: after a failed compaction (disk full,
   * I/O error) it keeps its background error until the database is reopened. Set on a failed
   * write; the next write reopens the database first (see `recover`).
   */
  private failed?: unknown

  protected constructor (dir: string, ds: LevelDatastore, log: StoreLogger) {
    this.dir = dir
    this.ds = ds
    this.log = log
  }

  /** The block's bytes as a plain Uint8Array (LevelDB hands out Buffers), or undefined. */
  protected async readBlock (hex: string): Promise<Uint8Array | undefined> {
    try {
      const b = await this.ds.get(blockKey(hex))
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
    } catch (err) {
      if (isNotFound(err)) return undefined
      throw err
    }
  }

  /**
   * Run the write `fn` after every write queued before it (`onTurn` first, as its turn
   * comes, before any await). A write that fails marks the store
   * failed; the next write first reopens the database (`recover`), so a full disk that was
   * freed, or a passing I/O error, costs the writes in between and no restart.
   */
  protected async serial<T> (fn: () => Promise<T>, onTurn?: () => void): Promise<T> {
    const run = this.tail.then(async () => {
      onTurn?.()
      try {
        await this.recover()
        return await fn()
      } catch (err) {
        if (!isNotFound(err)) this.failed ??= err
        throw new StoreWriteError(`the block store could not write in ${this.dir} (${String(err)}); a disk that is full must be given space`, err)
      }
    })
    this.tail = run.catch(() => {})
    return run
  }

  /**
   * After a failed write: close and reopen the database (LevelDB replays its log and forgets
   * the error), but only once the disk has room for the replay (the size of the write-ahead
   * logs): reopening on a still-full disk could fail half-way and leave the store closed for
   * reads too. Throws while the store is still failed.
   */
  private async recover (): Promise<void> {
    const failed = this.failed
    if (failed === undefined || this.closing !== undefined) return
    const { free, needed } = await this.room()
    if (free < needed) {
      throw new Error(`disk still full: ${free} bytes free in ${this.dir}, ${needed} needed to reopen the store (first error: ${errorText(failed)})`)
    }
    await this.ds.close()
    await this.ds.open()
    this.failed = undefined
    this.log.info(`store: reopened after a write error (${errorText(failed)})`)
  }

  /** Bytes free on the store's file system, and what a reopen needs: the logs' size, plus 1 MiB. */
  private async room (): Promise<{ free: number, needed: number }> {
    const fs = await statfs(this.dir)
    let logs = 0
    for (const name of await readdir(this.dir)) {
      if (name.endsWith('.log')) logs += (await stat(join(this.dir, name))).size
    }
    return { free: fs.bavail * fs.bsize, needed: logs + 1024 * 1024 }
  }

  protected assertOpen (): void {
    if (this.closing !== undefined) throw new Error('the block store is closed')
  }
}

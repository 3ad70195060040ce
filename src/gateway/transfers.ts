/**
 * This node's uploads and downloads, as fred's queue page lists them: what, how far, the result
 * and its URI. Kept in the data dir's transfers.json (written atomically when a transfer starts
 * and ends, not on every block), so the list survives restarts; a transfer that was running when
 * the node stopped is shown as interrupted.
 */
import { join } from 'node:path'
import { readJsonList, writeFileAtomic } from '../util/files.js'

export const TRANSFERS_FILE = 'transfers.json'
/** Entries kept (the oldest finished ones go first). */
export const MAX_TRANSFERS = 200

export interface Transfer {
  id: number
  kind: 'upload' | 'download'
  /** File name, or the URI fetched. */
  name: string
  /** Bytes in all, when known. */
  size?: number
  /** Blocks inserted so far (uploads). */
  blocks: number
  /** Bytes received so far (downloads). */
  bytes: number
  state: 'running' | 'done' | 'failed' | 'interrupted'
  uri?: string
  error?: string
  started: number
  finished?: number
}

export class TransferLog {
  private readonly items: Transfer[]
  private nextId: number
  private writing: Promise<void> = Promise.resolve()

  private constructor (private readonly file: string | undefined, items: Transfer[]) {
    this.items = items
    this.nextId = items.reduce((m, t) => Math.max(m, t.id), 0) + 1
  }

  /** The log kept in `dataDir` (in memory only without one). A damaged file starts an empty list. */
  static async open (dataDir?: string): Promise<TransferLog> {
    if (dataDir === undefined) return new TransferLog(undefined, [])
    const file = join(dataDir, TRANSFERS_FILE)
    const items = await readJsonList(file) as Transfer[]
    for (const t of items) {
      if (t.state === 'running') Object.assign(t, { state: 'interrupted', error: 'the node stopped during the transfer' })
    }
    return new TransferLog(file, items)
  }

  list (): Transfer[] {
    return [...this.items].reverse()
  }

  /** Record a new transfer; update it through the returned handle. */
  start (kind: Transfer['kind'], name: string, size?: number): TransferHandle {
    const t: Transfer = { id: this.nextId++, kind, name, size, blocks: 0, bytes: 0, state: 'running', started: Date.now() }
    this.items.push(t)
    while (this.items.length > MAX_TRANSFERS) {
      const old = this.items.findIndex((x) => x.state !== 'running')
      this.items.splice(old < 0 ? 0 : old, 1)
    }
    void this.save()
    return {
      entry: t,
      block: () => { t.blocks++ },
      bytes: (n) => { t.bytes = n },
      done: (uri) => { this.finish(t, { state: 'done', uri }) },
      fail: (err) => { this.finish(t, { state: 'failed', error: err instanceof Error ? err.message : String(err) }) }
    }
  }

  private finish (t: Transfer, change: Partial<Transfer>): void {
    if (t.state !== 'running') return
    Object.assign(t, change, { finished: Date.now() })
    void this.save()
  }

  /** Writes go one after another; resolves once everything recorded so far is on disk. */
  async save (): Promise<void> {
    if (this.file === undefined) return
    const file = this.file
    this.writing = this.writing.then(async () => { await writeFileAtomic(file, JSON.stringify(this.items) + '\n') }).catch(() => {})
    await this.writing
  }
}

export interface TransferHandle {
  entry: Transfer
  block: () => void
  bytes: (total: number) => void
  done: (uri?: string) => void
  fail: (err: unknown) => void
}

/**
 * Where a node keeps its tunnel state (the only I/O of src/tunnel besides the protocol driver):
 *   tunnel-keys.json      its X25519 tunnel keys (mode 0600: private keys)
 *   trusted-peers.json    the cards of the peers it trusts, by name
 *   tunnel-replay/EPOCH   encapsulated keys of the requests it accepted under each key epoch,
 *                         32 bytes each, appended before the request is acted on
 */
import { appendFile, mkdir, readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { readTextIfExists, writeFileAtomic } from '../util/files.js'
import { TunnelKeyRing } from './key-ring.js'
import { TrustBook } from './trust.js'
import type { ReplayCache } from './replay.js'

const ENC_BYTES = 32

export class TunnelFiles {
  constructor (private readonly dataDir: string) {}

  private get replayDir (): string {
    return join(this.dataDir, 'tunnel-replay')
  }

  async loadKeyRing (lifetimeMs?: number, graceMs?: number): Promise<TunnelKeyRing> {
    const file = join(this.dataDir, 'tunnel-keys.json')
    const text = await readTextIfExists(file)
    if (text === undefined) return new TunnelKeyRing([], lifetimeMs, graceMs)
    try {
      return TunnelKeyRing.fromJSON(JSON.parse(text), lifetimeMs, graceMs)
    } catch (err: any) {
      throw new Error(`${file} is damaged (${err.message}); move it away to make new tunnel keys (requesters then need your new card)`, { cause: err })
    }
  }

  async saveKeyRing (ring: TunnelKeyRing): Promise<void> {
    await mkdir(this.dataDir, { recursive: true, mode: 0o700 })
    await writeFileAtomic(join(this.dataDir, 'tunnel-keys.json'), JSON.stringify(ring.toJSON()) + '\n', 0o600)
  }

  async loadTrust (): Promise<TrustBook> {
    const file = join(this.dataDir, 'trusted-peers.json')
    const text = await readTextIfExists(file)
    if (text === undefined) return new TrustBook()
    try {
      return await TrustBook.fromJSON(JSON.parse(text))
    } catch (err: any) {
      throw new Error(`${file} is damaged (${err.message}); fix or move it away and add the cards again`, { cause: err })
    }
  }

  async saveTrust (book: TrustBook): Promise<void> {
    await mkdir(this.dataDir, { recursive: true, mode: 0o700 })
    await writeFileAtomic(join(this.dataDir, 'trusted-peers.json'), JSON.stringify(book.toJSON(), null, 2) + '\n', 0o600)
  }

  /** Feed the accepted requests of the live epochs back into `cache`; delete the logs of dead ones. */
  async loadReplay (cache: ReplayCache, live: bigint[]): Promise<void> {
    let names: string[]
    try {
      names = await readdir(this.replayDir)
    } catch (err: any) {
      if (err.code === 'ENOENT') return
      throw err
    }
    for (const name of names) {
      const file = join(this.replayDir, name)
      if (!/^\d+$/.test(name) || !live.includes(BigInt(name))) {
        await rm(file, { force: true })
        continue
      }
      const bytes = await readFile(file)
      // A torn last record (a crash mid-append) is ignored: its request was never acted on.
      for (let o = 0; o + ENC_BYTES <= bytes.length; o += ENC_BYTES) cache.add(BigInt(name), bytes.subarray(o, o + ENC_BYTES))
    }
  }

  /** Record an accepted request; resolves once it is written (before the request runs). */
  async appendReplay (epoch: bigint, enc: Uint8Array): Promise<void> {
    await mkdir(this.replayDir, { recursive: true, mode: 0o700 })
    await appendFile(join(this.replayDir, epoch.toString()), enc, { mode: 0o600 })
  }

  async dropReplay (epoch: bigint): Promise<void> {
    await rm(join(this.replayDir, epoch.toString()), { force: true })
  }
}

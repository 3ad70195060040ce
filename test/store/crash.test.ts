/**
 * Kill -9 a process in the middle of writing and check that the store it leaves behind
 * opens without a single repair, holds exactly matching blocks and metadata, and kept every
 * write it had acknowledged.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Key } from 'interface-datastore'
import { RoutingKey } from '../../src/keys/routing-key.js'
import { BlockStore } from '../../src/store/block-store.js'
import { decodeMeta } from '../../src/store/layout.js'
import { testRng } from '../helpers/seed.js'
import { hashMatches, rawNames, recordingLogger, removeDir, tempDir, withRawDatastore } from './helpers.js'
import type { OpenReport } from '../../src/store/layout.js'

const BLOCK = 4096
const CAPACITY = 48 * BLOCK
const ROUNDS = 10
const MAX_OPS = 5000
const WRITER = fileURLToPath(new URL('./fixtures/crash-writer.js', import.meta.url))

interface RoundLog {
  report?: OpenReport
  puts: string[]
  flushed: string[]
  signal: NodeJS.Signals | null
  code: number | null
  stderr: string
}

/**
 * The round in which this test reads the writer's reports slowly: it stops reading for
 * STALL_MS after the writer opened the store, as a loaded machine does, so the pipe fills
 * and the writer must wait for it (crash-writer.ts `report`). A writer that ran on meanwhile
 * would be killed far past the last put this test reads, and that put would be gone.
 */
const STALL_ROUND = 3
const STALL_MS = 1500

/**
 * Run the writer until it has acknowledged `killAfter` puts, then SIGKILL it. The writer's
 * block contents come from `seed` (its WARREN_TEST_SEED), so a round replays from the test seed.
 * `stallMs` > 0: stop reading its reports that long once it has opened the store.
 */
async function runAndKill (dir: string, killAfter: number, seed: number, stallMs = 0): Promise<RoundLog> {
  const child = spawn(process.execPath, [WRITER, dir, String(CAPACITY), String(BLOCK), String(MAX_OPS)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WARREN_TEST_SEED: String(seed) }
  })
  const log: RoundLog = { puts: [], flushed: [], signal: null, code: null, stderr: '' }
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (s: string) => { log.stderr += s })
  const lines = createInterface({ input: child.stdout })
  lines.on('line', (line) => {
    const [kind, rest] = [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)]
    if (kind === 'open') {
      log.report = JSON.parse(rest)
      if (stallMs > 0) {
        child.stdout.pause()
        setTimeout(() => { child.stdout.resume() }, stallMs)
      }
    }
    if (kind === 'put') log.puts.push(rest)
    if (kind === 'flushed') log.flushed.push(rest)
    if (log.puts.length === killAfter && !child.killed) child.kill('SIGKILL')
  })
  await new Promise<void>((resolve) => {
    child.on('close', (code, signal) => {
      log.code = code
      log.signal = signal
      resolve()
    })
  })
  return log
}

describe('BlockStore crash consistency', () => {
  const dirs: string[] = []
  after(async () => { await Promise.all(dirs.map(removeDir)) })

  it(`survives ${ROUNDS} SIGKILLs at random moments of a write loop`, async () => {
    const dir = await tempDir()
    dirs.push(dir)
    let totalPuts = 0
    const rng = testRng('crash kill points')
    for (let round = 0; round < ROUNDS; round++) {
      const killAfter = 1 + Math.floor(rng() * 150)
      const log = await runAndKill(dir, killAfter, Math.floor(rng() * 2 ** 32), round === STALL_ROUND ? STALL_MS : 0)
      const where = `round ${round}, kill after ${killAfter} puts, got ${log.puts.length}; stderr: ${log.stderr}`
      assert.equal(log.signal, 'SIGKILL', where)
      assert.ok(log.puts.length >= killAfter, where)
      totalPuts += log.puts.length
      // the child's own open saw what the previous kill left: nothing to repair
      assert.deepEqual(log.report && { ...log.report, loaded: 0 },
        { loaded: 0, orphanMeta: 0, orphanBlocks: 0, badMeta: 0, badKeys: 0, trimmed: 0 }, where)

      const lastPut = RoutingKey.fromHex(log.puts[log.puts.length - 1])
      const logger = recordingLogger()
      const store = await BlockStore.open(dir, { capacityBytes: CAPACITY, logger })
      const { loaded, ...repairs } = store.openReport
      assert.deepEqual(repairs, { orphanMeta: 0, orphanBlocks: 0, badMeta: 0, badKeys: 0, trimmed: 0 }, where)
      // On failure, which of the last acknowledged puts are there (1) or gone (0), and how full
      // the store is: whether the block was evicted (a full store, its neighbours gone too) or
      // lost alone.
      // And the newest of this round's puts that is there: every put after it gone at once is a
      // lost tail of writes; scattered survivors, evictions.
      const present = log.puts.map((hex) => store.has(RoutingKey.fromHex(hex)))
      const lastFew = present.slice(-8).map((p) => p ? 1 : 0).join('')
      const newest = present.lastIndexOf(true) + 1
      assert.equal(store.has(lastPut), true, `the last acknowledged put survived (${where}; last 8 puts present: ${lastFew}; ` +
        `newest surviving put of the round: ${newest === 0 ? 'none' : `#${newest}`} of ${log.puts.length}; ${store.stats().count} blocks stored)`)
      const stats = store.stats()
      assert.equal(stats.count, loaded)
      assert.ok(stats.usedBytes <= CAPACITY, where)
      assert.equal(stats.usedBytes, stats.count * BLOCK, where)
      assert.deepEqual(await store.verify(hashMatches), { checked: stats.count, deleted: 0 }, where)
      await store.close()

      const names = await rawNames(dir)
      assert.deepEqual(names.blocks, names.metas, where)
      // a flush acknowledged before the kill persisted at least one access of that block
      const flushedPresent = log.flushed.filter((hex) => names.metas.includes(hex))
      await withRawDatastore(dir, async (ds) => {
        for (const hex of flushedPresent) {
          const meta = decodeMeta(await ds.get(new Key(`/m/${hex}`)))
          assert.ok(meta !== undefined && meta.accessCount >= 1, `${hex} lost its flushed access count (${where})`)
        }
      })
    }
    assert.ok(totalPuts >= ROUNDS, `${totalPuts} puts in all`)
  })
})

/**
 * Benchmark: block store write speed, in the same run: as the store wrote before (one LevelDB
 * batch per put, LevelDB's default settings), with the store's LevelDB settings
 * (LEVELDB_OPTIONS) one batch per put, and as it writes now (those settings and
 * group-committed batches). Prints JSON.
 * Usage: npm run build && npx node dist/bench/store.js [--blocks 4000] [--concurrency 32] [--rounds 2] [--max N]
 * (--max: the grouped mode's batchMaxBlocks, default the store's STORE_BATCH_MAX_BLOCKS)
 *
 * `concurrency` writers each put 32 KiB blocks (random bytes, keyed by their hash, as CHK
 * blocks are) one after another into a fresh store of twice their total size, as concurrent
 * inserts through a node do. The modes alternate for `rounds` rounds; blocks/s is the
 * median per mode.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { BLOCK_SIZE, STORE_BATCH_MAX_BLOCKS } from '../src/constants.js'
import { RoutingKey } from '../src/keys/routing-key.js'
import { BlockStore } from '../src/store/block-store.js'
import { LEVELDB_OPTIONS } from '../src/store/level-store.js'
import type { LevelOptions } from '../src/store/level-store.js'

async function run (blocks: Array<{ key: RoutingKey, bytes: Uint8Array }>, concurrency: number, batchMaxBlocks: number, leveldb: LevelOptions): Promise<{ blocksPerS: number, MBps: number, cpuMsPer1000: number, batches: number, largest: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'warren-bench-store-'))
  const store = await BlockStore.open(dir, { capacityBytes: 2 * blocks.length * BLOCK_SIZE, batchMaxBlocks, leveldb })
  try {
    let next = 0
    const cpu0 = process.cpuUsage()
    const t = performance.now()
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < blocks.length) {
        const b = blocks[next++]
        await store.put(b.key, b.bytes)
      }
    }))
    const s = (performance.now() - t) / 1000
    const cpu = process.cpuUsage(cpu0)
    const { batches, largest } = store.batchStats()
    // CPU of the whole process (LevelDB's threads included): steadier than time on a shared machine.
    const cpuMsPer1000 = Math.round((cpu.user + cpu.system) / 1000 / blocks.length * 1000)
    return { blocksPerS: Math.round(blocks.length / s), MBps: Math.round(blocks.length * BLOCK_SIZE / 1e6 / s * 10) / 10, cpuMsPer1000, batches, largest }
  } finally {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function main (): Promise<void> {
  const { values } = parseArgs({ options: { blocks: { type: 'string', default: '4000' }, concurrency: { type: 'string', default: '32' }, rounds: { type: 'string', default: '2' }, max: { type: 'string', default: String(STORE_BATCH_MAX_BLOCKS) } } })
  const n = Number(values.blocks)
  const concurrency = Number(values.concurrency)
  const blocks = Array.from({ length: n }, () => {
    const bytes = new Uint8Array(randomBytes(BLOCK_SIZE))
    return { key: RoutingKey.hash(bytes), bytes }
  })
  type Run = Awaited<ReturnType<typeof run>>
  // LevelDB's own defaults: a 4 MiB memtable, Snappy compression.
  const levelDefaults: LevelOptions = { writeBufferSize: 4 * 1024 * 1024, compression: true }
  const modes: Record<string, () => Promise<Run>> = {
    before: async () => await run(blocks, concurrency, 1, levelDefaults),
    tunedBatchPerPut: async () => await run(blocks, concurrency, 1, LEVELDB_OPTIONS),
    after: async () => await run(blocks, concurrency, Number(values.max), LEVELDB_OPTIONS)
  }
  const runs: Record<string, Run[]> = { before: [], tunedBatchPerPut: [], after: [] }
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const [name, fn] of Object.entries(modes)) runs[name].push(await fn())
  }
  const rate = (name: string): number => median(runs[name].map((x) => x.blocksPerS))
  const cpu = (name: string): number => median(runs[name].map((x) => x.cpuMsPer1000))
  console.log(JSON.stringify({
    setup: { blocks: n, blockBytes: BLOCK_SIZE, concurrency, rounds: Number(values.rounds), node: process.version },
    before: { batchMaxBlocks: 1, leveldb: levelDefaults, blocksPerS: rate('before'), cpuMsPer1000Blocks: cpu('before'), runs: runs.before },
    tunedBatchPerPut: { batchMaxBlocks: 1, leveldb: LEVELDB_OPTIONS, blocksPerS: rate('tunedBatchPerPut'), cpuMsPer1000Blocks: cpu('tunedBatchPerPut'), runs: runs.tunedBatchPerPut },
    after: { batchMaxBlocks: Number(values.max), leveldb: LEVELDB_OPTIONS, blocksPerS: rate('after'), cpuMsPer1000Blocks: cpu('after'), runs: runs.after },
    speedup: Math.round(rate('after') / rate('before') * 100) / 100,
    cpuSaving: Math.round((1 - cpu('after') / cpu('before')) * 100) / 100
  }, null, 2))
}

await main()

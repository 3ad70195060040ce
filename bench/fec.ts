/**
 * Benchmark: FEC encode/decode speed, raw codec and the whole split-file pipeline (CHK
 * encryption + SHA-256 + Reed-Solomon) over an in-memory block map. Prints JSON.
 * Usage: npm run build && npx node dist/bench/fec.js [--mib 64] [--segment 128]
 *
 *   codec.encode:           m check blocks of a k + m segment of 32 KiB blocks (MB/s of data)
 *   codec.rebuildAllData:   rebuild k data blocks from the m check blocks (worst case: every
 *                           data block lost, m >= k)
 *   codec.rebuildOne:       rebuild one lost data block
 *   pool.encode, pool.rebuildAllData: the same through the FEC worker pool
 *                           (src/client/fec-pool.ts, one thread per core), 4 segments per
 *                           thread submitted at once, against one thread in the same run
 *   pipeline.insert:        splitfileBlocks over the file (what `put` spends CPU on; FEC on the pool)
 *   pipeline.fetch:         readSplitfile with every block present (verify + decrypt only)
 *   pipeline.fetchLossy:    readSplitfile with half of the data blocks of every segment gone
 */
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { BLOCK_SIZE, SEGMENT_CHECK_BLOCKS, SEGMENT_DATA_BLOCKS } from '../src/constants.js'
import { fecEncode, fecReconstruct } from '../src/client/fec.js'
import { fecPool } from '../src/client/fec-pool.js'
import { decodeSplitfile, splitfileBlocks } from '../src/client/splitfile.js'
import { openContent } from '../src/client/open.js'
import { decodeChk } from '../src/keys/chk.js'
import type { RoutingKey } from '../src/keys/routing-key.js'

const MB = 1e6

function time (fn: () => void, reps: number): number {
  fn()
  const t = performance.now()
  for (let i = 0; i < reps; i++) fn()
  return (performance.now() - t) / reps
}

async function main (): Promise<void> {
  const { values } = parseArgs({ options: { mib: { type: 'string', default: '64' }, segment: { type: 'string', default: '' } } })
  const bytes = Number(values.mib) * 1024 * 1024
  // The codec's segment (k data + m check blocks): the node's by default; --segment N times k = m = N.
  const k = values.segment === '' ? SEGMENT_DATA_BLOCKS : Number(values.segment)
  const m = values.segment === '' ? SEGMENT_CHECK_BLOCKS : Number(values.segment)
  const data = Array.from({ length: k }, () => new Uint8Array(randomBytes(BLOCK_SIZE)))
  const segBytes = k * BLOCK_SIZE
  const check = fecEncode(data, m)
  const encodeMs = time(() => fecEncode(data, m), 3)
  const allLost = [...data.map(() => undefined), ...check]
  const rebuildAllMs = time(() => fecReconstruct(allLost, k, m), 3)
  const oneLost = [undefined, ...data.slice(1), ...check]
  const rebuildOneMs = time(() => fecReconstruct(oneLost, k, m), 3)

  // The pool: 4 segments per thread at once (workers started and warm first).
  const pool = fecPool()
  const jobs = 4 * pool.threads
  await Promise.all(Array.from({ length: pool.threads }, async () => await pool.encode(data, m)))
  const timeAsync = async (fn: () => Promise<unknown>): Promise<number> => {
    const t0 = performance.now()
    await Promise.all(Array.from({ length: jobs }, fn))
    return performance.now() - t0
  }
  const poolEncodeMs = await timeAsync(async () => await pool.encode(data, m))
  const poolRebuildMs = await timeAsync(async () => await pool.reconstruct(allLost, k, m))

  // The split-file pipeline over an in-memory block map.
  const blocks = new Map<string, Uint8Array>()
  const file = new Uint8Array(randomBytes(bytes))
  const t = performance.now()
  const gen = splitfileBlocks((function * () { for (let o = 0; o < file.length; o += 1 << 20) yield file.subarray(o, o + (1 << 20)) })())
  let root
  for (;;) {
    const n = await gen.next()
    if (n.done === true) { root = n.value; break }
    blocks.set(n.value.routingKey.hex, n.value.block)
  }
  const insertMs = performance.now() - t
  const fetch = async (key: RoutingKey): Promise<Uint8Array> => {
    const b = blocks.get(key.hex)
    if (b === undefined) throw new Error('missing')
    return b
  }
  const opened = await openContent({ type: 'CHK', routingKey: root.routingKey, decryptKey: root.decryptKey }, fetch)
  // The segment list (to delete blocks for the lossy run); a large layout is nested.
  const meta = await decodeSplitfile(decodeChk(blocks.get(root.routingKey.hex)!, root.decryptKey).payload, async (ref) => {
    const parts: Uint8Array[] = []
    for await (const c of (await openContent({ type: 'CHK', ...ref }, fetch)).stream()) parts.push(c)
    return Buffer.concat(parts)
  })
  const drain = async (): Promise<number> => {
    const t0 = performance.now()
    let n = 0
    for await (const c of opened.stream()) n += c.length
    if (n !== bytes) throw new Error('short read')
    return performance.now() - t0
  }
  const fetchMs = await drain()
  for (const s of meta.segments) for (const d of s.data().slice(0, Math.floor(s.k / 2))) blocks.delete(d.routingKey.hex)
  const lossyMs = await drain()

  const rate = (b: number, ms: number): number => Math.round(b / MB / (ms / 1000) * 10) / 10
  console.log(JSON.stringify({
    setup: { k, m, blockBytes: BLOCK_SIZE, fileMiB: Number(values.mib), library: '@digitaldefiance/reed-solomon-erasure.wasm 1.0.2', node: process.version },
    codec: {
      encode: { msPerSegment: Math.round(encodeMs), MBps: rate(segBytes, encodeMs) },
      rebuildAllData: { msPerSegment: Math.round(rebuildAllMs), MBps: rate(segBytes, rebuildAllMs) },
      rebuildOne: { msPerSegment: Math.round(rebuildOneMs), MBps: rate(segBytes, rebuildOneMs) }
    },
    pool: {
      threads: pool.threads,
      segmentsAtOnce: jobs,
      encode: { MBps: rate(jobs * segBytes, poolEncodeMs), overOneThread: Math.round(encodeMs * jobs / poolEncodeMs * 100) / 100 },
      rebuildAllData: { MBps: rate(jobs * segBytes, poolRebuildMs), overOneThread: Math.round(rebuildAllMs * jobs / poolRebuildMs * 100) / 100 },
      fallbacks: pool.stats().fallbacks
    },
    pipeline: {
      segments: root.segments, dataBlocks: root.dataBlocks, checkBlocks: root.checkBlocks,
      insert: { ms: Math.round(insertMs), MBps: rate(bytes, insertMs) },
      fetch: { ms: Math.round(fetchMs), MBps: rate(bytes, fetchMs) },
      fetchLossy: { ms: Math.round(lossyMs), MBps: rate(bytes, lossyMs), lostDataBlocks: '50% of every segment' }
    }
  }, null, 2))
}

await main()

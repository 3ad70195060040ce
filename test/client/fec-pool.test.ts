/**
 * The FEC worker pool (src/client/fec-pool.ts): the same bytes as the codec on the calling
 * thread for encodes and rebuilds, many segments at once; codec errors passed on; aborted
 * jobs rejected (queued or running) without breaking the pool; a job whose worker dies redone
 * on the calling thread; idle workers gone.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { fecEncode } from '../../src/client/fec.js'
import { FecPool } from '../../src/client/fec-pool.js'
import { until } from '../helpers/network.js'
import { randomBytes } from '../helpers/seed.js'
import type { Worker } from 'node:worker_threads'

const blocks = (k: number, size: number): Uint8Array[] => Array.from({ length: k }, () => new Uint8Array(randomBytes(size)))

/** The pool's worker threads as piscina holds them. */
function workers (pool: FecPool): Worker[] {
  return (Reflect.get(pool, 'pool') as { threads: Worker[] }).threads
}

describe('FEC worker pool', () => {
  const pools: FecPool[] = []
  const newPool = (threads: number, idleTimeoutMs?: number): FecPool => {
    const p = new FecPool({ threads, idleTimeoutMs })
    pools.push(p)
    return p
  }
  after(async () => { await Promise.all(pools.map(async (p) => { await p.close() })) })

  it('encodes many segments at once, each exactly as the codec does on the calling thread', async () => {
    const pool = newPool(2)
    // Fewer data blocks than check blocks (3), as many (5) and more: the check blocks come back
    // in the data's buffer when they fit, in a buffer of their own when not.
    const segments = [3, 5, 8, 9, 10, 11].map((k) => blocks(k, 4096))
    const got = await Promise.all(segments.map(async (s) => await pool.encode(s, 5)))
    got.forEach((checks, i) => { assert.deepEqual(checks, fecEncode(segments[i], 5), `segment ${i}`) })
    // Each in a buffer of its own: one check block held keeps only itself, not the reply.
    for (const c of got.flat()) assert.equal(c.buffer.byteLength, c.byteLength)
    assert.deepEqual(pool.stats(), { threads: 2, done: 6, fallbacks: 0 })
  })

  it('rebuilds the data blocks from any k of n, several erasure patterns at once', async () => {
    const pool = newPool(2)
    const k = 10
    const m = 6
    const data = blocks(k, 2048)
    const all = [...data, ...fecEncode(data, m)]
    const patterns = [[0, 1, 2, 3, 4, 5], [10, 11, 12, 13, 14, 15], [1, 3, 5, 11, 13, 15], [9], [0, 15]]
    const rebuilt = await Promise.all(patterns.map(async (lost) => await pool.reconstruct(all.map((b, i) => lost.includes(i) ? undefined : b), k, m)))
    rebuilt.forEach((r, i) => { assert.deepEqual(r, data, `pattern ${patterns[i].join(',')}`) })
    // Losing only check blocks needs no decoding: four jobs.
    assert.equal(pool.stats().done, 4)
    // Nothing missing among the data blocks: handed back as they are, no job.
    assert.deepEqual(await pool.reconstruct([...data, ...Array.from({ length: m }, () => undefined)], k, m), data)
    assert.equal(pool.stats().done, 4)
  })

  it('passes on the codec errors, and the pool goes on working', async () => {
    const pool = newPool(1)
    await assert.rejects(pool.encode(blocks(200, 64), 100), /a segment has at most 256 blocks, got 200 \+ 100/)
    const data = blocks(4, 64)
    const all = [...data, ...fecEncode(data, 2)]
    await assert.rejects(pool.reconstruct(all.map((b, i) => i < 3 ? undefined : b), 4, 2), /3 of 6 blocks present, 4 needed/)
    await assert.rejects(pool.encode([new Uint8Array(8), new Uint8Array(9)], 1), /data block 1 is 9 bytes, expected 8/)
    assert.equal((await pool.encode(data, 2)).length, 2)
    assert.equal(pool.stats().fallbacks, 0)
  })

  it('rejects aborted jobs, queued or running, with the signal\'s reason, and keeps working', async () => {
    const pool = newPool(1)
    const big = blocks(128, 32 * 1024)
    const running = new AbortController()
    const queued = new AbortController()
    const first = pool.encode(big, 128, { signal: running.signal })
    const second = pool.encode(big, 128, { signal: queued.signal })
    const third = pool.encode(blocks(4, 64), 2)
    queued.abort(new Error('not wanted any more'))
    await assert.rejects(second, /not wanted any more/)
    await until(() => workers(pool).length > 0, 10_000, 'the worker to start')
    running.abort(new Error('stop this one'))
    await assert.rejects(first, /stop this one/)
    assert.equal((await third).length, 2, 'the job behind them still runs')
    const gone = new AbortController()
    gone.abort(new Error('aborted before'))
    await assert.rejects(pool.encode(blocks(4, 64), 2, { signal: gone.signal }), /aborted before/)
    assert.equal(pool.stats().fallbacks, 0, 'an abort is not a worker failure')
  })

  it('redoes a job on the calling thread when its worker dies under it, and uses a new worker after', async () => {
    const pool = newPool(1)
    const data = blocks(128, 32 * 1024)
    const job = pool.encode(data, 128)
    const piscina = Reflect.get(pool, 'pool') as { queueSize: number }
    // The worker has taken the job (a 128 + 128 segment takes it hundreds of ms).
    await until(() => workers(pool).length > 0 && piscina.queueSize === 0, 10_000, 'the worker to take the job')
    await workers(pool)[0].terminate()
    assert.deepEqual(await job, fecEncode(data, 128), 'the right check blocks all the same')
    assert.equal(pool.stats().fallbacks, 1)
    const small = blocks(4, 64)
    assert.deepEqual(await pool.encode(small, 2), fecEncode(small, 2))
    assert.deepEqual(pool.stats(), { threads: 1, done: 1, fallbacks: 1 })
  })

  it('runs queued jobs on the calling thread when the only worker dies while starting', async () => {
    const pool = newPool(1)
    const segments = [blocks(16, 1024), blocks(16, 1024)]
    const jobs = segments.map(async (s) => await pool.encode(s, 8))
    // Killed as soon as it exists, before it took a job: piscina starts no other by itself.
    await until(() => workers(pool).length > 0, 10_000, 'the worker to start')
    await workers(pool)[0].terminate()
    const got = await Promise.all(jobs)
    got.forEach((checks, i) => { assert.deepEqual(checks, fecEncode(segments[i], 8)) })
    const { done, fallbacks } = pool.stats()
    assert.equal(done + fallbacks, 2)
    assert.ok(fallbacks >= 1)
  })

  it('sizes itself to the machine by default, and idle workers exit', async () => {
    const { availableParallelism } = await import('node:os')
    const byDefault = new FecPool()
    pools.push(byDefault)
    assert.equal(byDefault.threads, availableParallelism())
    const pool = newPool(2, 50)
    await Promise.all([pool.encode(blocks(4, 64), 2), pool.encode(blocks(4, 64), 2)])
    await until(() => pool.running === 0, 10_000, 'idle workers to exit')
    assert.equal((await pool.encode(blocks(4, 64), 2)).length, 2, 'a new worker starts for the next job')
  })
})

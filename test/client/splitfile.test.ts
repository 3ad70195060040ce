/**
 * FEC split files over an in-memory block network: round trips, losing up to m blocks of a
 * segment (and one more: a clean error naming the segment), balanced segments, byte
 * ranges, corrupt blocks, nested layouts and bounded memory of the inserter.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { CHK_MAX_PAYLOAD } from '../../src/keys/chk.js'
import { formatUri } from '../../src/keys/uri.js'
import { decodeLayout, decodeSplitfile, splitfileBlocks } from '../../src/client/splitfile.js'
import { fecPool } from '../../src/client/fec-pool.js'
import { openContent } from '../../src/client/open.js'
import { collect, MemoryNetwork, testBytes } from './memory-blocks.js'
import { until } from '../helpers/network.js'
import type { SplitfileOptions } from '../../src/client/splitfile.js'
import type { ChkUri } from '../../src/keys/uri.js'
import type { RoutingKey } from '../../src/keys/routing-key.js'

const P = CHK_MAX_PAYLOAD

setFlagsFromString('--expose-gc')
/** A real full GC, so the memory samples measure live buffers, not garbage. */
const gc = runInNewContext('gc') as () => void

async function put (net: MemoryNetwork, data: Uint8Array, options: SplitfileOptions = {}): Promise<{ uri: string, root: Awaited<ReturnType<typeof splitfileBlocks> extends AsyncGenerator<any, infer R> ? R : never> }> {
  const root = await net.insertAll(splitfileBlocks([data], options))
  return { uri: formatUri({ type: 'CHK', routingKey: root.routingKey, decryptKey: root.decryptKey }), root }
}

async function layout (net: MemoryNetwork, uri: string): Promise<Awaited<ReturnType<typeof decodeSplitfile>>> {
  const { parseUri } = await import('../../src/keys/uri.js')
  const { decodeChk } = await import('../../src/keys/chk.js')
  const u = parseUri(uri) as ChkUri
  const payload = decodeChk(await net.fetch(u.routingKey), u.decryptKey).payload
  return await decodeSplitfile(payload, async () => { throw new Error('nested') })
}

describe('FEC split files', () => {
  it('carries a small file inline in one block, with its MIME type', async () => {
    const net = new MemoryNetwork()
    const data = testBytes(1000)
    const { uri, root } = await put(net, data, { mime: 'text/plain' })
    assert.equal(net.blocks.size, 1)
    assert.equal(root.size, 1000)
    const f = await openContent(uri, net.fetch)
    assert.equal(f.mime, 'text/plain')
    assert.ok((await collect(f.stream())).equals(data))
    assert.ok((await collect(f.stream({ start: 10, end: 20 }))).equals(data.subarray(10, 20)))
  })

  it('round-trips an empty file', async () => {
    const net = new MemoryNetwork()
    const { uri } = await put(net, new Uint8Array(0))
    const f = await openContent(uri, net.fetch)
    assert.equal(f.size, 0)
    assert.equal((await collect(f.stream())).length, 0)
  })

  it('balances the last two segments (129 blocks with k=128: 65 + 64)', async () => {
    const net = new MemoryNetwork()
    const data = testBytes(128 * P + 100)
    const { uri, root } = await put(net, data)
    assert.equal(root.segments, 2)
    assert.equal(root.dataBlocks, 129)
    assert.equal(root.checkBlocks, 129)
    const meta = await layout(net, uri)
    assert.deepEqual(meta.segments.map((s) => [s.data().length, s.check().length]), [[65, 65], [64, 64]])
    assert.ok((await collect((await openContent(uri, net.fetch)).stream())).equals(data))
  })

  it('survives losing m blocks of a segment, and fails cleanly naming the segment at m + 1', async () => {
    const net = new MemoryNetwork()
    const data = testBytes(11 * P - 5, 7)
    const { uri } = await put(net, data, { segmentData: 4, segmentCheck: 3 })
    const meta = await layout(net, uri)
    assert.deepEqual(meta.segments.map((s) => [s.data().length, s.check().length]), [[4, 3], [4, 3], [3, 3]])
    const seg = meta.segments[1]
    // Lose three data blocks of segment 2 (= m): any k = 4 of its 7 blocks remain.
    for (const ref of seg.data().slice(0, 3)) net.blocks.delete(ref.routingKey.hex)
    assert.ok((await collect((await openContent(uri, net.fetch)).stream())).equals(data))
    // One more (a check block): only 3 of 7 left.
    net.blocks.delete(seg.check()[0].hex)
    const f = await openContent(uri, net.fetch)
    await assert.rejects(collect(f.stream()), (err: Error) => {
      assert.match(err.message, /segment 2 of 3 \(data blocks 4-7\) cannot be rebuilt: 3 of its 7 blocks could be fetched, 4 are needed/)
      assert.match(err.message, /missing: data 4, data 5, data 6, check 0/)
      return true
    })
  })

  it('heals: hands back every block it could not fetch, rebuilt from the segment and matching its key', async () => {
    const net = new MemoryNetwork()
    const data = testBytes(11 * P - 5, 13)
    const { uri } = await put(net, data, { segmentData: 4, segmentCheck: 3 })
    const seg = (await layout(net, uri)).segments[1]
    const lost = [seg.data()[0].routingKey, seg.data()[1].routingKey, seg.check()[0]]
    const originals = new Map(lost.map((k) => [k.hex, net.blocks.get(k.hex)!]))
    for (const k of lost) net.blocks.delete(k.hex)
    const healed = new Map<string, Uint8Array>()
    const heal = {
      add: (key: RoutingKey, block: Uint8Array): void => {
        assert.ok(!healed.has(key.hex), 'each block is healed once')
        healed.set(key.hex, block)
      },
      recomputeFailed: (err: Error): void => { assert.fail(err) }
    }
    assert.ok((await collect((await openContent(uri, net.fetch, { heal })).stream())).equals(data))
    await until(() => healed.size === lost.length, 5000, 'every lost block healed')
    // The two data blocks come out of the decode, the check block from encoding the segment again.
    assert.deepEqual(new Set(healed.keys()), new Set(originals.keys()))
    for (const [hex, block] of healed) assert.ok(Buffer.from(block).equals(originals.get(hex)!), `healed block ${hex.slice(0, 8)} differs`)
    // Inserted again, the next read fetches every block and has nothing to heal.
    for (const [hex, block] of healed) net.blocks.set(hex, block)
    const again: string[] = []
    assert.ok((await collect((await openContent(uri, net.fetch, { heal: { add: (k) => { again.push(k.hex) }, recomputeFailed: (err) => { assert.fail(err) } } })).stream())).equals(data))
    assert.deepEqual(again, [])
  })

  it('serves byte ranges across segments, rebuilding only the segments it touches', async () => {
    const net = new MemoryNetwork()
    const data = testBytes(9 * P + 321, 3)
    const { uri } = await put(net, data, { segmentData: 3, segmentCheck: 2 })
    const meta = await layout(net, uri)
    net.blocks.delete(meta.segments[1].data()[1].routingKey.hex)
    const f = await openContent(uri, net.fetch)
    for (const [start, end] of [[0, 1], [P - 3, P + 3], [2 * P + 5, 7 * P + 1], [9 * P, 9 * P + 321], [5, 5], [0, data.length]]) {
      assert.ok((await collect(f.stream({ start, end }))).equals(data.subarray(start, end)), `range ${start}-${end}`)
    }
    // A range inside the last segment never fetches the first segment's blocks.
    net.fetches = 0
    await collect(f.stream({ start: 9 * P, end: 9 * P + 10 }))
    assert.equal(net.fetches, 1)
  })

  it('treats a corrupt block as missing and rebuilds it', async () => {
    const net = new MemoryNetwork()
    const data = testBytes(6 * P, 9)
    const { uri } = await put(net, data, { segmentData: 3, segmentCheck: 3 })
    const meta = await layout(net, uri)
    const key = meta.segments[0].data()[0].routingKey.hex
    const bad = Uint8Array.from(net.blocks.get(key)!)
    bad[100] ^= 1
    net.blocks.set(key, bad)
    assert.ok((await collect((await openContent(uri, net.fetch)).stream())).equals(data))
  })

  it('stores a large layout as a nested split file', async () => {
    const net = new MemoryNetwork()
    const data = testBytes(400 * P + 1, 11)
    const { uri, root } = await put(net, data, { segmentData: 1, segmentCheck: 1 })
    assert.equal(root.segments, 401)
    const f = await openContent(uri, net.fetch)
    assert.equal(f.size, data.length)
    assert.ok((await collect(f.stream())).equals(data))
  })

  it('holds a decoded layout as its bytes, not as an object per key', () => {
    // The layout of a 1 GiB file: 256 segments of 128 + 128 blocks.
    const segments = 256
    const per = 4 + 128 * 64 + 128 * 32
    const bytes = testBytes(segments * per)
    const view = new DataView(bytes.buffer, bytes.byteOffset)
    for (let i = 0; i < segments; i++) {
      view.setUint16(i * per, 128)
      view.setUint16(i * per + 2, 128)
    }
    gc()
    const before = process.memoryUsage().heapUsed
    const decoded = decodeLayout(bytes, segments * 128, segments)
    gc()
    const grown = process.memoryUsage().heapUsed - before
    // Built into objects up front it took 15.6 MiB of heap; 256 segments take a few KiB.
    assert.ok(grown < 2 ** 20, `the decoded layout holds ${(grown / 2 ** 20).toFixed(1)} MiB of heap`)
    const seg = decoded[255]
    assert.equal(seg.firstBlock, 255 * 128)
    const refs = seg.data()
    const at = 255 * per + 4
    assert.deepEqual(refs[1].routingKey.bytes, bytes.subarray(at + 64, at + 96))
    assert.deepEqual(refs[1].decryptKey, bytes.subarray(at + 96, at + 128))
    assert.deepEqual(seg.check()[127].bytes, bytes.subarray(at + per - 4 - 32, at + per - 4))
  })

  it('inserts with memory bounded by a few segments, not the file size', async () => {
    const k = 16
    const size = 48 * 1024 * 1024
    const peaks = [0, 0]
    let blocks = 0
    const chunk = testBytes(1024 * 1024, 5)
    const source = (async function * () { for (let i = 0; i < size / chunk.length; i++) yield chunk })()
    gc()
    const base = process.memoryUsage().arrayBuffers
    for await (const _ of splitfileBlocks(source, { segmentData: k, segmentCheck: k })) {
      blocks++
      if (blocks % 128 === 0) {
        // Array buffers are swept concurrently after a GC: let the sweep finish, collect again.
        gc()
        await new Promise((resolve) => setTimeout(resolve, 20))
        gc()
        const half = blocks < size / P ? 0 : 1
        peaks[half] = Math.max(peaks[half], process.memoryUsage().arrayBuffers - base)
      }
    }
    assert.ok(blocks > 2 * size / P)
    // 2k pending blocks, one segment's check blocks, the layout and the codec's working
    // memory: a few MiB whatever the size, and no growth from the first half to the second.
    const mib = (n: number): string => (n / 2 ** 20).toFixed(1)
    assert.ok(Math.max(...peaks) < size / 4, `peak live buffer memory ${mib(Math.max(...peaks))} MiB for a ${mib(size)} MiB file`)
    assert.ok(peaks[1] < peaks[0] + 4 * 2 ** 20, `live buffers grew from ${mib(peaks[0])} to ${mib(peaks[1])} MiB`)
  })

  it('hands out every block in a buffer of its own: one held check block keeps only itself', async () => {
    // An insert that waits (a peer's OVERLOADED backoff, up to 16 s) holds its block: if that
    // were a view of the pool's reply, it would keep the whole segment's buffer alive.
    const k = 16
    for await (const b of splitfileBlocks([testBytes(3 * k * P, 23)], { segmentData: k, segmentCheck: k })) {
      assert.equal(b.block.buffer.byteLength, b.block.byteLength, `a ${b.block.byteLength}-byte block in a ${b.block.buffer.byteLength}-byte buffer`)
    }
  })

  it('encodes one segment at a time while the codec keeps up, one per pool thread once it falls behind', async () => {
    const pool = fecPool()
    const encode = pool.encode.bind(pool)
    let running = 0
    let most = 0
    let idle: (() => void) | undefined
    pool.encode = async (...args) => {
      most = Math.max(most, ++running)
      try {
        return await encode(...args)
      } finally {
        if (--running === 0) idle?.()
      }
    }
    const data = testBytes(6 * 16 * P, 21)
    try {
      // A slow insert: every block waits until no segment is encoding.
      for await (const _ of splitfileBlocks([data], { segmentData: 16, segmentCheck: 16 })) {
        if (running > 0) await new Promise<void>((resolve) => { idle = resolve })
      }
      assert.equal(most, 1)
      // A fast insert (blocks taken as soon as cut): the codec is behind, every thread works.
      most = 0
      let checks = 0
      for await (const b of splitfileBlocks([data], { segmentData: 16, segmentCheck: 16 })) if (b.block.length > 0) checks++
      assert.ok(checks > 0)
      assert.equal(most, pool.threads, `at most ${most} segments encoding at once with ${pool.threads} threads`)
    } finally {
      pool.encode = encode
    }
  })
})

/**
 * Benchmark: a large file (default 256 MiB) put at one node and fetched at another across a
 * 10-node network in one process, with the peak RSS sampled every 50 ms: the client streams
 * with bounded memory, so the peak stays far below the file size (the nodes' own LevelDB
 * caches and libp2p buffers are most of what is measured). Prints JSON.
 * Usage: npm run build && npx node dist/bench/transfer-memory.js [--mib 256] [--nodes 10] [--htl 2]
 *
 * The source is generated on the fly (never held whole) and the fetched bytes are hashed as
 * they stream in, compared with the source's SHA-256.
 */
import { createHash } from 'node:crypto'
import { parseArgs } from 'node:util'
import { createNetwork, ring } from '../test/helpers/network.js'

function * source (bytes: number, seed: number): Generator<Uint8Array> {
  const chunk = new Uint8Array(1 << 20)
  let x = seed
  for (let off = 0; off < bytes; off += chunk.length) {
    const n = Math.min(chunk.length, bytes - off)
    for (let i = 0; i < n; i += 4) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0
      chunk[i] = x; chunk[i + 1] = x >>> 8; chunk[i + 2] = x >>> 16; chunk[i + 3] = x >>> 24
    }
    yield chunk.subarray(0, n)
  }
}

async function main (): Promise<void> {
  const { values } = parseArgs({ options: { mib: { type: 'string', default: '256' }, nodes: { type: 'string', default: '10' }, htl: { type: 'string', default: '2' } } })
  const bytes = Number(values.mib) * 1024 * 1024
  const n = Number(values.nodes)
  const htl = Number(values.htl)
  // Every block is stored on up to htl + 1 nodes: give the stores room for all copies.
  const storeBytes = Math.ceil(2 * bytes * (htl + 1) / n * 1.5) + 64 * 1024 * 1024
  const net = await createNetwork(n, { config: { storeBytes }, core: { hopTimeoutMs: 5000 } })
  let peak = 0
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss) }, 50)
  try {
    await ring(net, [[0, Math.floor(n / 2)], [2, n - 3]])
    const expected = createHash('sha256')
    for (const c of source(bytes, 42)) expected.update(c)
    const want = expected.digest('hex')
    const rssStart = process.memoryUsage().rss
    peak = rssStart

    let t = performance.now()
    const put = await net.nodes[0].client.put(source(bytes, 42), { htl })
    const putMs = performance.now() - t
    const peakPut = peak

    peak = process.memoryUsage().rss
    const got = createHash('sha256')
    let received = 0
    t = performance.now()
    const f = await net.nodes[n - 2].client.open(put.uri, { htl: htl + 6 })
    for await (const c of f.stream()) { got.update(c); received += c.length }
    const getMs = performance.now() - t
    const peakGet = peak
    if (received !== bytes || got.digest('hex') !== want) throw new Error('fetched bytes differ from the source')
    const mib = (x: number): number => Math.round(x / 2 ** 20)
    const mbps = (ms: number): number => Math.round(bytes / 1e6 / (ms / 1000) * 10) / 10
    console.log(JSON.stringify({
      setup: { fileMiB: bytes / 2 ** 20, nodes: n, htl, topology: 'ring + 2 chords', inProcess: true, node: process.version },
      put: { ms: Math.round(putMs), MBps: mbps(putMs), blocks: put.blocks, dataBlocks: put.dataBlocks, checkBlocks: put.checkBlocks, segments: put.segments, minStored: put.minStored },
      get: { ms: Math.round(getMs), MBps: mbps(getMs), sha256Matches: true },
      rssMiB: { start: mib(rssStart), peakDuringPut: mib(peakPut), peakDuringGet: mib(peakGet), peakOverFileSize: Math.round(Math.max(peakPut, peakGet) / bytes * 100) / 100 }
    }, null, 2))
  } finally {
    clearInterval(sampler)
    await net.stop()
  }
}

await main()

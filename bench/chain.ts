/**
 * Benchmark: put then get of a file through a chain of warren nodes (A - B - C - D, three
 * hops), side by side with a raw libp2p stream between two of the same nodes, in one run.
 * Prints JSON. Usage: npm run build && npx node dist/bench/chain.js [--mib 32] [--hops 3]
 *
 *   put: client at A inserts with HTL = hops: every block travels A -> B -> C -> D (stored on all)
 *   get: the file is inserted at D only (HTL 0), then fetched from A: every block is routed
 *        A -> B -> C -> D and the data flows back through C and B (cached on the way)
 *   Source reset is 1 (every hop names itself as the data source), so no node learns a
 *   direct route to D and every block really crosses the chain.
 *   raw: one libp2p stream A -> B moving the same number of bytes (64 KiB writes)
 */
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { createNetwork } from '../test/helpers/network.js'
import type { WarrenNode } from '../src/node.js'
import type { Stream } from '@libp2p/interface'

const RAW_PROTOCOL = '/warren-bench/raw/1.0.0'

async function rawStream (from: WarrenNode, to: WarrenNode, bytes: number): Promise<number> {
  let received = 0
  const done = new Promise<void>((resolve) => {
    void to.libp2p.handle(RAW_PROTOCOL, async (stream: Stream) => {
      for await (const chunk of stream) received += chunk.byteLength
      await stream.close()
      resolve()
    })
  })
  const stream = await from.libp2p.dialProtocol(to.libp2p.getMultiaddrs()[0], RAW_PROTOCOL)
  const chunk = randomBytes(64 * 1024)
  const start = performance.now()
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    if (!stream.send(chunk)) await stream.onDrain()
  }
  await stream.close()
  await done
  const ms = performance.now() - start
  if (received < bytes) throw new Error(`raw stream lost data: ${received} < ${bytes}`)
  return ms
}

function* chunks (data: Uint8Array, size = 1 << 20): Generator<Uint8Array> {
  for (let off = 0; off < data.length; off += size) yield data.subarray(off, off + size)
}

async function main (): Promise<void> {
  const { values } = parseArgs({ options: { mib: { type: 'string', default: '32' }, hops: { type: 'string', default: '3' } } })
  const mib = Number(values.mib)
  const hops = Number(values.hops)
  const bytes = mib * 1024 * 1024
  const net = await createNetwork(hops + 1, { config: { storeBytes: 4 * bytes + 64 * 1024 * 1024 }, core: { probabilisticHtl: false, sourceResetProb: 1 } })
  try {
    for (let i = 0; i < hops; i++) await net.connect(i, i + 1)
    const a = net.nodes[0]
    const d = net.nodes[hops]
    const rss0 = process.memoryUsage().rss

    const putData = randomBytes(bytes)
    let t = performance.now()
    const put = await a.client.put(chunks(putData), { htl: hops })
    const putMs = performance.now() - t

    const getData = randomBytes(bytes)
    const stored = await d.client.put(chunks(getData), { htl: 0 })
    t = performance.now()
    const got = await a.client.get(stored.uri, { htl: hops + 2 })
    const getMs = performance.now() - t
    if (!Buffer.from(got).equals(getData)) throw new Error('get returned different bytes')
    const hopsSeen = a.service.core.stats.local.requests
    const rss1 = process.memoryUsage().rss

    const rawMs = await rawStream(a, net.nodes[1], bytes)
    const mbps = (ms: number): number => Math.round((bytes / 1e6) / (ms / 1000) * 10) / 10
    console.log(JSON.stringify({
      setup: { fileMiB: mib, chainNodes: hops + 1, hops, blockBytes: 32768, blocks: put.blocks, inProcess: true, transport: 'tcp+noise+yamux on 127.0.0.1', node: process.version },
      put: { ms: Math.round(putMs), MBps: mbps(putMs), minStoredPerBlock: put.minStored },
      get: { ms: Math.round(getMs), MBps: mbps(getMs), meanHopsPerBlock: Math.round(hopsSeen.hops / Math.max(1, hopsSeen.success) * 100) / 100 },
      rawStream: { ms: Math.round(rawMs), MBps: mbps(rawMs) },
      ratios: { putVsRaw: Math.round(rawMs / putMs * 1000) / 1000, getVsRaw: Math.round(rawMs / getMs * 1000) / 1000 },
      rssMiB: { before: Math.round(rss0 / 2 ** 20), afterTransfers: Math.round(rss1 / 2 ** 20) }
    }, null, 2))
  } finally {
    await net.stop()
  }
}

await main()

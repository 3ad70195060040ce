/**
 * Benchmark: a large file (default 256 MiB) put at one node and fetched at another across a
 * 10-node network, measuring the peak RSS of the node doing the transfer. Prints JSON.
 * Usage: npm run build && npx node dist/bench/transfer-memory.js [--mib 256] [--nodes 10] [--htl 2] [--client-heap="V8 flags"] [--heap-snapshot DIR]
 * The put and get nodes run with `npm start`'s V8 flags (START_FLAGS) unless --client-heap
 * says otherwise (--client-heap= for V8's defaults). Their RSS includes the FEC pool's worker
 * threads (threads of the same process).
 *
 * Each role runs in its own process, so a node's memory is measured apart from the others:
 *   network: nodes-2 relay/storage nodes in one process (ring + chords), printing addresses;
 *   put:     one node (its own process) joins, inserts the file generated on the fly (never
 *            held whole), samples its RSS every 50 ms, prints the URI;
 *   get:     a fresh node (another process) joins elsewhere in the ring, streams the file,
 *            hashes it as it arrives and compares with the source's SHA-256.
 * --heap-snapshot DIR writes put.heapsnapshot and get.heapsnapshot there, taken after a full GC
 * when the transfer has ended and before the node stops: what the node still holds because of
 * the transfer (open them in Chrome's DevTools, Memory tab).
 * The in-process variant (all nodes in one process) is what earlier runs measured: there the
 * ten nodes' stores, streams and garbage dominate RSS, not the transfer.
 */
import { fork } from 'node:child_process'
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { loadavg } from 'node:os'
import { createNetwork, createNode, ring, until } from '../test/helpers/network.js'
import { START_FLAGS } from '../test/helpers/start-flags.js'
import { DEFAULT_STORE_BYTES } from '../src/constants.js'
import type { ChildProcess } from 'node:child_process'

interface Args { mib: number, nodes: number, htl: number, role: string, peers: string[], uri?: string, clientHeap: string, heapSnapshot?: string }

function args (): Args {
  const { values } = parseArgs({
    options: {
      mib: { type: 'string', default: '256' },
      nodes: { type: 'string', default: '10' },
      htl: { type: 'string', default: '2' },
      role: { type: 'string', default: 'main' },
      peers: { type: 'string', default: '' },
      uri: { type: 'string' },
      'client-heap': { type: 'string', default: START_FLAGS.join(' ') },
      'heap-snapshot': { type: 'string' }
    }
  })
  return { mib: Number(values.mib), nodes: Number(values.nodes), htl: Number(values.htl), role: values.role, peers: values.peers.split(',').filter((p) => p !== ''), uri: values.uri, clientHeap: values['client-heap'], heapSnapshot: values['heap-snapshot'] }
}

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

function storeBytesFor (a: Args): number {
  // Every block (data and check: twice the file) is stored on the htl + 1 nodes of its path and
  // more: a 256 MiB put at HTL 2 left 4.7 copies a block across the 8 network nodes, and the two
  // nodes the ring's chord joins held 1.7x the mean. With room for htl + 1 copies and a margin of
  // 1.5 those two filled up and evicted, and a get once found a segment short of blocks
  // (5 December 2026). The bench measures memory, not eviction: room for htl + 2 copies, 3x.
  return Math.ceil(2 * a.mib * 2 ** 20 * (a.htl + 2) / (a.nodes - 2) * 3) + 64 * 2 ** 20
}

/** The relay/storage nodes; stays up until its parent disconnects. */
async function network (a: Args): Promise<void> {
  const net = await createNetwork(a.nodes - 2, { config: { storeBytes: storeBytesFor(a) }, core: { hopTimeoutMs: 5000 } })
  await ring(net, [[0, Math.floor((a.nodes - 2) / 2)]])
  process.send!({ addrs: net.nodes.map((n) => n.libp2p.getMultiaddrs()[0].toString()) })
  process.on('disconnect', () => { void net.stop().then(() => process.exit(0)) })
}

/** One client node: put or get, with its own peak RSS. */
async function client (a: Args): Promise<void> {
  // The node measured runs with `npm start`'s store size (the test helper's default is 64 MiB;
  // until 5 December 2026 it had the relays' large store, whose index then grew with the file).
  const { node, dir } = await createNode({ config: { storeBytes: DEFAULT_STORE_BYTES }, core: { hopTimeoutMs: 5000 } })
  let peak = process.memoryUsage().rss
  const start = peak
  let livePeak = 0
  let liveAtPeak = {}
  // What the process held when its RSS peaked: V8's heap, ArrayBuffers, and the rest (native:
  // LevelDB's memtables and caches, the codec's WebAssembly memory, malloc's free lists).
  let atRssPeak = {}
  const sampler = setInterval(() => {
    const m = process.memoryUsage()
    if (m.rss <= peak) return
    peak = m.rss
    const mib = (b: number): number => Math.round(b / 2 ** 20)
    atRssPeak = { heapTotal: mib(m.heapTotal), arrayBuffers: mib(m.arrayBuffers), otherExternal: mib(m.external - m.arrayBuffers), native: mib(m.rss - m.heapTotal - m.external) }
  }, 50)
  // Live memory (after a full GC) every 2 s: what the transfer really holds, apart from garbage.
  const { setFlagsFromString } = await import('node:v8')
  const { runInNewContext } = await import('node:vm')
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const live = setInterval(() => {
    gc()
    const m = process.memoryUsage()
    const total = m.heapUsed + m.external
    if (total > livePeak) {
      livePeak = total
      liveAtPeak = { heapUsed: Math.round(m.heapUsed / 2 ** 20), arrayBuffers: Math.round(m.arrayBuffers / 2 ** 20), otherExternal: Math.round((m.external - m.arrayBuffers) / 2 ** 20) }
    }
  }, 2000)
  try {
    const { multiaddr } = await import('@multiformats/multiaddr')
    for (const p of a.peers) await node.libp2p.dial(multiaddr(p))
    await until(() => node.service.core.table.size >= a.peers.length, 10_000, 'routing table')
    const bytes = a.mib * 2 ** 20
    const t = performance.now()
    let out: Record<string, unknown>
    if (a.role === 'put') {
      const r = await node.client.put(source(bytes, 42), { htl: a.htl })
      out = { uri: r.uri, blocks: r.blocks, dataBlocks: r.dataBlocks, checkBlocks: r.checkBlocks, segments: r.segments, minStored: r.minStored }
    } else {
      const want = createHash('sha256')
      for (const c of source(bytes, 42)) want.update(c)
      const got = createHash('sha256')
      let n = 0
      const f = await node.client.open(a.uri!, { htl: a.htl + 6 })
      for await (const c of f.stream()) { got.update(c); n += c.length }
      if (n !== bytes || got.digest('hex') !== want.digest('hex')) throw new Error('fetched bytes differ from the source')
      out = { sha256Matches: true }
    }
    const ms = performance.now() - t
    if (a.heapSnapshot !== undefined) {
      gc()
      const v8 = await import('node:v8')
      v8.writeHeapSnapshot(`${a.heapSnapshot}/${a.role}.heapsnapshot`)
    }
    const mem = process.memoryUsage()
    process.send!({ ...out, ms: Math.round(ms), MBps: Math.round(bytes / 1e6 / (ms / 1000) * 10) / 10, rssMiB: { start: Math.round(start / 2 ** 20), peak: Math.round(peak / 2 ** 20), atPeak: atRssPeak }, liveAfterGcPeakMiB: Math.round(livePeak / 2 ** 20), liveAtPeak, endMiB: { heapUsed: Math.round(mem.heapUsed / 2 ** 20), arrayBuffers: Math.round(mem.arrayBuffers / 2 ** 20) } })
  } finally {
    clearInterval(sampler)
    clearInterval(live)
    await node.stop()
    const { rm } = await import('node:fs/promises')
    await rm(dir, { recursive: true, force: true })
  }
}

async function child (role: string, a: Args, extra: string[]): Promise<{ proc: ChildProcess, msg: Promise<any> }> {
  // --client-heap "--max-semi-space-size=2 --max-old-space-size=96": V8 limits for the put
  // and get nodes only (the network process hosts many nodes).
  const execArgv = role === 'network' || a.clientHeap === '' ? [] : a.clientHeap.split(/\s+/)
  const proc = fork(fileURLToPath(import.meta.url), ['--role', role, '--mib', String(a.mib), '--nodes', String(a.nodes), '--htl', String(a.htl), `--client-heap=${a.clientHeap}`, ...(a.heapSnapshot === undefined ? [] : ['--heap-snapshot', a.heapSnapshot]), ...extra], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv })
  const msg = new Promise((resolve, reject) => {
    proc.once('message', resolve)
    proc.once('exit', (code) => { reject(new Error(`${role} exited with ${code}`)) })
  })
  return { proc, msg }
}

async function main (): Promise<void> {
  const a = args()
  if (a.role === 'network') return await network(a)
  if (a.role === 'put' || a.role === 'get') {
    await client(a)
    process.exit(0)
  }
  const net = await child('network', a, [])
  try {
    const { addrs } = await net.msg as { addrs: string[] }
    const putter = await child('put', a, ['--peers', [addrs[0], addrs[Math.floor(addrs.length / 2)]].join(',')])
    const put = await putter.msg as Record<string, any>
    const getter = await child('get', a, ['--peers', [addrs[2], addrs[addrs.length - 2]].join(','), '--uri', put.uri])
    const get = await getter.msg
    const fileBytes = a.mib * 2 ** 20
    console.log(JSON.stringify({
      setup: { fileMiB: a.mib, nodes: a.nodes, htl: a.htl, processes: 'network (nodes-2) + put node + get node', clientV8Flags: a.clientHeap, node: process.version, loadAverage1m: Math.round(loadavg()[0] * 10) / 10 },
      put,
      get,
      peakRssOverFileSize: { put: Math.round(put.rssMiB.peak * 2 ** 20 / fileBytes * 100) / 100, get: Math.round(get.rssMiB.peak * 2 ** 20 / fileBytes * 100) / 100 }
    }, null, 2))
  } finally {
    net.proc.disconnect()
  }
}

await main()

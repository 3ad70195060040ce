/**
 * Benchmark: put then get of a file through a chain of warren nodes (A - B - C - D, three
 * hops), side by side with a raw libp2p stream between two of the same nodes, in one run.
 * Prints JSON. Usage: npm run build && npx node dist/bench/chain.js [--mib 64] [--hops 3] [--procs] [--phases put,get,raw,forward,floor]
 *
 *   put: client at A inserts with HTL = hops: every block travels A -> B -> C -> D (stored on all)
 *   get: the file is inserted at D only (HTL 0), then fetched from A: every block is routed
 *        A -> B -> C -> D and the data flows back through C and B (cached on the way)
 *   Source reset is 1 (every hop names itself as the data source), so no node learns a
 *   direct route to D and every block really crosses the chain.
 *   putLocal: the get's file put at D with HTL 0 (FEC, encryption, store; no network)
 *   raw: one libp2p stream A -> B moving the same number of bytes (64 KiB writes)
 *   forward: the same bytes A -> B -> C -> D through plain byte forwarders on libp2p streams
 *        (each middle node pipes one stream into the next, with back-pressure): what the
 *        transport alone allows over these hops, the ceiling for a get or put through them
 *   floor: the parts of a get the forwarder skips (a check per hop, a store write per relay,
 *        the requester's decryption), timed in this process (bench/lib/floor.ts); with the
 *        forwarder's figures they bound what any get over these hops can reach on this machine
 *   --procs: each node in its own process (this script forks itself with --child), closer to
 *   a deployment; without it all nodes share this process.
 *   --phases: run only some of put, get (with its putLocal), raw, forward and floor (profiling one phase).
 */
import { fork } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { createHash, randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createNetwork, createNode, serveOwnBlocks, until } from '../test/helpers/network.js'
import { removeTempDir } from '../test/helpers/temp.js'
import { measureFloor } from './lib/floor.js'
import type { TestNetworkOptions } from '../test/helpers/network.js'
import type { WarrenNode } from '../src/node.js'
import type { ChildProcess } from 'node:child_process'
import type { Stream } from '@libp2p/interface'

const RAW_PROTOCOL = '/warren-bench/raw/1.0.0'
const FORWARD_PROTOCOL = '/warren-bench/forward/1.0.0'

function nodeOptions (bytes: number): TestNetworkOptions {
  return { config: { storeBytes: 4 * bytes + 64 * 1024 * 1024 }, core: { probabilisticHtl: false, sourceResetProb: 1 } }
}

/** Serve RAW_PROTOCOL on `node`: count the bytes of each stream. */
async function rawSink (node: WarrenNode): Promise<void> {
  await node.libp2p.handle(RAW_PROTOCOL, async (stream: Stream) => {
    let received = 0
    for await (const chunk of stream) received += chunk.byteLength
    stream.send(new TextEncoder().encode(String(received)))
    await stream.close()
  })
}

/** Copy everything `from` carries into `to` as it arrives, waiting whenever `to` asks for a drain. */
async function pipe (from: Stream, to: Stream): Promise<void> {
  for await (const chunk of from) {
    if (!to.send(chunk)) await to.onDrain()
  }
  await to.close()
}

/**
 * Serve FORWARD_PROTOCOL on `node`: with a next hop set (`next()`, a stream already dialled
 * to it), pipe each stream into it and its answer back; without one, count the bytes like
 * rawSink.
 *
 * The handler starts reading before any await: a stream's async iterator that is attached
 * after the remote already half-closed never ends (libp2p 3.x, @libp2p/utils 7.4.1 - it only
 * listens for remoteCloseWrite and close). Dialling the next hop inside the handler lost that
 * race whenever A's few MiB were all sent before the dial finished: the bench hung.
 */
async function forwarder (node: WarrenNode, next: () => Stream | undefined): Promise<void> {
  await node.libp2p.handle(FORWARD_PROTOCOL, async (stream: Stream) => {
    const out = next()
    if (out === undefined) {
      let received = 0
      for await (const chunk of stream) received += chunk.byteLength
      stream.send(new TextEncoder().encode(String(received)))
      await stream.close()
      return
    }
    await Promise.all([pipe(stream, out), pipe(out, stream)])
  })
}

/** Open the forward stream from `node` to the node at `addr` (its next hop in the chain). */
async function dialForward (node: WarrenNode, addr: string): Promise<Stream> {
  const { multiaddr } = await import('@multiformats/multiaddr')
  return await node.libp2p.dialProtocol(multiaddr(addr), FORWARD_PROTOCOL)
}

/** Send `bytes` on one stream of `protocol` from `from` to the node at `addr`: ms until the far end counted them all. */
async function rawStream (from: WarrenNode, addr: string, bytes: number, protocol = RAW_PROTOCOL): Promise<number> {
  const { multiaddr } = await import('@multiformats/multiaddr')
  const stream = await from.libp2p.dialProtocol(multiaddr(addr), protocol)
  const chunk = randomBytes(64 * 1024)
  // Reading starts now, before any await (see forwarder): the answer may come back and the far
  // end close while this end still waits on its own close().
  const answering = (async () => {
    let text = ''
    for await (const c of stream) text += new TextDecoder().decode(c.subarray())
    return text
  })()
  const start = performance.now()
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    if (!stream.send(chunk)) await stream.onDrain()
  }
  await stream.close()
  const answer = await answering
  const ms = performance.now() - start
  if (Number(answer) < bytes) throw new Error(`${protocol} stream lost data: ${answer} < ${bytes}`)
  return ms
}

function* chunks (data: Uint8Array, size = 1 << 20): Generator<Uint8Array> {
  for (let off = 0; off < data.length; off += size) yield data.subarray(off, off + size)
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** What the bench asks of one node, in this process or in a child. */
interface NodeOps {
  addr: string
  peerId: string
  connect: (addr: string, peerId: string) => Promise<void>
  awaitPeer: (peerId: string) => Promise<void>
  put: (bytes: number, htl: number) => Promise<{ ms: number, uri: string, blocks: number, minStored: number, sha: string }>
  get: (uri: string, htl: number) => Promise<{ ms: number, sha: string, hops: number, success: number, failure: number }>
  /** Move the node's own puts from its client cache into its store, where peers' requests find them. */
  serve: () => Promise<number>
  raw: (addr: string, bytes: number) => Promise<number>
  /** Where this node's forwarder pipes to (none: it counts, as the chain's last node). */
  setNext: (addr: string) => Promise<void>
  forward: (addr: string, bytes: number) => Promise<number>
  rss: () => Promise<number>
  /** CPU time (user + system, all threads) of the node's process so far, ms. */
  cpu: () => Promise<number>
  stop: () => Promise<void>
}

function cpuMs (): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

function localOps (node: WarrenNode, stop: () => Promise<void>, setNext: (out: Stream) => void): NodeOps {
  return {
    addr: node.libp2p.getMultiaddrs()[0].toString(),
    peerId: node.peerId,
    connect: async (addr, peerId) => {
      const { multiaddr } = await import('@multiformats/multiaddr')
      await node.libp2p.dial(multiaddr(addr))
      await until(() => node.service.core.table.has(peerId), 10_000, 'the next node in the routing table')
    },
    awaitPeer: async (peerId) => { await until(() => node.service.core.table.has(peerId), 10_000, 'the previous node in the routing table') },
    put: async (bytes, htl) => {
      const data = randomBytes(bytes)
      const t = performance.now()
      const r = await node.client.put(chunks(data), { htl })
      return { ms: performance.now() - t, uri: r.uri, blocks: r.blocks, minStored: r.minStored, sha: sha(data) }
    },
    get: async (uri, htl) => {
      // Streamed and hashed as it arrives, as `warren get` and the gateway deliver a file:
      // no 64 MiB buffer (its first touch alone took ~6 % of the get's main thread).
      const t = performance.now()
      const hash = createHash('sha256')
      for await (const chunk of (await node.client.open(uri, { htl })).stream()) hash.update(chunk)
      const ms = performance.now() - t
      const s = node.service.core.stats.local.requests
      return { ms, sha: hash.digest('hex'), hops: s.hops, success: s.success, failure: s.failure }
    },
    serve: async () => await serveOwnBlocks(node),
    raw: async (addr, bytes) => await rawStream(node, addr, bytes),
    setNext: async (addr) => { setNext(await dialForward(node, addr)) },
    forward: async (addr, bytes) => await rawStream(node, addr, bytes, FORWARD_PROTOCOL),
    rss: async () => process.memoryUsage().rss,
    cpu: async () => cpuMs(),
    stop
  }
}

/** A node in a child process (this script with --child), driven over IPC. */
async function childOps (bytes: number): Promise<NodeOps & { proc: ChildProcess }> {
  const proc = fork(fileURLToPath(import.meta.url), ['--child', '--mib', String(bytes / 2 ** 20)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  let seq = 0
  const pending = new Map<number, { resolve: (v: any) => void, reject: (e: Error) => void }>()
  const ready = new Promise<{ addr: string, peerId: string }>((resolve, reject) => {
    proc.once('error', reject)
    proc.once('exit', (code) => { reject(new Error(`bench node exited with ${code}`)) })
    proc.on('message', (m: any) => {
      if (m.ready === true) resolve(m)
      const p = pending.get(m.seq)
      if (p === undefined) return
      pending.delete(m.seq)
      if (m.error !== undefined) p.reject(new Error(m.error))
      else p.resolve(m.result)
    })
  })
  const call = async (cmd: string, ...args: unknown[]): Promise<any> => await new Promise((resolve, reject) => {
    pending.set(++seq, { resolve, reject })
    proc.send({ seq, cmd, args })
  })
  const { addr, peerId } = await ready
  return {
    proc,
    addr,
    peerId,
    connect: async (a, p) => await call('connect', a, p),
    awaitPeer: async (p) => await call('awaitPeer', p),
    put: async (b, htl) => await call('put', b, htl),
    get: async (uri, htl) => await call('get', uri, htl),
    serve: async () => await call('serve'),
    raw: async (a, b) => await call('raw', a, b),
    setNext: async (a) => await call('setNext', a),
    forward: async (a, b) => await call('forward', a, b),
    rss: async () => await call('rss'),
    cpu: async () => await call('cpu'),
    stop: async () => {
      const exited = new Promise((resolve) => proc.once('exit', resolve))
      await call('stop').catch(() => {})
      proc.disconnect()
      await exited
    }
  }
}

async function child (bytes: number): Promise<void> {
  const { node, dir } = await createNode(nodeOptions(bytes))
  await rawSink(node)
  let next: Stream | undefined
  await forwarder(node, () => next)
  const ops = localOps(node, async () => {
    await node.stop()
    await removeTempDir(dir)
  }, (out) => { next = out }) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>
  process.on('message', (m: any) => {
    ops[m.cmd](...m.args).then(
      (result) => { process.send!({ seq: m.seq, result }) },
      (err: Error) => { process.send!({ seq: m.seq, error: err.stack ?? err.message }) })
  })
  process.send!({ ready: true, addr: ops.addr, peerId: ops.peerId })
}

async function main (): Promise<void> {
  const { values } = parseArgs({ options: { mib: { type: 'string', default: '64' }, hops: { type: 'string', default: '3' }, procs: { type: 'boolean', default: false }, phases: { type: 'string', default: 'put,get,raw,forward,floor' }, child: { type: 'boolean', default: false } } })
  const mib = Number(values.mib)
  const hops = Number(values.hops)
  const bytes = mib * 1024 * 1024
  if (values.child) {
    await child(bytes)
    return
  }
  let nodes: NodeOps[]
  if (values.procs) {
    nodes = await Promise.all(Array.from({ length: hops + 1 }, async () => await childOps(bytes)))
  } else {
    const net = await createNetwork(hops + 1, nodeOptions(bytes))
    await Promise.all(net.nodes.map(rawSink))
    const next = new Map<WarrenNode, Stream>()
    await Promise.all(net.nodes.map(async (n) => { await forwarder(n, () => next.get(n)) }))
    nodes = net.nodes.map((n, i) => localOps(n, async () => { if (i === 0) await net.stop() }, (out) => { next.set(n, out) }))
  }
  try {
    for (let i = 0; i < hops; i++) {
      await nodes[i].connect(nodes[i + 1].addr, nodes[i + 1].peerId)
      await nodes[i + 1].awaitPeer(nodes[i].peerId)
    }
    const a = nodes[0]
    const d = nodes[hops]
    const rss0 = await a.rss()
    // CPU seconds of all the nodes' processes (one process, or one each) during a phase: on a
    // shared machine the wall-clock figures swing with the load, the CPU spent per byte much less.
    const processes = values.procs ? nodes : [a]
    const cpuNow = async (): Promise<number> => (await Promise.all(processes.map(async (n) => await n.cpu()))).reduce((x, y) => x + y, 0)
    const cpu: Record<string, number> = {}
    const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      const c0 = await cpuNow()
      const r = await fn()
      cpu[name] = Math.round(await cpuNow() - c0) / 1000
      return r
    }

    const run = new Set(values.phases.split(','))
    const notRun = { ms: NaN, uri: '', blocks: 0, minStored: 0, sha: '' }
    const put = run.has('put') ? await phase('put', async () => await a.put(bytes, hops)) : notRun
    let stored = notRun
    let got = { ms: NaN, sha: '', hops: 0, success: 0, failure: 0 }
    if (run.has('get')) {
      stored = await phase('putLocal', async () => await d.put(bytes, 0))
      // A node's own put stays in its client cache, which peers never read: serve it from D's store.
      await d.serve()
      got = await phase('get', async () => await a.get(stored.uri, hops + 2))
      if (got.sha !== stored.sha) throw new Error('get returned different bytes')
    }
    const rss1 = await a.rss()

    const rawMs = run.has('raw') ? await phase('raw', async () => await a.raw(nodes[1].addr, bytes)) : NaN
    let forwardMs = NaN
    if (run.has('forward')) {
      // From the far end back: each middle node's next hop already forwards when it is dialled.
      for (let i = hops - 1; i >= 1; i--) await nodes[i].setNext(nodes[i + 1].addr)
      forwardMs = await phase('forward', async () => await a.forward(nodes[1].addr, bytes))
    }
    const ratio = (x: number, y: number): number => Math.round(x / y * 1000) / 1000
    // A get does at least what the forwarder does, plus a check at each of the `hops` nodes a
    // block reaches, a store write at each of the hops - 1 relays (the requester keeps no
    // large file) and the requester's decryption: in no less time than the forwarder took,
    // nor than that CPU spread over every core of the machine.
    let floor
    if (run.has('floor') && !run.has('forward')) process.stderr.write('the floor phase needs the forward phase beside it: not measured\n')
    if (run.has('floor') && run.has('forward')) {
      const f = await measureFloor(bytes)
      const cores = availableParallelism()
      const getCpuFloorS = Math.round((cpu.forward + hops * f.checkCpuS + (hops - 1) * f.storeCpuS + f.decodeCpuS) * 1000) / 1000
      const getMsFloor = Math.round(Math.max(forwardMs, getCpuFloorS * 1000 / cores))
      floor = { cpuSeconds: f, cores, getCpuFloorS, getMsFloor, getVsRawCeiling: ratio(rawMs, getMsFloor) }
    }
    const mbps = (ms: number): number => Math.round((bytes / 1e6) / (ms / 1000) * 10) / 10
    console.log(JSON.stringify({
      setup: { fileMiB: mib, chainNodes: hops + 1, hops, blockBytes: 32768, blocks: put.blocks > 0 ? put.blocks : stored.blocks, inProcess: !values.procs, processes: values.procs ? hops + 1 : 1, transport: 'tcp+noise+yamux on 127.0.0.1', node: process.version },
      put: { ms: Math.round(put.ms), MBps: mbps(put.ms), minStoredPerBlock: put.minStored },
      // The same put at D with HTL 0: FEC encoding, encryption and D's store, no network. A
      // put through the chain cannot beat it.
      putLocal: { ms: Math.round(stored.ms), MBps: mbps(stored.ms) },
      get: { ms: Math.round(got.ms), MBps: mbps(got.ms), meanHopsPerBlock: Math.round(got.hops / Math.max(1, got.success) * 100) / 100, blocks: got.success, failedRequests: got.failure },
      rawStream: { ms: Math.round(rawMs), MBps: mbps(rawMs) },
      // Plain byte forwarders over the same hops: the transport's own ceiling for the chain.
      forwardChain: { ms: Math.round(forwardMs), MBps: mbps(forwardMs) },
      ratios: { putVsRaw: ratio(rawMs, put.ms), getVsRaw: ratio(rawMs, got.ms), putLocalVsRaw: ratio(rawMs, stored.ms), forwardVsRaw: ratio(rawMs, forwardMs), getVsForward: ratio(forwardMs, got.ms), putVsForward: ratio(forwardMs, put.ms) },
      cpuSeconds: cpu,
      // Raw stream CPU per byte / warren CPU per byte: how much of the node's CPU a transfer
      // spends beside moving the bytes (put: FEC, 4 stores, 3 hops; get: 3 hops, 3 stores).
      cpuRatios: { putVsRaw: ratio(cpu.raw, cpu.put), getVsRaw: ratio(cpu.raw, cpu.get), forwardVsRaw: ratio(cpu.raw, cpu.forward) },
      floor,
      rssMiB: { nodeABefore: Math.round(rss0 / 2 ** 20), nodeAAfterTransfers: Math.round(rss1 / 2 ** 20) }
    }, null, 2))
  } finally {
    for (const n of nodes) await n.stop()
  }
}

await main()

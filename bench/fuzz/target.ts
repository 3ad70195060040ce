/**
 * The fuzz campaign's target (bench/fuzz/fuzz.ts forks it): three real warren nodes on
 * 127.0.0.1 in a line (0 - 1 - 2) and the client API of node 0, in a process of their own, so
 * that a crash is seen as this process exiting. Unhandled rejections are counted instead of
 * ending the process (node's default), and reported with the memory figures on request.
 *
 * IPC: sends { ready, addrs, api, cards (the nodes' tunnel cards) } once up; answers 'stats' with Stats; on 'stop' stops the
 * nodes, removes their folders and exits 0.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startApiServer } from '../../src/api/server.js'
import { defaultConfig } from '../../src/config.js'
import { createWarrenNode } from '../../src/node.js'
import type { WarrenNode } from '../../src/node.js'

export interface TargetStats {
  rss: number
  heapUsed: number
  /** CPU time of this process so far (user + system), in seconds. */
  cpuSeconds: number
  unhandledRejections: number
  /** The first few unhandled rejections' messages. */
  rejections: string[]
  /** Operations and per-peer slots still held at each node. */
  activeOperations: number[]
  slotsHeld: number[]
  /** Tunnels being routed and tunnel streams up, at each node. */
  tunnelsActive: number[]
}

let unhandled = 0
const rejections: string[] = []
process.on('unhandledRejection', (err: any) => {
  unhandled++
  if (rejections.length < 5) rejections.push(String(err?.stack ?? err))
})

const dirs: string[] = []
const nodes: WarrenNode[] = []
for (let i = 0; i < 3; i++) {
  const dir = await mkdtemp(join(tmpdir(), 'warren-fuzz-'))
  dirs.push(dir)
  const node = await createWarrenNode({ ...defaultConfig(dir), listen: ['/ip4/127.0.0.1/tcp/0'], storeBytes: 64 * 1024 * 1024, htl: 3 }, {
    localTestnet: true,
    arkPublish: false,
    announce: false,
    // Deeper paths rather than quota refusals (the quota has its own test); silent streams answered fast.
    service: { firstFrameTimeoutMs: 500, insertQuota: { blocks: 1e12, bytes: 1e15 } },
    core: { hopTimeoutMs: 1000 }
  })
  await node.start()
  nodes.push(node)
}
for (const [a, b] of [[0, 1], [1, 2]]) {
  await nodes[a].libp2p.dial(nodes[b].libp2p.getMultiaddrs()[0])
  const deadline = Date.now() + 10_000
  while (!(nodes[a].service.core.table.has(nodes[b].peerId) && nodes[b].service.core.table.has(nodes[a].peerId))) {
    if (Date.now() > deadline) throw new Error(`nodes ${a} and ${b} did not become neighbours`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
const api = await startApiServer(nodes[0], { host: '127.0.0.1', port: 0 })

function stats (): TargetStats {
  // Forked with --expose-gc: the heap figure is what is live, not garbage not yet collected.
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  const m = process.memoryUsage()
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    cpuSeconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
    unhandledRejections: unhandled,
    rejections,
    activeOperations: nodes.map((n) => n.service.activeOperations),
    slotsHeld: nodes.map((n) => n.service.slotsHeld),
    tunnelsActive: nodes.map((n) => n.tunnels.active.routing + n.tunnels.active.streams)
  }
}

process.on('message', (m) => {
  if (m === 'stats') process.send!({ stats: stats() })
  if (m === 'stop') {
    void (async () => {
      await api.app.close()
      for (const n of nodes) await n.stop().catch(() => {})
      for (const d of dirs) await rm(d, { recursive: true, force: true })
      process.exit(0)
    })()
  }
})
const cards = await Promise.all(nodes.map(async (n) => (await n.tunnel.card()).text))
process.send!({ ready: true, addrs: nodes[0].libp2p.getMultiaddrs().map(String), api: api.url, peerId: nodes[0].peerId, cards })

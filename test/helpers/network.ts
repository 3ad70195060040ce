/**
 * Real local warren networks for tests: N full nodes (TCP + Noise + yamux + warren) on
 * 127.0.0.1 with random ports and temporary data dirs, connected in a chosen topology.
 */
import { defaultConfig } from '../../src/config.js'
import { createWarrenNode } from '../../src/node.js'
import { RoutingKey } from '../../src/keys/routing-key.js'
import type { WarrenConfig } from '../../src/config.js'
import type { WarrenNode, WarrenNodeOptions } from '../../src/node.js'
import { removeTempDir, tempDir } from './temp.js'

export interface TestNetwork {
  nodes: WarrenNode[]
  dirs: string[]
  /** Dial a -> b and wait until both routing tables know each other. */
  connect: (a: number, b: number) => Promise<void>
  stop: () => Promise<void>
}

export interface TestNetworkOptions extends WarrenNodeOptions {
  config?: Partial<WarrenConfig>
}

export async function createNode (options: TestNetworkOptions = {}): Promise<{ node: WarrenNode, dir: string }> {
  const dir = await tempDir('warren-node-')
  const config: WarrenConfig = { ...defaultConfig(dir), listen: ['/ip4/127.0.0.1/tcp/0'], storeBytes: 64 * 1024 * 1024, ...options.config }
  // ARKs are published only where a test asks for it (background inserts would skew its counters).
  const node = await createWarrenNode(config, { localTestnet: true, arkPublish: false, ...options })
  await node.start()
  return { node, dir }
}

/** Resolves once `check()` is true, polling on the event loop; rejects after `ms`. */
export async function until (check: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setImmediate(resolve))
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

export async function createNetwork (n: number, options: TestNetworkOptions = {}): Promise<TestNetwork> {
  const created = await Promise.all(Array.from({ length: n }, async () => await createNode(options)))
  const nodes = created.map((c) => c.node)
  const dirs = created.map((c) => c.dir)
  const connect = async (a: number, b: number): Promise<void> => {
    const na = nodes[a]
    const nb = nodes[b]
    await na.libp2p.dial(nb.libp2p.getMultiaddrs()[0])
    // Identify runs after the connection opens; the routing-table entry follows it.
    await until(() => na.service.core.table.has(nb.peerId) && nb.service.core.table.has(na.peerId), 10_000, `link ${a}<->${b}`)
  }
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map(async (node) => { await node.stop().catch(() => {}) }))
    await Promise.all(dirs.map(removeTempDir))
  }
  return { nodes, dirs, connect, stop }
}

/** Connect nodes in a ring (i <-> i+1), plus optional extra links. */
export async function ring (net: TestNetwork, extra: Array<[number, number]> = []): Promise<void> {
  const n = net.nodes.length
  for (let i = 0; i < n; i++) await net.connect(i, (i + 1) % n)
  for (const [a, b] of extra) await net.connect(a, b)
}

/**
 * Moves every block of `node`'s client cache into its store, where peers' requests find it.
 * A node's own put keeps its blocks in the client cache, which no peer reads (issue 11,
 * finding 6); tests that need a file held by one node only (put with HTL 0) call this after.
 */
export async function serveOwnBlocks (node: WarrenNode): Promise<number> {
  const blocks: Array<[string, Uint8Array]> = []
  // verify() walks every stored block; a check that always passes deletes nothing.
  await node.clientCache.verify((hex, bytes) => { blocks.push([hex, bytes]); return true })
  for (const [hex, bytes] of blocks) await node.store.put(RoutingKey.fromHex(hex), bytes)
  return blocks.length
}

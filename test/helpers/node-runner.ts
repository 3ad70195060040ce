/**
 * One real warren node in a process of its own, driven over IPC by test/helpers/fleet.ts (the
 * churn and crash-under-load tests and benches of issue 11): it can be killed with SIGKILL like
 * a real node and restarted on the same data folder (same identity, same store).
 *
 * argv: dataDir. Sends { ready, addr, peerId, openReport } once started. Requests carry an id
 * and are answered { id, ok, ... } or { id, ok: false, error, ms }:
 *   connect { addrs }             dial each (failures counted, not thrown)
 *   put { size, seed, deadlineMs, htl? } insert `size` bytes drawn from `seed`; answers uri, sha256,
 *                                  the routing keys of its blocks, ms
 *   get { uri, deadlineMs, htl? }  fetch; answers sha256, size, ms
 *   has { keys }                   which routing keys (hex) the node holds (store or client cache)
 *   stats                          RSS, live heap after a GC (forked with --expose-gc), routing
 *                                  table, peers, store, operations in flight
 * Every put and get runs under AbortSignal.timeout(deadlineMs): `ms` says when it settled.
 */
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { multiaddr } from '@multiformats/multiaddr'
import { defaultConfig } from '../../src/config.js'
import { RoutingKey } from '../../src/keys/routing-key.js'
import { createWarrenNode } from '../../src/node.js'

/** `size` bytes from `seed`: SHA-256 in counter mode, so the parent need not send the data. */
function seededData (size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size)
  for (let i = 0; i * 32 < size; i++) {
    const block = createHash('sha256').update(`${seed}:${i}`).digest()
    out.set(block.subarray(0, Math.min(32, size - i * 32)), i * 32)
  }
  return out
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

async function main (): Promise<void> {
  const dir = process.argv[2]
  // The parent gone (killed, or ended without stopping us): a node nobody drives must not linger.
  process.on('disconnect', () => { process.exit(1) })
  const node = await createWarrenNode({ ...defaultConfig(dir), listen: ['/ip4/127.0.0.1/tcp/0'], storeBytes: 64 * 1024 * 1024 }, {
    localTestnet: true,
    arkPublish: false,
    announce: false
  })
  await node.start()

  const handlers: Record<string, (m: any) => Promise<Record<string, unknown>>> = {
    connect: async (m: { addrs: string[] }) => {
      let failed = 0
      await Promise.all(m.addrs.map(async (a) => {
        try {
          await node.libp2p.dial(multiaddr(a), { signal: AbortSignal.timeout(10_000) })
        } catch {
          failed++
        }
      }))
      return { failed }
    },
    put: async (m: { size: number, seed: number, deadlineMs: number, htl?: number }) => {
      const data = seededData(m.size, m.seed)
      const keys: string[] = []
      const r = await node.client.put(Readable.from([data]), {
        signal: AbortSignal.timeout(m.deadlineMs),
        htl: m.htl,
        onProgress: (evt) => { if (evt.type === 'warren:insert:block') keys.push((evt.detail as { key: RoutingKey }).key.hex) }
      })
      return { uri: r.uri, sha256: sha256(data), keys, blocks: r.blocks, minStored: r.minStored }
    },
    get: async (m: { uri: string, deadlineMs: number, htl?: number }) => {
      const data = await node.client.get(m.uri, { signal: AbortSignal.timeout(m.deadlineMs), htl: m.htl })
      return { sha256: sha256(data), size: data.length }
    },
    has: async (m: { keys: string[] }) => ({ has: m.keys.map((k) => node.store.has(RoutingKey.fromHex(k)) || node.clientCache.has(RoutingKey.fromHex(k))) }),
    stats: async () => {
      const gc = (globalThis as { gc?: () => void }).gc
      gc?.()
      const mem = process.memoryUsage()
      const s = node.status()
      return { rss: mem.rss, heapUsed: mem.heapUsed, table: s.routingTable.size, peers: s.peers, blocks: s.store.count, operations: s.operations.active }
    },
    stop: async () => {
      await node.stop()
      setImmediate(() => process.exit(0))
      return {}
    }
  }

  process.on('message', (m: { id: number, op: string }) => {
    const started = performance.now()
    const ms = (): number => Math.round(performance.now() - started)
    const handler = handlers[m.op]
    if (handler === undefined) {
      process.send!({ id: m.id, ok: false, error: `unknown op ${m.op}`, ms: 0 })
      return
    }
    handler(m).then(
      (r) => { process.send!({ id: m.id, ok: true, ...r, ms: ms() }) },
      (err: Error) => { process.send!({ id: m.id, ok: false, error: `${err.name}: ${err.message}`, ms: ms() }) }
    )
  })
  process.send!({ ready: true, addr: node.libp2p.getMultiaddrs()[0].toString(), peerId: node.peerId, openReport: node.store.openReport })
}

if (process.send === undefined || process.argv[2] === undefined) throw new Error('node-runner is forked by test/helpers/fleet.ts with a data folder')
await main()

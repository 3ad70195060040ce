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
 *   trace { on }                   start (clear) or stop recording what the routing core does with
 *                                  every request (receive, forward, answer), for a diagnosis
 *   diagnose { keys }              the recorded requests for those keys (routing keys, hex), the
 *                                  routing table (peer, location) and the connected peers
 * Every put and get runs under AbortSignal.timeout(deadlineMs): `ms` says when it settled.
 */
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { multiaddr } from '@multiformats/multiaddr'
import { defaultConfig } from '../../src/config.js'
import { RoutingKey } from '../../src/keys/routing-key.js'
import { createWarrenNode } from '../../src/node.js'
import type { Action, IncomingMessage, Response } from '../../src/routing/node-core.js'

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
  const trace = traceCore(node.service.core)

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
      const stored = new Map<string, number>()
      const r = await node.client.put(Readable.from([data]), {
        signal: AbortSignal.timeout(m.deadlineMs),
        htl: m.htl,
        onProgress: (evt) => {
          if (evt.type === 'warren:insert:block') keys.push((evt.detail as { key: RoutingKey }).key.hex)
          if (evt.type === 'warren:insert:result') stored.set((evt.detail as { key: RoutingKey }).key.hex, (evt.detail as { stored: number }).stored)
        }
      })
      // Blocks no node but this one stored (its client cache): what its routing core did with them.
      const weak = keys.filter((k) => (stored.get(k) ?? 0) <= 1).map((k) => ({ key: k, stored: stored.get(k), events: trace.ownInsert(k) }))
      return { uri: r.uri, sha256: sha256(data), keys, blocks: r.blocks, minStored: r.minStored, weak }
    },
    get: async (m: { uri: string, deadlineMs: number, htl?: number }) => {
      const data = await node.client.get(m.uri, { signal: AbortSignal.timeout(m.deadlineMs), htl: m.htl })
      return { sha256: sha256(data), size: data.length }
    },
    has: async (m: { keys: string[] }) => {
      const store = m.keys.map((k) => node.store.has(RoutingKey.fromHex(k)))
      const client = m.keys.map((k) => node.clientCache.has(RoutingKey.fromHex(k)))
      return { has: store.map((h, j) => h || client[j]), store, client }
    },
    stats: async () => {
      const gc = (globalThis as { gc?: () => void }).gc
      gc?.()
      const mem = process.memoryUsage()
      const s = node.status()
      return { rss: mem.rss, heapUsed: mem.heapUsed, table: s.routingTable.size, peers: s.peers, blocks: s.store.count, operations: s.operations.active }
    },
    trace: async (m: { on: boolean }) => {
      trace.set(m.on)
      return {}
    },
    diagnose: async (m: { keys: string[] }) => ({
      events: trace.events(m.keys),
      table: [...node.service.core.table.entries()].map((e) => ({ peer: e.peer, loc: e.loc })),
      connected: node.libp2p.getConnections().map((c) => c.remotePeer.toString())
    }),
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

/**
 * Records what `core` does with each request while on: the message received (from whom, at which
 * HTL), each child's answer, and the actions that followed, `next` (forwards with their HTL, the reply).
 * Wraps the core's two entry points; nothing is kept while off.
 */
function traceCore (core: { receive: (from: string | null, msg: IncomingMessage<string>) => Array<Action<string>>, response: (id: bigint, from: string, res: Response<string>) => Array<Action<string>> }): { set: (on: boolean) => void, events: (keys: string[]) => unknown[], ownInsert: (key: string) => unknown[] } {
  let byId: Map<bigint, { key: string, events: unknown[] }> | undefined
  /** The node's own inserts, always (the latest OWN_INSERTS): what became of an insert that stored nowhere. */
  const own = new Map<bigint, { key: string, events: unknown[] }>()
  const OWN_INSERTS = 64
  const brief = (actions: Array<Action<string>>): unknown[] => actions.map((a) =>
    a.type === 'forward' ? { forward: a.to, htl: a.htl, timeoutMs: Math.round(a.timeoutMs) } : a.type === 'reply' ? { reply: a.reply, to: a.to } : { [a.type]: true })
  const receive = core.receive.bind(core)
  core.receive = (from, msg) => {
    const actions = receive(from, msg)
    const event = { t: Date.now(), id: String(msg.id), receive: { from, htl: msg.htl }, next: brief(actions) }
    if (byId !== undefined && msg.kind === 'request') {
      const rec = byId.get(msg.id) ?? { key: msg.key.hex, events: [] }
      byId.set(msg.id, rec)
      rec.events.push(event)
    }
    if (from === null && msg.kind === 'insert') {
      own.set(msg.id, { key: msg.key.hex, events: [event] })
      if (own.size > OWN_INSERTS) own.delete(own.keys().next().value as bigint)
    }
    return actions
  }
  const response = core.response.bind(core)
  core.response = (id, from, res) => {
    const actions = response(id, from, res)
    const event = { t: Date.now(), id: String(id), response: { from, res }, next: brief(actions) }
    byId?.get(id)?.events.push(event)
    own.get(id)?.events.push(event)
    return actions
  }
  for (const name of ['insertData', 'dataStored'] as const) {
    const f = (core as any)[name].bind(core)
    ;(core as any)[name] = (id: bigint, ...rest: unknown[]) => {
      const actions = f(id, ...rest)
      own.get(id)?.events.push({ t: Date.now(), id: String(id), [name]: rest, next: brief(actions) })
      return actions
    }
  }
  return {
    set: (on) => { byId = on ? new Map() : undefined },
    ownInsert: (key) => [...own.values()].filter((r) => r.key === key).flatMap((r) => r.events),
    events: (keys) => [...(byId?.values() ?? [])].filter((r) => keys.includes(r.key)).flatMap((r) => r.events.map((e) => ({ key: r.key, ...(e as object) })))
  }
}

if (process.send === undefined || process.argv[2] === undefined) throw new Error('node-runner is forked by test/helpers/fleet.ts with a data folder')
await main()

/**
 * An instrumented middleman: hooks on every stream a running node handles, on every
 * protocol (requests, inserts, tunnels...), inbound and outbound, recording every byte it
 * receives and sends per stream (after Noise, before or after warren's framing: what the
 * node's own code sees). `sees(needle)` says whether any stream carried `needle` (across
 * message boundaries), `with(peer)` keeps the streams exchanged with one neighbour.
 */
import { createApiServer } from '../../src/api/server.js'
import { createNetwork, until } from '../helpers/network.js'
import type { TestNetwork, TestNetworkOptions } from '../helpers/network.js'
import type { WarrenNode } from '../../src/node.js'
import type { FastifyInstance } from 'fastify'
import type { Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'

interface Tapped {
  peer: string
  protocol: string
  /** Received and sent bytes, kept apart so that a needle split across messages is still found. */
  received: Uint8Array[]
  sent: Uint8Array[]
}

function bytesOf (d: unknown): Uint8Array {
  const l = d as { subarray?: (a?: number, b?: number) => Uint8Array }
  return d instanceof Uint8Array ? d : (l.subarray?.() ?? new Uint8Array())
}

export class Tap {
  private streams: Tapped[] = []

  private watch (stream: Stream, peer: string, protocol: string): void {
    const t: Tapped = { peer, protocol, received: [], sent: [] }
    this.streams.push(t)
    stream.addEventListener('message', (evt) => { t.received.push(new Uint8Array(bytesOf((evt as unknown as { data: unknown }).data))) })
    const send = stream.send.bind(stream)
    stream.send = (data) => {
      t.sent.push(new Uint8Array(bytesOf(data)))
      return send(data)
    }
  }

  /** Hook every protocol handler of `node` (re-registered with the same options) and every stream it opens. */
  static async on (node: WarrenNode): Promise<Tap> {
    const tap = new Tap()
    const components = (node.libp2p as unknown as { components: { registrar: Registrar, connectionManager: ConnectionManager } }).components
    const registrar = components.registrar
    for (const protocol of registrar.getProtocols()) {
      const { handler, options } = registrar.getHandler(protocol)
      await registrar.unhandle(protocol)
      await registrar.handle(protocol, (stream, connection) => {
        tap.watch(stream, connection.remotePeer.toString(), protocol)
        return handler(stream, connection)
      }, options)
    }
    const cm = components.connectionManager
    const open = cm.openStream.bind(cm)
    cm.openStream = async (peer, protocol, options) => {
      const stream = await open(peer, protocol, options)
      tap.watch(stream, peer.toString(), stream.protocol ?? String(protocol))
      return stream
    }
    return tap
  }

  clear (): void {
    this.streams = []
  }

  /** Streams with `peer` only. */
  with (peer: string): Tap {
    const t = new Tap()
    t.streams = this.streams.filter((s) => s.peer === peer)
    return t
  }

  /** Total bytes seen (on `protocol`, if given). */
  bytes (protocol?: string): number {
    return this.streams.filter((s) => protocol === undefined || s.protocol === protocol).reduce((n, s) => n + [...s.received, ...s.sent].reduce((m, p) => m + p.length, 0), 0)
  }

  /** Every stream's received and sent bytes on `protocol`, each direction as one buffer. */
  directions (protocol: string): Buffer[] {
    return this.streams.filter((s) => s.protocol === protocol).flatMap((s) => [Buffer.concat(s.received), Buffer.concat(s.sent)])
  }

  /** Every stream's protocol and the bytes this node sent on it, as one buffer. */
  sentStreams (): Array<{ protocol: string, sent: Buffer }> {
    return this.streams.map((s) => ({ protocol: s.protocol, sent: Buffer.concat(s.sent) }))
  }

  sees (needle: Uint8Array): boolean {
    const n = Buffer.from(needle)
    return this.streams.some((s) => Buffer.concat(s.received).includes(n) || Buffer.concat(s.sent).includes(n))
  }
}

/**
 * Fix a test network's topology: no node dials the peers it learns of (announcements, data
 * sources), so that a requester and its trusted peer stay apart.
 */
export function fixTopology (nodes: WarrenNode[]): void {
  for (const n of nodes) {
    n.neighbours.stop()
    n.announcer.stop()
  }
}

/**
 * The tunnel tests' network: A (0) -> M1 (1) -> M2 (2) -> T (3) in a line, topology fixed, HTL
 * deterministic (T's own inserts at HTL 1 end at M2, never reach A: A would learn T as their
 * source, route to it and dial it), tunnel routes up, and A trusting T as "t".
 */
export async function tunnelChain (options: TestNetworkOptions = {}): Promise<TestNetwork> {
  const net = await createNetwork(4, { ...options, core: { ...options.core, probabilisticHtl: false } })
  try {
    fixTopology(net.nodes)
    await net.connect(0, 1)
    await net.connect(1, 2)
    await net.connect(2, 3)
    const tunnels = (i: number): number => net.nodes[i].tunnels.core.table.peerSet().size
    await until(() => tunnels(1) === 2 && tunnels(2) === 2 && tunnels(0) === 1 && tunnels(3) === 1, 10_000, 'tunnel routes')
    await net.nodes[0].tunnel.trustAdd('t', (await net.nodes[3].tunnel.card()).text)
    return net
  } catch (err) {
    await net.stop()
    throw err
  }
}

/** The client API and gateway of `node`, listening on 127.0.0.1: its base URL. */
export async function listenApi (node: WarrenNode): Promise<{ app: FastifyInstance, base: string }> {
  const app = await createApiServer(node)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const addr = app.server.address()
  return { app, base: `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}` }
}

/**
 * One warren node in its own process, run by the namespace tests inside a network namespace
 * (`ip netns exec HOST node dist/test/netns/host.js '<json>'`): a real node with production
 * defaults (no localTestnet, no allowPrivateAddrs), driven over the IPC channel.
 *
 * Commands (message { id, cmd, ... }, answer { id, ok, result | error }):
 *   status                      peer ID, addresses, connections (remote address, limited or not), routing table
 *   hold { data }               store a CHK block of `data` (base64) in this node's store only -> { key }
 *   request { key, htl }        fetch the block under `key` (hex) through the network -> { sha256, bytes, hops }
 *   put { data, htl }           insert a file -> { uri }
 *   get { uri }                 fetch a file -> { sha256, bytes }
 *   dial { addr, force }        open a connection (a new one with force) -> { remoteAddr, limited }
 *   stream { addr, protocol }   32 bytes on a stream of `protocol` over a new connection to addr -> { limited, received, outcome }
 *   ping { addr }               libp2p ping over a connection to addr -> { rtt }
 *   stop                        stop the node and exit
 */
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { multiaddr } from '@multiformats/multiaddr'
import { Block, KeyType } from '../../proto/warren.js'
import { defaultConfig } from '../../src/config.js'
import { ChkType, encodeChk } from '../../src/keys/chk.js'
import { RoutingKey } from '../../src/keys/routing-key.js'
import { createWarrenNode } from '../../src/node.js'
import { createLogger } from '../../src/util/logger.js'
import type { NatOptions } from '../../src/nat.js'

export interface HostInit {
  dataDir: string
  listen: string[]
  bootstrap?: string[]
  /** The addresses the node announces (config `announce`, WARREN_ANNOUNCE). */
  announce?: string[]
  nat?: NatOptions
}

export interface HostStatus {
  peerId: string
  addresses: string[]
  connections: Array<{ peer: string, remoteAddr: string, limited: boolean, direction: string }>
  routingPeers: string[]
  storeBlocks: number
}

const init = JSON.parse(process.argv[2]) as HostInit
const config = { ...defaultConfig(init.dataDir), listen: init.listen, bootstrap: init.bootstrap ?? [], announce: init.announce ?? [], storeBytes: 64 * 1024 * 1024 }
// WARREN_LOG_LEVEL=debug (or trace, for libp2p's internals) shows a host's log on stderr.
const logger = process.env.WARREN_LOG_LEVEL !== undefined ? createLogger(process.env.WARREN_LOG_LEVEL, false, 2) : undefined
const node = await createWarrenNode(config, { arkPublish: false, metrics: false, nat: init.nat, logger })
await node.start()

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

function status (): HostStatus {
  return {
    peerId: node.peerId,
    addresses: node.addresses(),
    connections: node.libp2p.getConnections().map((c) => ({ peer: c.remotePeer.toString(), remoteAddr: c.remoteAddr.toString(), limited: c.limits !== undefined, direction: c.direction })),
    routingPeers: [...node.service.core.table.peerSet()],
    storeBlocks: node.store.stats().count
  }
}

type Message = { id: number, cmd: string } & Record<string, any>

async function run (m: Message): Promise<unknown> {
  switch (m.cmd) {
    case 'status': return status()
    case 'hold': {
      const c = encodeChk(ChkType.DATA, Buffer.from(m.data as string, 'base64'))
      const block: Block = { type: KeyType.CHK, data: c.block, pubkey: new Uint8Array(), signature: new Uint8Array(), headers: new Uint8Array() }
      await node.store.put(c.routingKey, Block.encode(block))
      return { key: c.routingKey.hex }
    }
    case 'request': {
      const r = await node.network.request(RoutingKey.fromHex(m.key as string), { htl: m.htl as number, signal: AbortSignal.timeout(20_000) })
      return { sha256: sha256(r.block.data), bytes: r.block.data.length, hops: r.hops }
    }
    case 'put': return { uri: (await node.client.put(Readable.from([Buffer.from(m.data as string, 'base64')]), { htl: m.htl as number })).uri }
    case 'get': {
      const data = await node.client.get(m.uri as string, { signal: AbortSignal.timeout(30_000) })
      return { sha256: sha256(data), bytes: data.length }
    }
    case 'dial': {
      const c = await node.libp2p.dial(multiaddr(m.addr as string), { signal: AbortSignal.timeout(10_000), force: m.force === true })
      return { remoteAddr: c.remoteAddr.toString(), limited: c.limits !== undefined }
    }
    case 'stream': {
      // A stream of `protocol` over a new connection to `addr` (a relayed address: a limited
      // connection). This side agrees to run it there; the remote side's handler decides: 32
      // bytes are sent and what comes back is counted (ping echoes them; a refused stream is
      // reset with nothing; a warren handler would answer an ERROR frame).
      const c = await node.libp2p.dial(multiaddr(m.addr as string), { signal: AbortSignal.timeout(10_000), force: true })
      const s = await c.newStream(m.protocol as string, { signal: AbortSignal.timeout(10_000), runOnLimitedConnection: true })
      let received = 0
      try {
        s.send(randomBytes(32))
      } catch (err: any) {
        // The remote side reset the stream before anything was written: a refusal.
        return { limited: c.limits !== undefined, received, outcome: `reset before sending (${err.name})` }
      }
      const read = (async () => {
        try {
          for await (const chunk of s) if ((received += chunk.byteLength) >= 32) return 'data'
          return 'closed'
        } catch (err: any) {
          return `reset (${err.name})`
        }
      })()
      const outcome = await Promise.race([read, new Promise<string>((resolve) => setTimeout(() => { resolve('timeout') }, 5000))])
      s.abort(new Error('done'))
      return { limited: c.limits !== undefined, received, outcome }
    }
    case 'ping': return { rtt: await node.libp2p.services.ping.ping(multiaddr(m.addr as string), { signal: AbortSignal.timeout(10_000) }) }
    case 'stop':
      await node.stop()
      setImmediate(() => process.exit(0))
      return null
    default: throw new Error(`unknown command ${m.cmd}`)
  }
}

process.on('message', (m: Message) => {
  run(m).then((result) => process.send?.({ id: m.id, ok: true, result }), (err: Error) => process.send?.({ id: m.id, ok: false, error: `${err.name}: ${err.message}` }))
})
// The test process went away: stop too (its after() hook normally sends stop).
process.on('disconnect', () => { void node.stop().finally(() => process.exit(0)) })
process.send?.({ ready: status() })

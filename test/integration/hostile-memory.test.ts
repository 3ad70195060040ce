/**
 * Issue 11 (low finding): ~45 KB of RSS per address-book entry (6,000 joins naming peers with
 * 8 long addresses took a node's RSS from 105 to 283 MiB). A raw peer sends inserts whose
 * source names a fresh peer: first with one short address each, then with MAX_PEER_ADDRS
 * addresses of the longest length allowed. Whatever else a learnt peer costs (routing entry,
 * seen ID), the long addresses may cost only a small bounded amount more per peer.
 */
import assert from 'node:assert/strict'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { after, before, describe, it } from 'node:test'
import { longPeerRef, peerRefFlood, shortPeerRef } from '../helpers/attacks.js'
import { createNode, until } from '../helpers/network.js'
import { createRawPeer } from '../helpers/raw-peer.js'
import { removeTempDir } from '../helpers/temp.js'
import type { RawPeer } from '../helpers/raw-peer.js'
import type { WarrenNode } from '../../src/node.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

function heap (): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

const PEERS = 600
/** Extra heap bytes per learnt peer its long addresses may cost (before the fix: ~9 KB). */
const EXTRA_BYTES = 1536

describe('address book memory', () => {
  let node: WarrenNode
  let dir: string
  let evil: RawPeer

  before(async () => {
    ({ node, dir } = await createNode({ service: { allowPrivateAddrs: false }, core: { hopTimeoutMs: 1000 } }))
    evil = await createRawPeer()
    await evil.start()
  })

  after(async () => {
    await evil.stop()
    await node.stop()
    await removeTempDir(dir)
  })

  it(`costs at most ${EXTRA_BYTES} bytes more per learnt peer with the longest references`, async () => {
    const target = node.libp2p.getMultiaddrs()[0]
    const flood = async (n: number, first: bigint, ref: typeof shortPeerRef): Promise<number> => {
      const start = heap()
      await peerRefFlood(evil, target, n, first, ref)
      await until(() => node.service.activeOperations === 0, 10_000, 'inserts released')
      return heap() - start
    }
    // Warm-up: the routing table fills, streams, buffers and code paths are allocated once.
    await flood(300, 1n, shortPeerRef)
    const short = await flood(PEERS, 1_000_000n, shortPeerRef)
    const long = await flood(PEERS, 2_000_000n, longPeerRef)
    const extra = (long - short) / PEERS
    assert.ok(extra < EXTRA_BYTES, `heap grew ${(short / 2 ** 20).toFixed(2)} MiB for ${PEERS} short references, ${(long / 2 ** 20).toFixed(2)} MiB for ${PEERS} long ones: ${Math.round(extra)} bytes more each`)
  })
})

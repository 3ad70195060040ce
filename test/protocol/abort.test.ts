/**
 * Aborting a request or an insert (NetworkOptions.signal) ends it at once along its whole
 * path, not at its deadline: the requester forgets it, resets its child stream, and each node
 * below sees its upstream go, forgets the operation, frees the upstream's per-peer slot and
 * resets its own child stream in turn. Real nodes on 127.0.0.1: A - B - C - S, where S is a
 * raw peer that takes the operation and never answers.
 */
import { pbStream } from '@libp2p/utils'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { Block, Frame, KeyType } from '../../proto/warren.js'
import { INSERT_PROTOCOL, REQUEST_PROTOCOL } from '../../src/constants.js'
import { ChkType, encodeChk } from '../../src/keys/chk.js'
import { RoutingKey } from '../../src/keys/routing-key.js'
import { createNetwork, until } from '../helpers/network.js'
import { createRawPeer } from '../helpers/raw-peer.js'
import type { TestNetwork } from '../helpers/network.js'
import type { RawPeer } from '../helpers/raw-peer.js'
import type { NetworkProgressEvents } from '../../src/protocol/types.js'

/** Far beyond what the test waits: anything released within it was released by the abort. */
const HOP_TIMEOUT_MS = 60_000
const RELEASED_WITHIN_MS = 3_000

describe('aborting a network operation', () => {
  let net: TestNetwork
  let stall: RawPeer
  /** Operations the stalling peer holds, and whether the stream each came on has closed. */
  const held: Array<{ protocol: string, closed: boolean }> = []

  before(async () => {
    net = await createNetwork(3, { core: { hopTimeoutMs: HOP_TIMEOUT_MS } })
    await net.connect(0, 1)
    await net.connect(1, 2)
    stall = await createRawPeer()
    await stall.start()
    for (const protocol of [REQUEST_PROTOCOL, INSERT_PROTOCOL]) {
      await stall.handle(protocol, async (stream) => {
        const h = { protocol, closed: false }
        stream.addEventListener('close', () => { h.closed = true })
        await pbStream(stream).pb(Frame).read()
        held.push(h)
      })
    }
    const c = net.nodes[2]
    await stall.dial(c.libp2p.getMultiaddrs()[0])
    await until(() => c.service.core.table.has(stall.peerId.toString()), 10_000, 'the stalling peer is a neighbour of C')
  })

  after(async () => {
    await stall.stop()
    await net.stop()
  })

  for (const kind of ['request', 'insert'] as const) {
    it(`${kind}: frees the operation and the per-peer slots at every node at once, and resets the stream to the stalled peer`, async () => {
      const [a, b, c] = net.nodes
      const chk = encodeChk(ChkType.DATA, randomBytes(200))
      const key: RoutingKey = kind === 'request' ? RoutingKey.hash(randomBytes(32)) : chk.routingKey
      const block = { type: KeyType.CHK, data: chk.block, pubkey: new Uint8Array(), signature: new Uint8Array(), headers: new Uint8Array() }
      const events: NetworkProgressEvents[] = []
      const controller = new AbortController()
      const options = { htl: 10, signal: controller.signal, onProgress: (e: NetworkProgressEvents) => { events.push(e) } }
      const op = kind === 'request' ? a.service.request(key, options) : a.service.insert(key, block, options)
      const protocol = kind === 'request' ? REQUEST_PROTOCOL : INSERT_PROTOCOL
      await until(() => held.some((h) => h.protocol === protocol), 10_000, 'the operation to reach the stalling peer')
      const stalled = held.find((h) => h.protocol === protocol)!
      for (const n of [a, b, c]) assert.equal(n.service.activeOperations, 1, 'one operation in flight at each node')
      assert.equal(b.service.slotsHeld, 1, 'A holds a slot at B')
      assert.equal(c.service.slotsHeld, 1, 'B holds a slot at C')

      const t0 = Date.now()
      controller.abort()
      assert.equal(a.service.activeOperations, 0, 'the originator forgets the operation synchronously')
      await assert.rejects(op, { name: 'AbortError' })
      await until(() => [b, c].every((n) => n.service.activeOperations === 0 && n.service.slotsHeld === 0), RELEASED_WITHIN_MS, 'B and C to release the operation')
      await until(() => stalled.closed, RELEASED_WITHIN_MS, 'the stream to the stalling peer to be reset')
      assert.ok(Date.now() - t0 < RELEASED_WITHIN_MS, `released ${Date.now() - t0} ms after the abort, long before the ${HOP_TIMEOUT_MS} ms hop deadline`)
      assert.equal(events.length, 1)
      assert.equal(events[0].type, `warren:${kind}:result`)
      assert.equal(result(events[0]).ok, false)
      assert.ok(result(events[0]).key.equals(key))
    })
  }

  it('an already aborted signal starts nothing', async () => {
    const a = net.nodes[0]
    await assert.rejects(a.service.request(RoutingKey.hash(randomBytes(32)), { htl: 10, signal: AbortSignal.abort() }), { name: 'AbortError' })
    assert.equal(a.service.activeOperations, 0)
  })

  it('reports a successful request through onProgress', async () => {
    const [a, b] = net.nodes
    const chk = encodeChk(ChkType.DATA, randomBytes(200))
    const block = { type: KeyType.CHK, data: chk.block, pubkey: new Uint8Array(), signature: new Uint8Array(), headers: new Uint8Array() }
    // B holds it as relayed data (its own insert would stay in its client cache, out of reach).
    await b.store.put(chk.routingKey, Block.encode(block))
    const events: NetworkProgressEvents[] = []
    const r = await a.service.request(chk.routingKey, { htl: 10, onProgress: (e) => { events.push(e) } })
    assert.deepEqual(events.map((e) => [e.type, result(e).ok, result(e).hops]), [['warren:request:result', true, r.hops]])
  })
})

/** The detail of a result event (not a wait). */
function result (e: NetworkProgressEvents): { key: RoutingKey, ok: boolean, hops: number } {
  if (e.type === 'warren:insert:wait') throw new Error(`not a result: ${e.type}`)
  return e.detail
}

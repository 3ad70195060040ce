/**
 * Aborting a large read end to end on real nodes: the client's signal reaches every block
 * request it has in flight, and each node on the way frees the operation and its per-peer slot
 * at once — not at the 60 s hop deadline. R (reader) - M - S, where S is a raw peer that takes
 * every request and never answers; R holds the file's root block but none of its data blocks, so
 * every data-block request goes R -> M -> S and hangs there until the abort.
 */
import { pbStream } from '@libp2p/utils'
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Frame } from '../../proto/warren.js'
import { REQUEST_PROTOCOL } from '../../src/constants.js'
import { parseUri } from '../../src/keys/uri.js'
import { splitfileBlocks } from '../../src/client/splitfile.js'
import { createNetwork, until } from '../helpers/network.js'
import { createRawPeer } from '../helpers/raw-peer.js'
import { randomBytes } from '../helpers/seed.js'
import type { TestNetwork } from '../helpers/network.js'
import type { RawPeer } from '../helpers/raw-peer.js'
import type { ClientProgressEvents } from '../../src/client/types.js'

const HOP_TIMEOUT_MS = 60_000
const RELEASED_WITHIN_MS = 3_000
/** Two segments of 128 data blocks of 32 KiB. */
const FILE_BYTES = 5 * 1024 * 1024

describe('aborting a large get on real nodes', () => {
  let net: TestNetwork
  let stall: RawPeer
  const held: Array<{ closed: boolean }> = []

  before(async () => {
    net = await createNetwork(2, { core: { hopTimeoutMs: HOP_TIMEOUT_MS } })
    await net.connect(0, 1)
    stall = await createRawPeer()
    await stall.start()
    await stall.handle(REQUEST_PROTOCOL, async (stream) => {
      const h = { closed: false }
      stream.addEventListener('close', () => { h.closed = true })
      await pbStream(stream).pb(Frame).read()
      held.push(h)
    })
    const m = net.nodes[1]
    await stall.dial(m.libp2p.getMultiaddrs()[0])
    await until(() => m.service.core.table.has(stall.peerId.toString()), 10_000, 'the stalling peer is a neighbour of M')
  })

  after(async () => {
    await stall.stop()
    await net.stop()
  })

  it('frees every in-flight block request and every per-peer slot at once', async () => {
    const [r, m] = net.nodes
    const data = randomBytes(FILE_BYTES)
    // Kept at R only (HTL 0: its client cache), then every block but the root is forgotten again.
    const { uri } = await r.client.put([data], { htl: 0 })
    const root = parseUri(uri)
    assert.equal(root.type, 'CHK')
    const blocks = splitfileBlocks([data])
    for (let b = await blocks.next(); b.done !== true; b = await blocks.next()) {
      if (!b.value.routingKey.equals(root.routingKey)) await r.clientCache.delete(b.value.routingKey)
    }

    const controller = new AbortController()
    const events: ClientProgressEvents[] = []
    const opened = await r.client.open(uri, { signal: controller.signal, onProgress: (e) => { events.push(e) } })
    assert.equal(opened.size, FILE_BYTES)
    const reading = (async () => { for await (const chunk of opened.stream()) void chunk })()
    await until(() => held.length > 0 && r.service.activeOperations > 1, 10_000, 'block requests to reach the stalling peer')
    const inFlight = r.service.activeOperations
    assert.ok(m.service.slotsHeld > 1, `R holds ${m.service.slotsHeld} slots at M`)

    const t0 = Date.now()
    controller.abort()
    await assert.rejects(reading, { name: 'AbortError' })
    await until(() => r.service.activeOperations === 0, RELEASED_WITHIN_MS, 'R to forget its block requests')
    await until(() => m.service.activeOperations === 0 && m.service.slotsHeld === 0, RELEASED_WITHIN_MS, 'M to release the operations and slots')
    await until(() => held.every((h) => h.closed), RELEASED_WITHIN_MS, 'every stream to the stalling peer to be reset')
    const ms = Date.now() - t0
    assert.ok(ms < RELEASED_WITHIN_MS, `${inFlight} operations released ${ms} ms after the abort, long before the ${HOP_TIMEOUT_MS} ms hop deadline`)
    const arrived = events.filter((e) => e.type === 'warren:file:block' && e.detail.ok)
    assert.deepEqual(arrived.map((e) => e.type === 'warren:file:block' && e.detail.key.equals(root.routingKey)), [true], 'only the (local) root block arrived')
  })
})

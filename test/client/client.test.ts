/**
 * WarrenClient over a BlockNetwork: aborting a read or an insert cancels every network
 * operation it has in flight at once, and progress comes as one typed event stream, per
 * call (`onProgress`) and on the client ('progress').
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { WarrenClient } from '../../src/client/client.js'
import { CHK_MAX_PAYLOAD } from '../../src/keys/chk.js'
import { collect, testBytes } from './memory-blocks.js'
import { MemoryBlockNetwork } from './memory-network.js'
import type { ClientProgressEvents } from '../../src/client/types.js'

const P = CHK_MAX_PAYLOAD
/** Small FEC segments, so a small file has several. */
const SEGMENTS = { segmentData: 4, segmentCheck: 2 }

function isAbort (signal: AbortSignal): (err: unknown) => boolean {
  return (err) => err === signal.reason || (err as Error).name === 'AbortError'
}

describe('WarrenClient: abort', () => {
  it('an aborted multi-segment read cancels every block request in flight at once and starts no other', async () => {
    const net = new MemoryBlockNetwork()
    const client = new WarrenClient({ network: net }, { htl: 5, concurrency: 3 })
    const data = testBytes(10 * P + 7, 11)
    const put = await client.put([data], SEGMENTS)
    assert.equal(put.segments, 3)
    // The root block and segment 0's four data blocks are answered; everything after hangs.
    const firstHanging = net.calls.length + 1 + 4
    net.hang = (c) => c.kind === 'request' && c.index >= firstHanging
    const controller = new AbortController()
    const file = await client.open(put.uri, { signal: controller.signal, heal: false })
    const reader = file.stream()[Symbol.asyncIterator]()
    const first = await reader.next()
    assert.ok(Buffer.from(first.value!).equals(data.subarray(0, P)), 'segment 0 is read')
    // Segment 1 is fetched ahead, as many blocks at once as the concurrency allows.
    await net.untilHanging(3)
    const inFlight = net.hanging
    assert.equal(inFlight.length, 3)
    const started = net.calls.length

    controller.abort()
    for (const c of inFlight) assert.equal(c.signal?.aborted, true, `request ${c.index} saw the abort at once`)
    await assert.rejects(async () => { while ((await reader.next()).done !== true); }, isAbort(controller.signal))
    assert.equal(net.calls.length, started, 'no request starts after the abort')
    assert.ok(net.calls.every((c) => c.settled), 'every request has ended')
  })

  it('an abort while the root block is fetched reaches that request', async () => {
    const net = new MemoryBlockNetwork()
    const client = new WarrenClient({ network: net }, { htl: 5 })
    const { uri } = await client.put([testBytes(100)])
    net.hang = (c) => c.kind === 'request'
    const controller = new AbortController()
    const opening = client.open(uri, { signal: controller.signal })
    await net.untilHanging(1)
    const [root] = net.hanging
    controller.abort()
    assert.equal(root.signal?.aborted, true)
    await assert.rejects(opening, isAbort(controller.signal))
    assert.equal(net.hanging.length, 0)
  })

  it('an aborted put cancels every insert in flight at once and reads no further', async () => {
    const net = new MemoryBlockNetwork()
    const client = new WarrenClient({ network: net }, { htl: 5 })
    net.hang = (c) => c.kind === 'insert' && c.index >= 2
    let pulled = 0
    const source = (function * () {
      for (let i = 0; i < 40; i++) {
        pulled++
        yield testBytes(P, i + 1)
      }
    })()
    const controller = new AbortController()
    const putting = client.put(source, { signal: controller.signal, concurrency: 3, ...SEGMENTS })
    await net.untilHanging(3)
    const inFlight = net.hanging
    const started = net.calls.length
    const read = pulled
    controller.abort()
    for (const c of inFlight) assert.equal(c.signal?.aborted, true, `insert ${c.index} saw the abort at once`)
    await assert.rejects(putting, isAbort(controller.signal))
    assert.equal(net.calls.length, started, 'no insert starts after the abort')
    assert.equal(pulled, read, 'the source is read no further')
    assert.ok(read < 40)
  })
})

describe('WarrenClient: progress events', () => {
  it('a put reports every block it inserted, to the call and on the client', async () => {
    const net = new MemoryBlockNetwork()
    const client = new WarrenClient({ network: net }, { htl: 5 })
    const perCall: ClientProgressEvents[] = []
    const onClient: ClientProgressEvents[] = []
    client.addEventListener('progress', (e) => { onClient.push(e.detail) })
    const r = await client.put([testBytes(5 * P)], { ...SEGMENTS, onProgress: (e) => { perCall.push(e) } })
    const blocks = perCall.filter((e) => e.type === 'warren:insert:block')
    assert.equal(blocks.length, r.blocks)
    assert.deepEqual(blocks.map((e) => e.detail.blocks), Array.from({ length: r.blocks }, (_, i) => i + 1))
    assert.deepEqual(onClient, perCall, 'the client re-dispatches every event of the call')
  })

  it('a read reports each block (with its hops, failures too) and the bytes delivered; a rebuilt block is healed', async () => {
    const net = new MemoryBlockNetwork()
    const client = new WarrenClient({ network: net }, { htl: 5 })
    const data = testBytes(6 * P + 1, 5)
    const { uri } = await client.put([data], SEGMENTS)
    // Lose the first data block: the read fails to fetch it, rebuilds it from FEC and heals it.
    const lost = net.calls.find((c) => c.kind === 'insert')!.key
    net.blocks.delete(lost.hex)
    const events: ClientProgressEvents[] = []
    const file = await client.open(uri, { onProgress: (e) => { events.push(e) } })
    assert.ok((await collect(file.stream())).equals(data))
    const blocks = events.flatMap((e) => e.type === 'warren:file:block' ? [e.detail] : [])
    const failed = blocks.filter((b) => !b.ok)
    assert.ok(failed.length >= 1 && failed.every((b) => b.key.hex === lost.hex && b.hops === net.hops), 'the lost block is reported with the hops its request took')
    assert.ok(blocks.filter((b) => b.ok).every((b) => b.hops === net.hops))
    const bytes = events.flatMap((e) => e.type === 'warren:file:bytes' ? [e.detail] : [])
    assert.equal(bytes.reduce((n, b) => n + b.bytes, 0), data.length)
    assert.equal(bytes.at(-1)?.total, data.length)
    await client.healer.drained()
    assert.equal(client.healer.stats.healed, 1)
    assert.ok(net.blocks.has(lost.hex), 'the rebuilt block was inserted again')
  })

  it('a failed healing insert is reported as warren:heal:error on the client', async () => {
    const net = new MemoryBlockNetwork()
    const client = new WarrenClient({ network: net }, { htl: 5 })
    const data = testBytes(3 * P, 9)
    const { uri } = await client.put([data], SEGMENTS)
    const lost = net.calls.find((c) => c.kind === 'insert')!.key
    net.blocks.delete(lost.hex)
    net.insertError = new Error('no route')
    const errors: Array<{ key?: string, message: string }> = []
    client.addEventListener('progress', (e) => {
      if (e.detail.type === 'warren:heal:error') errors.push({ key: e.detail.detail.key?.hex, message: e.detail.detail.error.message })
    })
    assert.ok((await client.get(uri)).every((b, i) => b === data[i]))
    await client.healer.drained()
    assert.deepEqual(errors, [{ key: lost.hex, message: 'no route' }])
    assert.equal(client.healer.stats.failed, 1)
  })
})

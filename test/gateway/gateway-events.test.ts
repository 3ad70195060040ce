/**
 * The gateway (src/gateway/gateway.ts) over an in-memory block network: its recent-request
 * statistics come from the client's progress events (every block request of every read counts,
 * failures with their hops too; a closed server stops listening), and a reader that goes away
 * cancels its block requests.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createApiServer } from '../../src/api/server.js'
import { CHK_MAX_PAYLOAD } from '../../src/keys/chk.js'
import { testBytes } from '../client/memory-blocks.js'
import { memoryNode } from '../api/memory-node.js'
import { MemoryBlockNetwork } from '../client/memory-network.js'

describe('gateway recent stats', () => {
  it('count the block requests of every read, failures included, until the server closes', async () => {
    const net = new MemoryBlockNetwork()
    const node = memoryNode(net)
    const app = await createApiServer(node)
    assert.equal(node.client.listenerCount('progress'), 1)
    const data = testBytes(6 * CHK_MAX_PAYLOAD, 2)
    const { uri } = await node.client.put([data], { segmentData: 4, segmentCheck: 2 })
    // One data block lost: the read fails to fetch it and rebuilds it from FEC.
    net.blocks.delete(net.calls.find((c) => c.kind === 'insert')!.key.hex)
    const requestsBefore = net.calls.filter((c) => c.kind === 'request').length
    const res = await app.inject({ method: 'GET', url: `/${uri.replace(/^warren:/, '')}`, headers: { host: '127.0.0.1' } })
    assert.equal(res.statusCode, 200)
    assert.ok(res.rawPayload.equals(Buffer.from(data)))
    const requests = net.calls.filter((c) => c.kind === 'request').length - requestsBefore
    const stats = (await app.inject({ method: 'GET', url: '/api/v1/stats/recent', headers: { host: '127.0.0.1' } })).json()
    assert.equal(stats.requests.success + stats.requests.failure, requests)
    assert.ok(stats.requests.failure >= 1)
    assert.equal(stats.hopHistogram[net.hops], stats.requests.success, 'every success at the hops the network reported')
    await app.close()
    assert.equal(node.client.listenerCount('progress'), 0)
  })
})

describe('gateway reads', () => {
  it('a reader that goes away cancels the block requests in flight for it', { timeout: 10_000 }, async () => {
    const net = new MemoryBlockNetwork()
    const node = memoryNode(net)
    const app = await createApiServer(node)
    await app.listen({ host: '127.0.0.1', port: 0 })
    try {
      const { uri } = await node.client.put([testBytes(8 * CHK_MAX_PAYLOAD, 3)], { segmentData: 4, segmentCheck: 2 })
      // The root block is answered; every data block request hangs.
      const firstHanging = net.calls.length + 1
      net.hang = (c) => c.kind === 'request' && c.index >= firstHanging
      const addr = app.server.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      const controller = new AbortController()
      // Headers go out with the first bytes, so the response never starts: the reader gives up.
      const reading = fetch(`http://127.0.0.1:${port}/${uri.replace(/^warren:/, '')}`, { signal: controller.signal })
      reading.catch(() => {})
      await net.untilHanging(2)
      const inFlight = net.hanging
      controller.abort()
      await Promise.all(inFlight.map(async (c) => {
        if (c.signal?.aborted === true) return
        await new Promise((resolve) => c.signal?.addEventListener('abort', resolve, { once: true }))
      }))
      assert.ok(inFlight.every((c) => c.signal?.aborted === true))
      await assert.rejects(reading, { name: 'AbortError' })
    } finally {
      await app.close()
    }
  })
})

/**
 * The CLI's uploads over the client API: the bar's events are the bytes sent and the blocks the
 * node inserted, streamed back by POST /api/v1/put as NDJSON; errors found after the stream
 * started still reach the caller as errors.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Readable } from 'node:stream'
import { createApiServer } from '../../src/api/server.js'
import { onlyHereWarning, uploadFile } from '../../src/cli/transfer.js'
import { CHK_MAX_PAYLOAD } from '../../src/keys/chk.js'
import { testBytes } from '../client/memory-blocks.js'
import { memoryNode } from '../api/memory-node.js'
import { MemoryBlockNetwork } from '../client/memory-network.js'
import type { TransferProgressEvents } from '../../src/cli/transfer.js'
import type { FastifyInstance } from 'fastify'

async function call (base: string, path: string, init?: RequestInit): Promise<Response> {
  const res = await fetch(base + path, init)
  if (!res.ok) throw new Error((await res.json() as { error: string }).error)
  return res
}

describe('uploadFile', () => {
  const net = new MemoryBlockNetwork()
  let app: FastifyInstance
  let base: string

  before(async () => {
    app = await createApiServer(memoryNode(net))
    await app.listen({ host: '127.0.0.1', port: 0 })
    const addr = app.server.address()
    base = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`
  })
  after(async () => { await app.close() })

  it('reports the bytes it sends and every block the node inserts, then the result', async () => {
    const data = testBytes(5 * CHK_MAX_PAYLOAD + 99, 4)
    const events: TransferProgressEvents[] = []
    const r = await uploadFile(call, base, Readable.from([data]), { size: data.length, name: 'a.bin', onProgress: (e) => { events.push(e) } })
    assert.match(r.uri, /^warren:CHK@/)
    const sent = events.flatMap((e) => e.type === 'warren:file:bytes' ? [e.detail] : [])
    assert.equal(sent.reduce((n, e) => n + e.bytes, 0), data.length)
    assert.equal(sent.at(-1)?.total, data.length)
    const inserted = events.flatMap((e) => e.type === 'warren:insert:block' ? [e.detail.blocks] : [])
    assert.deepEqual(inserted, Array.from({ length: r.blocks }, (_, i) => i + 1))
    assert.equal(net.calls.filter((c) => c.kind === 'insert').length, r.blocks)
  })

  it('passes on the node\'s waits for overloaded peers', async () => {
    net.insertWaitMs = 1500
    try {
      const events: TransferProgressEvents[] = []
      const r = await uploadFile(call, base, Readable.from([testBytes(100, 5)]), { onProgress: (e) => { events.push(e) } })
      const waits = events.flatMap((e) => e.type === 'warren:insert:wait' ? [e.detail.ms] : [])
      assert.deepEqual(waits, Array(r.blocks).fill(1500))
    } finally {
      net.insertWaitMs = undefined
    }
  })

  it('throws the error the node found after streaming began', async () => {
    await assert.rejects(uploadFile(call, base, Readable.from([Buffer.from('x')]), { query: { ssk: 'warren:CHK@nope' } }),
      /invalid warren URI|needs its insert URI/)
  })

  it('answers a bad parameter with the 400 message before streaming', async () => {
    await assert.rejects(uploadFile(call, base, Readable.from([Buffer.from('x')]), { htl: 'abc' }), /htl must be an integer from 0 to 20, got "abc"/)
  })
})

describe('a put that reached no other node', () => {
  const net = new MemoryBlockNetwork()
  let app: FastifyInstance
  let base: string

  before(async () => {
    app = await createApiServer(memoryNode(net))
    base = await app.listen({ host: '127.0.0.1', port: 0 })
  })
  after(async () => { await app.close() })

  it('is warned about: every block stored by this node alone (minStored 1)', async () => {
    // The memory network stores each block at one node, as a node without peers does.
    const out = await uploadFile(call, base, Readable.from([testBytes(5000)]), { size: 5000 })
    assert.equal(out.minStored, 1)
    assert.match(onlyHereWarning(out) ?? '', /reached no other node.*put the file again/)
  })

  it('is not warned about once another node stored every block', () => {
    assert.equal(onlyHereWarning({ minStored: 2 }), undefined)
    assert.equal(onlyHereWarning({}), undefined, 'signed puts report no minStored')
  })
})

/**
 * The list of this node's uploads and downloads (the gateway's /transfers page): every put and
 * download through the API is there with its result and URI, and the list survives a restart
 * (transfers.json in the data dir), a transfer cut off by the stop shown as interrupted.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { createApiServer } from '../../src/api/server.js'
import { TransferLog, TRANSFERS_FILE } from '../../src/gateway/transfers.js'
import { memoryNode } from '../api/memory-node.js'
import { MemoryBlockNetwork } from '../client/memory-network.js'
import { tempDir } from '../helpers/temp.js'
import type { Transfer } from '../../src/gateway/transfers.js'

const HOST = { host: '127.0.0.1' }

describe('the gateway\'s saved lists: uploads and downloads, bookmarks', () => {
  it('lists puts and downloads with their URIs, and keeps them across a restart', async () => {
    const dataDir = await tempDir('warren-transfers-')
    const net = new MemoryBlockNetwork()
    const node = { ...memoryNode(net), config: { apiAllowRemote: false, dataDir } }
    let app = await createApiServer(node)
    const put = await app.inject({ method: 'POST', url: '/api/v1/put?name=report.pdf', headers: { ...HOST, 'content-type': 'application/octet-stream' }, payload: Buffer.alloc(100_000, 1) })
    assert.equal(put.statusCode, 200, put.body)
    const { namedUri, blocks } = put.json() as { namedUri: string, blocks: number }
    const got = await app.inject({ url: `/api/v1/get?uri=${encodeURIComponent(namedUri)}`, headers: HOST })
    assert.equal(got.rawPayload.length, 100_000)
    const bad = await app.inject({ url: `/${namedUri.replace(/^warren:/, '').replace(/,[^/]+/, ',' + '1'.repeat(44))}`, headers: { ...HOST, accept: 'text/html' } })
    assert.ok(bad.statusCode >= 400)

    const list = (await app.inject({ url: '/api/v1/transfers', headers: HOST })).json() as Transfer[]
    assert.deepEqual(list.map((t) => [t.kind, t.name, t.state, t.uri]), [
      ['download', 'report.pdf', 'done', namedUri],
      ['upload', 'report.pdf', 'done', namedUri]
    ])
    assert.equal(list[1].blocks, blocks, 'every inserted block counted')
    assert.equal(list[0].bytes, 100_000)
    await app.close()

    // A transfer running when the node stopped: recorded as interrupted on the next start.
    const log = await TransferLog.open(dataDir)
    log.start('upload', 'big.iso', 1e9)
    await log.save()
    assert.equal((JSON.parse(await readFile(join(dataDir, TRANSFERS_FILE), 'utf8')) as Transfer[]).length, 3)

    app = await createApiServer(node)
    const after = (await app.inject({ url: '/api/v1/transfers', headers: HOST })).json() as Transfer[]
    assert.deepEqual(after.map((t) => [t.name, t.state]), [['big.iso', 'interrupted'], ['report.pdf', 'done'], ['report.pdf', 'done']])
    const page = await app.inject({ url: '/transfers', headers: { ...HOST, accept: 'text/html' } })
    assert.match(page.body, /<table id="transfers">/)
    await app.close()
  })

  it('keeps bookmarks across a restart, each with the edition it leads to now, and refuses insert URIs', async () => {
    const dataDir = await tempDir('warren-bookmarks-')
    const node = { ...memoryNode(new MemoryBlockNetwork()), config: { apiAllowRemote: false, dataDir } }
    let app = await createApiServer(node)
    const keys = (await app.inject({ url: '/api/v1/keygen', headers: HOST })).json() as { insertUri: string, requestUri: string }
    for (const body of ['one', 'two']) {
      const r = await app.inject({ method: 'POST', url: '/api/v1/put', headers: { ...HOST, 'content-type': 'application/octet-stream', 'x-warren-update': keys.insertUri + 'log' }, payload: body })
      assert.equal(r.statusCode, 200, r.body)
    }
    const form = { ...HOST, 'content-type': 'application/x-www-form-urlencoded', origin: 'http://127.0.0.1' }
    const add = await app.inject({ method: 'POST', url: '/bookmarks', headers: { ...form, host: '127.0.0.1' }, payload: new URLSearchParams({ uri: keys.requestUri + 'log', title: 'the log' }).toString() })
    assert.equal(add.statusCode, 303, add.body)
    const secret = await app.inject({ method: 'POST', url: '/bookmarks', headers: { ...form, accept: 'text/html' }, payload: new URLSearchParams({ uri: keys.insertUri + 'log' }).toString() })
    assert.equal(secret.statusCode, 400)
    assert.match(secret.body, /that is an insert URI/)
    await app.close()

    app = await createApiServer(node)
    const list = (await app.inject({ url: '/api/v1/bookmarks', headers: HOST })).json() as Array<{ uri: string, title: string, edition: number, path: string }>
    assert.deepEqual(list.map((b) => [b.uri, b.title, b.edition]), [[keys.requestUri + 'log', 'the log', 1]])
    assert.equal(list[0].path, '/' + (keys.requestUri + 'log').replace(/^warren:/, ''))
    await app.close()
  })
})

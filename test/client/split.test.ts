import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { assembleFile } from '../../src/client/assemble.js'
import { decodeManifest, MANIFEST_FANOUT } from '../../src/client/manifest.js'
import { FileSplitter, splitFile } from '../../src/client/split.js'
import { ChkType, CHK_MAX_PAYLOAD, decodeChk, verifyChkBlock } from '../../src/keys/chk.js'
import { RoutingKey } from '../../src/keys/routing-key.js'
import { formatUri } from '../../src/keys/uri.js'
import { chunks, collect, fileBytes, insert } from './fixtures.js'
import type { DecodedManifest } from '../../src/client/manifest.js'
import type { ChkRef } from '../../src/keys/chk.js'
import type { MemoryStore } from './fixtures.js'

const MiB = 1024 * 1024

function read (store: MemoryStore, ref: ChkRef): { type: ChkType, payload: Uint8Array } {
  const block = store.blocks.get(ref.routingKey.hex)
  assert.ok(block != null, `block ${ref.routingKey.hex} was produced`)
  return decodeChk(block, ref.decryptKey)
}

function rootManifest (store: MemoryStore, ref: ChkRef): DecodedManifest {
  const root = read(store, ref)
  assert.equal(root.type, ChkType.MANIFEST)
  return decodeManifest(root.payload)
}

/** Split `data`, assemble it back and compare; returns what was inserted. */
async function roundTrip (data: Uint8Array, chunkSize?: number, fanout?: number): Promise<Awaited<ReturnType<typeof insert>>> {
  const inserted = await insert(data, chunkSize, { fanout })
  assert.equal(inserted.splitter.size, data.length)
  for (const [hex, block] of inserted.store.blocks) {
    assert.ok(verifyChkBlock(RoutingKey.fromHex(hex), block), `block ${hex} verifies`)
  }
  const output = await collect(assembleFile(inserted.uri, inserted.store.fetch, { concurrency: 4 }))
  assert.equal(output.length, data.length)
  assert.ok(Buffer.from(output).equals(Buffer.from(data)), 'assembled bytes equal the input')
  return inserted
}

describe('splitFile + assembleFile', () => {
  for (const [name, size] of [
    ['an empty file', 0],
    ['a 1-byte file', 1],
    ['exactly one block payload', CHK_MAX_PAYLOAD]
  ] as const) {
    it(`stores ${name} as a single DATA block`, async () => {
      const { uri, store, splitter } = await roundTrip(fileBytes(size, name))
      assert.equal(splitter.blockCount, 1)
      assert.deepEqual(store.order, [uri.routingKey.hex])
      assert.equal(read(store, uri).type, ChkType.DATA)
    })
  }

  it('needs a manifest for one byte more than a block payload', async () => {
    const { uri, store, splitter } = await roundTrip(fileBytes(CHK_MAX_PAYLOAD + 1, 'one more'))
    assert.equal(splitter.blockCount, 3)
    const manifest = rootManifest(store, uri)
    assert.equal(manifest.height, 0)
    assert.equal(manifest.size, CHK_MAX_PAYLOAD + 1)
    assert.deepEqual(manifest.refs.map((ref) => read(store, ref).payload.length), [CHK_MAX_PAYLOAD, 1])
  })

  it('round-trips a few MiB fed in odd-sized chunks', async () => {
    const size = 3 * MiB + 123
    const { uri, store, splitter } = await roundTrip(fileBytes(size, 'few MiB'), 7777)
    const dataBlocks = Math.ceil(size / CHK_MAX_PAYLOAD)
    assert.equal(splitter.blockCount, dataBlocks + 1)
    const manifest = rootManifest(store, uri)
    assert.equal(manifest.refs.length, dataBlocks)
    assert.equal(store.order.at(-1), uri.routingKey.hex, 'the root comes last')
  })

  it('gives the same URI however the input is chunked', async () => {
    const data = fileBytes(2 * CHK_MAX_PAYLOAD + 99, 'chunking')
    const uris = new Set<string>()
    for (const chunkSize of [1, 1000, CHK_MAX_PAYLOAD, data.length]) {
      uris.add(formatUri((await insert(data, chunkSize)).uri))
    }
    assert.equal(uris.size, 1)
  })

  it('fills one manifest with exactly MANIFEST_FANOUT data blocks', async () => {
    const { uri, store } = await roundTrip(fileBytes(MANIFEST_FANOUT * CHK_MAX_PAYLOAD, 'full'), MiB)
    const manifest = rootManifest(store, uri)
    assert.equal(manifest.height, 0)
    assert.equal(manifest.refs.length, MANIFEST_FANOUT)
  })

  it('adds an indirect manifest level when the refs do not fit one block (> ~16 MiB)', async () => {
    const size = MANIFEST_FANOUT * CHK_MAX_PAYLOAD + 1
    const { uri, store, splitter } = await roundTrip(fileBytes(size, 'indirect'), MiB)
    const root = rootManifest(store, uri)
    assert.equal(root.height, 1)
    assert.equal(root.size, size)
    const children = root.refs.map((ref) => decodeManifest(read(store, ref).payload))
    assert.deepEqual(children.map((c) => [c.height, c.refs.length, c.size]), [
      [0, MANIFEST_FANOUT, MANIFEST_FANOUT * CHK_MAX_PAYLOAD],
      [0, 1, 1]
    ])
    assert.equal(splitter.blockCount, MANIFEST_FANOUT + 1 + 2 + 1)
  })

  for (const [blocks, height] of [[10, 2], [28, 3]] as const) {
    it(`builds a balanced tree of height ${height} from ${blocks} blocks at fan-out 3`, async () => {
      const data = fileBytes((blocks - 1) * CHK_MAX_PAYLOAD + 10, `deep ${height}`)
      const { uri, store } = await roundTrip(data, 4096, 3)
      // Walk the tree: heights step down by one, sizes add up, every block came before its parent.
      const position = new Map(store.order.map((hex, i) => [hex, i]))
      const walk = (ref: ChkRef, expectedHeight: number): number => {
        const chk = read(store, ref)
        if (expectedHeight < 0) {
          assert.equal(chk.type, ChkType.DATA)
          return chk.payload.length
        }
        const manifest = decodeManifest(chk.payload)
        assert.equal(manifest.height, expectedHeight)
        assert.ok(manifest.refs.length <= 3)
        let size = 0
        for (const child of manifest.refs) {
          assert.ok(position.get(child.routingKey.hex)! < position.get(ref.routingKey.hex)!)
          size += walk(child, expectedHeight - 1)
        }
        assert.equal(size, manifest.size)
        return size
      }
      assert.equal(walk(uri, height), data.length)
      assert.equal(position.get(uri.routingKey.hex), store.order.length - 1)
    })
  }

  it('coalesces identical slices into one block', async () => {
    const { store } = await roundTrip(new Uint8Array(4 * CHK_MAX_PAYLOAD), MiB)
    assert.equal(store.order.length, 5)
    assert.equal(store.blocks.size, 2, 'one zero-filled data block and the manifest')
  })

  it('reads the source lazily, one block at a time', async () => {
    const chunkSize = 4096
    let pulled = 0
    async function * source (): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 1000; i++) {
        pulled += chunkSize
        yield new Uint8Array(chunkSize).fill(i & 0xff)
      }
    }
    const blocks = splitFile(source())
    const first = await blocks.next()
    assert.equal(first.done, false)
    assert.ok(pulled <= CHK_MAX_PAYLOAD + chunkSize, `pulled ${pulled} bytes before the first block`)
    await blocks.return(undefined as never)
  })

  it('returns the URI as the generator result and via FileSplitter', async () => {
    const data = fileBytes(CHK_MAX_PAYLOAD * 2, 'result')
    const blocks = splitFile(chunks(data, 5000))
    let step = await blocks.next()
    while (step.done !== true) step = await blocks.next()
    const splitter = new FileSplitter(chunks(data, 5000))
    assert.throws(() => splitter.uri, /only after all blocks/)
    for await (const _ of splitter.blocks()) { /* drain */ }
    assert.equal(formatUri(step.value), formatUri(splitter.uri))
    await assert.rejects(splitter.blocks().next(), /only once/)
  })

  it('rejects a bad fan-out', () => {
    assert.throws(() => new FileSplitter([], { fanout: 1 }), /fanout must be an integer in 2\.\.511/)
    assert.throws(() => new FileSplitter([], { fanout: MANIFEST_FANOUT + 1 }), /got 512/)
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { assembleFile } from '../../src/client/assemble.js'
import { decodeManifest, encodeManifest, MANIFEST_FANOUT } from '../../src/client/manifest.js'
import { ChkType, CHK_MAX_PAYLOAD, decodeChk, encodeChk, verifyChkBlock } from '../../src/keys/chk.js'
import { RoutingKey } from '../../src/keys/routing-key.js'
import { formatUri } from '../../src/keys/uri.js'
import { collect, fileBytes, insert, MemoryStore } from './fixtures.js'
import type { FetchBlock } from '../../src/client/types.js'
import type { ChkRef, EncodedChk } from '../../src/keys/chk.js'
import type { ChkUri } from '../../src/keys/uri.js'
import type { DecodedManifest } from '../../src/client/manifest.js'

/** The data-block refs of a file whose root is a height-0 manifest. */
function leafRefs (store: MemoryStore, root: ChkRef): ChkRef[] {
  return decodeManifest(decodeChk(store.blocks.get(root.routingKey.hex)!, root.decryptKey).payload).refs
}

function put (store: MemoryStore, chk: EncodedChk): ChkUri {
  store.blocks.set(chk.routingKey.hex, chk.block)
  return { type: 'CHK', routingKey: chk.routingKey, decryptKey: chk.decryptKey }
}

describe('assembleFile', () => {
  it('accepts the URI as text and reports the size before any data', async () => {
    const data = fileBytes(3 * CHK_MAX_PAYLOAD + 7, 'text uri')
    const { uri, store } = await insert(data)
    const events: string[] = []
    const fetch: FetchBlock = async (key, options) => {
      events.push('fetch')
      return await store.fetch(key, options)
    }
    const parts: Uint8Array[] = []
    for await (const part of assembleFile(formatUri(uri), fetch, { onSize: (size) => events.push(`size ${size}`) })) {
      parts.push(part)
    }
    assert.deepEqual(events.slice(0, 2), ['fetch', `size ${data.length}`])
    assert.ok(Buffer.concat(parts).equals(Buffer.from(data)))
  })

  it('keeps at most `concurrency` data fetches in flight, and uses them', async () => {
    const concurrency = 4
    const { uri, store } = await insert(fileBytes(40 * CHK_MAX_PAYLOAD, 'window'), CHK_MAX_PAYLOAD, { fanout: 8 })
    let inFlight = 0
    let maxInFlight = 0
    const fetch: FetchBlock = async (key, options) => {
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      // Let the other fetches start before this one completes.
      await new Promise((resolve) => setImmediate(resolve))
      inFlight--
      return await store.fetch(key, options)
    }
    const output = await collect(assembleFile(uri, fetch, { concurrency }))
    assert.equal(output.length, 40 * CHK_MAX_PAYLOAD)
    // One manifest fetch may run alongside the data window.
    assert.ok(maxInFlight <= concurrency + 1, `max in flight ${maxInFlight}`)
    assert.ok(maxInFlight >= concurrency, `max in flight ${maxInFlight}`)
  })

  it('does not fetch ahead of a slow consumer beyond its window', async () => {
    const { uri, store } = await insert(fileBytes(30 * CHK_MAX_PAYLOAD, 'lazy'))
    let fetched = 0
    const fetch: FetchBlock = async (key, options) => {
      fetched++
      return await store.fetch(key, options)
    }
    const file = assembleFile(uri, fetch, { concurrency: 3 })
    await file.next()
    await new Promise((resolve) => setImmediate(resolve))
    assert.ok(fetched <= 1 + 3 + 1, `fetched ${fetched} blocks after one chunk`)
    await file.return()
  })

  it('fails naming the block when one data block cannot be fetched, after yielding what precedes it', async () => {
    const { uri, store } = await insert(fileBytes(10 * CHK_MAX_PAYLOAD, 'missing'))
    const missing = leafRefs(store, uri)[5].routingKey
    const fetch: FetchBlock = async (key, options) => {
      if (key.equals(missing)) throw new Error('DataNotFound after 10 hops')
      return await store.fetch(key, options)
    }
    let received = 0
    await assert.rejects(async () => {
      for await (const part of assembleFile(uri, fetch, { concurrency: 4 })) received += part.length
    }, (err: Error) => {
      assert.equal(err.message, `could not fetch data block 5 ${missing.hex}: DataNotFound after 10 hops`)
      assert.equal((err.cause as Error).message, 'DataNotFound after 10 hops')
      return true
    })
    assert.equal(received, 5 * CHK_MAX_PAYLOAD)
  })

  it('fails naming a missing manifest block', async () => {
    const { uri, store } = await insert(fileBytes(10 * CHK_MAX_PAYLOAD, 'missing manifest'), 8192, { fanout: 3 })
    const child = decodeManifest(decodeChk(store.blocks.get(uri.routingKey.hex)!, uri.decryptKey).payload).refs[1]
    store.blocks.delete(child.routingKey.hex)
    await assert.rejects(collect(assembleFile(uri, store.fetch)),
      new RegExp(`could not fetch manifest block \\(height 1\\) ${child.routingKey.hex}: block not in store`))
  })

  it('fails naming a missing root block', async () => {
    const { uri } = await insert(fileBytes(10, 'missing root'))
    await assert.rejects(collect(assembleFile(uri, new MemoryStore().fetch)),
      new RegExp(`could not fetch root block ${uri.routingKey.hex}`))
  })

  it('rejects a block that does not match its key', async () => {
    const { uri, store } = await insert(fileBytes(4 * CHK_MAX_PAYLOAD, 'tampered'))
    const target = leafRefs(store, uri)[2].routingKey
    const fetch: FetchBlock = async (key: RoutingKey, options) => {
      const block = new Uint8Array(await store.fetch(key, options))
      if (key.equals(target)) block[100] ^= 1
      return block
    }
    await assert.rejects(collect(assembleFile(uri, fetch)),
      new RegExp(`data block 2 ${target.hex} failed verification`))
  })

  it('rejects a URI with the wrong decryption key', async () => {
    const { uri, store } = await insert(fileBytes(100, 'wrong key'))
    const other = encodeChk(ChkType.DATA, Uint8Array.of(1))
    await assert.rejects(collect(assembleFile({ ...uri, decryptKey: other.decryptKey }, store.fetch)),
      /root block [0-9a-f]{64}: CHK block failed authentication/)
  })

  it('rejects a path on a CHK file URI and a bad concurrency', async () => {
    const { uri, store } = await insert(fileBytes(100, 'path'))
    await assert.rejects(collect(assembleFile({ ...uri, path: 'a.txt' }, store.fetch)), /path \("\/a.txt"\) is not supported/)
    await assert.rejects(collect(assembleFile(uri, store.fetch, { concurrency: 0 })), /concurrency must be a positive integer/)
  })

  it('aborts outstanding fetches when the consumer stops early', async () => {
    const { uri, store } = await insert(fileBytes(20 * CHK_MAX_PAYLOAD, 'abort'))
    const signals: AbortSignal[] = []
    const fetch: FetchBlock = async (key, options) => {
      signals.push(options.signal)
      return await store.fetch(key, options)
    }
    for await (const _ of assembleFile(uri, fetch, { concurrency: 4 })) break
    assert.ok(signals.length > 1)
    assert.ok(signals.every((signal) => signal.aborted))
  })

  it('honours a caller signal', async () => {
    const { uri, store } = await insert(fileBytes(100, 'caller abort'))
    const controller = new AbortController()
    controller.abort(new Error('user cancelled'))
    await assert.rejects(collect(assembleFile(uri, store.fetch, { signal: controller.signal })), /user cancelled/)
  })

  describe('hostile manifests', () => {
    const store = new MemoryStore()
    const data = [fileBytes(CHK_MAX_PAYLOAD, 'h1'), fileBytes(100, 'h2')]
    const dataRefs = data.map((d) => put(store, encodeChk(ChkType.DATA, d)))
    const manifest = (size: number, height: number, refs: ChkRef[]): ChkUri =>
      put(store, encodeChk(ChkType.MANIFEST, encodeManifest({ size, height, refs })))
    const total = CHK_MAX_PAYLOAD + 100

    it('assembles the honest version', async () => {
      const output = await collect(assembleFile(manifest(total, 0, dataRefs), store.fetch))
      assert.ok(Buffer.from(output).equals(Buffer.concat(data)))
    })

    it('rejects a size that understates the data', async () => {
      await assert.rejects(collect(assembleFile(manifest(total - 1, 0, dataRefs), store.fetch)), /more data than the 32846 bytes/)
    })

    it('rejects a size that overstates the data', async () => {
      await assert.rejects(collect(assembleFile(manifest(total + 1, 0, dataRefs), store.fetch)), /file has 32847 bytes, its manifest declares 32848/)
    })

    it('rejects a data block where a manifest belongs', async () => {
      await assert.rejects(collect(assembleFile(manifest(total, 1, dataRefs), store.fetch)),
        /manifest block \(height 0\) [0-9a-f]{64} is a DATA block where a MANIFEST block was expected/)
    })

    it('rejects a manifest where a data block belongs', async () => {
      const leaf = manifest(total, 0, dataRefs)
      // Declares 100 bytes so that the outer manifest itself is plausible.
      await assert.rejects(collect(assembleFile(manifest(100, 0, [leaf]), store.fetch)),
        /data block 0 [0-9a-f]{64} is a MANIFEST block where a DATA block was expected/)
    })

    it('rejects children of the wrong height', async () => {
      const leaf = manifest(total, 0, dataRefs)
      const mid = manifest(total, 1, [leaf])
      await assert.rejects(collect(assembleFile(manifest(total, 3, [mid]), store.fetch)), /has height 1, expected 2/)
    })

    it('rejects children whose sizes do not add up', async () => {
      const leaf = manifest(total, 0, dataRefs)
      await assert.rejects(collect(assembleFile(manifest(total + 5, 1, [leaf]), store.fetch)),
        /children of a height-1 manifest hold 32847 bytes, it declares 32852/)
    })
  })
})

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

describe('assembleFile over manifest trees of every shape (test/client/manifest-tree.ts writes them)', () => {
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
})

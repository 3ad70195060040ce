/**
 * FEC split files across a real 10-node libp2p network on 127.0.0.1: a file put at one node
 * is fetched at another; then blocks of one segment are deleted from every store in the
 * network, up to m (still fetched, by decoding, and healed: inserted again) and one more (a
 * clean error naming the segment); a byte range fetches only the segment it needs.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { decodeChk } from '../../src/keys/chk.js'
import { parseUri } from '../../src/keys/uri.js'
import { decodeSplitfile } from '../../src/client/splitfile.js'
import { createNetwork, ring } from '../helpers/network.js'
import { collect, testBytes } from './memory-blocks.js'
import type { RoutingKey } from '../../src/keys/routing-key.js'
import type { ChkUri } from '../../src/keys/uri.js'
import type { TestNetwork } from '../helpers/network.js'
import type { SplitfileMeta } from '../../src/client/splitfile.js'

const N = 10

describe(`FEC split files on a ${N}-node network`, () => {
  let net: TestNetwork
  const data = testBytes(3 * 1024 * 1024 + 12345, 21)
  let uri: string
  let meta: SplitfileMeta

  const deleteEverywhere = async (key: RoutingKey): Promise<void> => {
    await Promise.all(net.nodes.map(async (n) => { await n.store.delete(key) }))
  }

  before(async () => {
    net = await createNetwork(N, { core: { hopTimeoutMs: 1000 } })
    await ring(net, [[0, 5], [2, 7], [3, 8]])
    const put = await net.nodes[0].client.put([data], { mime: 'application/x-test', segmentData: 16, segmentCheck: 8, htl: 4 })
    uri = put.uri
    assert.equal(put.segments, 7)
    const u = parseUri(uri) as ChkUri
    const root = decodeChk((await net.nodes[0].service.request(u.routingKey, { htl: 4 })).block.data, u.decryptKey)
    meta = await decodeSplitfile(root.payload, async () => { throw new Error('unexpected nested layout') })
  })

  after(async () => { await net.stop() })

  it('fetches a file put at another node, with its MIME type', async () => {
    const f = await net.nodes[6].client.open(uri)
    assert.equal(f.size, data.length)
    assert.equal(f.mime, 'application/x-test')
    assert.ok((await collect(f.stream())).equals(data))
  })

  it('rebuilds a segment with m blocks gone from every store, and names it when one more goes', async () => {
    const seg = meta.segments[2]
    const m = seg.check().length
    // Lose m data blocks of segment 3 everywhere: decodable from the rest.
    for (const ref of seg.data().slice(0, m)) await deleteEverywhere(ref.routingKey)
    const reader = net.nodes[8].client
    const ok = await reader.open(uri)
    assert.ok((await collect(ok.stream())).equals(data))
    // Healing: the reader inserted the m blocks it had to rebuild again, so another node finds them.
    await reader.healer.drained()
    assert.equal(reader.healer.stats.healed, m)
    for (const ref of seg.data().slice(0, m)) {
      const got = await net.nodes[1].service.request(ref.routingKey, { htl: 6 })
      assert.ok(got.block.data.length > 0)
    }
    // The fetch re-cached the blocks it used; delete again, now m + 1 blocks.
    for (const ref of seg.data().slice(0, m)) await deleteEverywhere(ref.routingKey)
    await deleteEverywhere(seg.check()[0])
    const f = await net.nodes[3].client.open(uri, { concurrency: 16 })
    await assert.rejects(collect(f.stream()), /segment 3 of 7 \(data blocks 32-47\) cannot be rebuilt: 15 of its 24 blocks could be fetched, 16 are needed/)
  })

  it('serves a byte range from the segments it covers only', async () => {
    const f = await net.nodes[4].client.open(uri)
    const start = data.length - 70_000
    const got = await collect(f.stream({ start, end: data.length - 10 }))
    assert.ok(got.equals(data.subarray(start, data.length - 10)))
  })
})

/**
 * Updatable content: date-based redirect slots at period boundaries (injectable clock),
 * latest-edition discovery, and both resolved through the same `get` on a real network.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { WarrenClient } from '../../src/client/client.js'
import { KeyClient, keygen } from '../../src/client/key-client.js'
import { dbrSlot, decodeDescriptor, encodeDescriptor, findLatestEdition } from '../../src/client/updatable.js'
import { createNetwork, ring } from '../helpers/network.js'
import { randomBytes } from '../helpers/seed.js'
import type { TestNetwork } from '../helpers/network.js'

const DAY = 86_400

describe('date-based redirect slots', () => {
  const d = { kind: 'dbr' as const, period: DAY, start: Date.UTC(2026, 0, 1) / 1000 }

  it('picks the period containing the instant, switching exactly at the boundary', () => {
    const boundary = (d.start + 3 * DAY) * 1000
    assert.equal(dbrSlot('site', d, boundary - 1).index, 2)
    assert.equal(dbrSlot('site', d, boundary - 1).name, 'site/20260103T000000Z')
    assert.equal(dbrSlot('site', d, boundary).index, 3)
    assert.equal(dbrSlot('site', d, boundary).name, 'site/20260104T000000Z')
    assert.equal(dbrSlot('site', d, boundary + DAY * 1000 - 1).index, 3)
    assert.equal(dbrSlot('site', d, d.start * 1000).index, 0)
    assert.deepEqual({ from: dbrSlot('site', d, boundary).from, until: dbrSlot('site', d, boundary).until }, { from: d.start + 3 * DAY, until: d.start + 4 * DAY })
  })

  it('handles periods that are not whole days and refuses instants before the start', () => {
    const hourly = { kind: 'dbr' as const, period: 3600, start: d.start + 1800 }
    assert.equal(dbrSlot('x', hourly, (d.start + 1800 + 3600) * 1000).name, 'x/20260101T013000Z')
    assert.equal(dbrSlot('x', hourly, (d.start + 1800 + 3600) * 1000 - 1).name, 'x/20260101T003000Z')
    assert.throws(() => dbrSlot('x', hourly, d.start * 1000), /no date-based slot yet/)
  })

  it('round-trips descriptors and rejects bad ones', () => {
    assert.deepEqual(decodeDescriptor(encodeDescriptor(d)), d)
    assert.deepEqual(decodeDescriptor(encodeDescriptor({ kind: 'editions' })), { kind: 'editions' })
    assert.throws(() => encodeDescriptor({ kind: 'dbr', period: 0, start: 0 }), /period/)
    assert.throws(() => decodeDescriptor(new TextEncoder().encode('{"v":1,"kind":"weekly"}')), /unknown updatable kind/)
    assert.throws(() => decodeDescriptor(new TextEncoder().encode('not json')), /malformed/)
  })
})

describe('latest-edition search', () => {
  for (const n of [-1, 0, 1, 2, 7, 8, 100, 1000]) {
    it(`finds edition ${n} in about 2*log2(N) bounded probes`, async () => {
      let probes = 0
      const r = await findLatestEdition(async (e) => { probes++; return e <= n }, -1, 64)
      assert.equal(r.latest, n)
      assert.equal(r.probes, probes)
      assert.ok(probes <= 2 * Math.ceil(Math.log2(n + 2)) + 2, `${probes} probes for ${n}`)
    })
  }

  it('starts from the newest edition already seen', async () => {
    const asked: number[] = []
    const r = await findLatestEdition(async (e) => { asked.push(e); return e <= 41 }, 40, 64)
    assert.equal(r.latest, 41)
    assert.deepEqual(asked, [41, 43, 42])
  })

  it('stops at the probe bound with the newest edition found so far', async () => {
    const r = await findLatestEdition(async () => true, -1, 5)
    assert.equal(r.probes, 5)
    assert.equal(r.latest, 30) // 0, 2, 6, 14, 30: each hit doubles the stride
  })
})

describe('updatable keys on a 5-node network', () => {
  let net: TestNetwork
  const HTL = 6
  let clock = Date.UTC(2026, 4, 1, 12)
  const clients: Array<{ files: WarrenClient, keys: KeyClient }> = []

  before(async () => {
    net = await createNetwork(5, { core: { hopTimeoutMs: 2000 } })
    await ring(net, [[0, 2]])
    for (const node of net.nodes) {
      const keys = new KeyClient({ network: node.service }, { htl: HTL, now: () => clock })
      const files = new WarrenClient({ network: node.service, resolve: keys.resolveToChk }, { htl: HTL })
      clients.push({ files, keys })
    }
  })

  after(async () => { await net.stop() })

  it('finds edition N after several updates, from a reader that has seen none', async () => {
    const { insertUri, requestUri } = keygen()
    const versions = Array.from({ length: 6 }, (_, i) => randomBytes(200 + i * 5000))
    for (const [i, v] of versions.entries()) {
      const r = await clients[0].keys.update(v, `${insertUri}blog`)
      assert.equal(r.edition, i)
      assert.equal(r.uri, `${requestUri}blog`)
    }
    const reader = clients[3]
    const res = await reader.keys.resolve(`${requestUri}blog`)
    assert.equal(res.edition, 5)
    assert.ok((res.probes ?? 99) <= 8, `found in ${res.probes} probes`)
    assert.deepEqual(Buffer.from(await reader.files.get(`${requestUri}blog`)), versions[5])
    // Any edition stays readable by its own name.
    assert.deepEqual(Buffer.from(await reader.files.get(`${requestUri}blog/2`)), versions[2])
    // The publisher's next update continues the sequence.
    const next = await clients[0].keys.update(randomBytes(10), `${insertUri}blog`)
    assert.equal(next.edition, 6)
  })

  it('serves the current date slot, switching at the period boundary', async () => {
    const { insertUri, requestUri } = keygen()
    const start = Date.UTC(2026, 4, 1) / 1000
    const today = randomBytes(3000)
    const tomorrow = randomBytes(4000)
    const boundary = (start + DAY) * 1000
    clock = boundary - 10_000
    const a = await clients[1].keys.update(today, `${insertUri}news`, { dbr: { period: DAY, start } })
    assert.equal(a.slot?.name, 'news/20260501T000000Z')
    // Inserted ahead of time, as Freenet publishers did.
    const b = await clients[1].keys.update(tomorrow, `${insertUri}news`, { at: boundary })
    assert.equal(b.slot?.name, 'news/20260502T000000Z')
    assert.deepEqual(b.descriptor, { kind: 'dbr', period: DAY, start })

    const reader = clients[4]
    clock = boundary - 1
    assert.deepEqual(Buffer.from(await reader.files.get(`${requestUri}news`)), today)
    clock = boundary
    assert.deepEqual(Buffer.from(await reader.files.get(`${requestUri}news`)), tomorrow)
    clock = boundary + 2 * DAY * 1000
    await assert.rejects(reader.files.get(`${requestUri}news`), /was not found/)
  })
})

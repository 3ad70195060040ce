/**
 * Five warren nodes on five hosts (network namespaces), one address each on one bridged
 * segment of the 3fff::/20 documentation prefix (test/netns/lab.ts says why not 198.18.0.0/15),
 * production defaults (NAT machinery on, metrics off): no allowPrivateAddrs, no localTestnet.
 * Each node announces its address (config `announce`, as an operator of a public host sets
 * WARREN_ANNOUNCE; without it libp2p announces a public address only once AutoNAT has four
 * confirmations). Four nodes bootstrap from the first by its address; the announcement tells
 * them about each other and they connect beyond the star; a file inserted on one host is read
 * on another.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { eventually, Lab } from './lab.js'
import type { Host } from './lab.js'

const N = 5
const addr = (i: number): string => `3fff:100::${i + 1}`

describe(`${N} nodes on ${N} hosts (network namespaces), without allowPrivateAddrs`, () => {
  const lab = new Lab()
  const hosts: Host[] = []

  before(async () => {
    const sw = lab.switch('sw')
    const ns = Array.from({ length: N }, (_, i) => lab.ns(`h${i}`))
    ns.forEach((h, i) => { lab.plug(sw, h, 'eth0', `${addr(i)}/64`) })
    hosts.push(await lab.node(ns[0], { listen: [`/ip6/${addr(0)}/tcp/7400`], announce: [`/ip6/${addr(0)}/tcp/7400`] }))
    const seed = `/ip6/${addr(0)}/tcp/7400/p2p/${hosts[0].peerId}`
    hosts.push(...await Promise.all(ns.slice(1).map(async (h, j) => { const i = j + 1; return await lab.node(h, { listen: [`/ip6/${addr(i)}/tcp/7400`], announce: [`/ip6/${addr(i)}/tcp/7400`], bootstrap: [seed] }) })))
  })

  after(async () => { await lab.teardown() })

  it('advertises each node\'s one public address and connects through the seed', async () => {
    for (let i = 0; i < N; i++) {
      const s = await hosts[i].refresh()
      assert.ok(s.addresses.includes(`/ip6/${addr(i)}/tcp/7400/p2p/${s.peerId}`), s.addresses.join(' '))
    }
    await eventually(async () => {
      for (let i = 1; i < N; i++) if (!(await hosts[i].refresh()).routingPeers.includes(hosts[0].peerId)) return false
      return true
    }, 20_000, 'every node has the seed in its routing table')
  })

  it('learns other nodes\' addresses from the network and connects to them (no private-address shortcut)', async () => {
    // Links between two non-seed nodes come from addresses learnt through the announcement.
    const links = await eventually(async () => {
      const found: string[] = []
      for (let i = 1; i < N; i++) {
        const s = await hosts[i].refresh()
        for (const c of s.connections) {
          const j = hosts.findIndex((h) => h.peerId === c.peer)
          if (j > 0) found.push(`${i}-${j} via ${c.remoteAddr}`)
        }
      }
      return found.length > 0 ? found : undefined
    }, 30_000, 'a connection between two nodes other than the seed')
    for (const l of links) assert.match(l, /\/ip6\/3fff:100::\d+\/tcp\//, 'over the hosts\' own addresses')
  })

  it('reads on one host a multi-block file inserted on another', async () => {
    const data = randomBytes(200_000)
    const { uri } = await hosts[1].call<{ uri: string }>('put', { data: data.toString('base64'), htl: 10 })
    const got = await hosts[N - 1].call<{ sha256: string, bytes: number }>('get', { uri })
    assert.equal(got.bytes, data.length)
    assert.equal(got.sha256, createHash('sha256').update(data).digest('hex'))
  })
})

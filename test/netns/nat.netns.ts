/**
 * A node behind a masquerading router (network namespaces): N sits on a home LAN (ULA
 * fd00:1::/64) behind router R, whose WAN side is on the public segment (3fff:100::/64) with S
 * (seed and circuit relay) and B (a reader). R forwards LAN traffic out with ip6tables
 * MASQUERADE and drops new connections from outside: nobody can dial N, N can dial out.
 * Production defaults everywhere (NAT machinery on, no allowPrivateAddrs).
 *
 * Checked: S sees N's connection come from R's address (the NAT is in the path); B cannot dial
 * N's LAN address; N gets a circuit-relay reservation on S and announces the relayed address;
 * C (a public node N does not know) reaches N through it (a limited connection) and pings N
 * over it, but N refuses warren streams on it; every direct connection between B and N is one
 * N opened through its router; and B fetches a block that only N holds.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { eventually, Lab } from './lab.js'
import type { Host } from './lab.js'

describe('a node behind a masquerading NAT router', () => {
  const lab = new Lab()
  let S: Host
  let B: Host
  let N: Host
  let C: Host

  before(async () => {
    const sw = lab.switch('wan')
    const s = lab.ns('s')
    const b = lab.ns('b')
    const c = lab.ns('c')
    const r = lab.ns('r')
    const n = lab.ns('n')
    lab.plug(sw, s, 'eth0', '3fff:100::1/64')
    lab.plug(sw, b, 'eth0', '3fff:100::2/64')
    lab.plug(sw, c, 'eth0', '3fff:100::3/64')
    lab.plug(sw, r, 'wan0', '3fff:100::fe/64')
    lab.wire(r, 'lan0', 'fd00:1::1/64', n, 'eth0', 'fd00:1::2/64')
    lab.exec(n, 'ip', '-6', 'route', 'add', 'default', 'via', 'fd00:1::1')
    lab.exec(r, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1')
    lab.exec(r, 'ip6tables', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan0', '-j', 'MASQUERADE')
    lab.exec(r, 'ip6tables', '-A', 'FORWARD', '-i', 'wan0', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT')
    lab.exec(r, 'ip6tables', '-A', 'FORWARD', '-i', 'wan0', '-j', 'DROP')
    S = await lab.node(s, { listen: ['/ip6/3fff:100::1/tcp/7400'], announce: ['/ip6/3fff:100::1/tcp/7400'] })
    const seed = `/ip6/3fff:100::1/tcp/7400/p2p/${S.peerId}`
    ;[B, N, C] = await Promise.all([
      lab.node(b, { listen: ['/ip6/3fff:100::2/tcp/7400'], announce: ['/ip6/3fff:100::2/tcp/7400'], bootstrap: [seed] }),
      // N knows no public address of its own: it listens on its LAN address only.
      lab.node(n, { listen: ['/ip6/fd00:1::2/tcp/7400'], bootstrap: [seed] }),
      // C joins nobody, so N never learns of it through warren nor dials it; without DCUtR on
      // C's side, a relayed connection C <-> N stays relayed (B's may be upgraded). Like S and
      // B, C announces its address and so keeps no relay reservation (NatOptions.reserve): with
      // libp2p 3.3.11, a node asking S for a reservation while dialling through S failed the
      // relayed dial here in most runs (EncryptionFailedError, the relayed stream closed in the
      // Noise handshake); the cause is not pinned down.
      lab.node(c, { listen: ['/ip6/3fff:100::3/tcp/7400'], announce: ['/ip6/3fff:100::3/tcp/7400'], nat: { holePunching: false } })
    ])
  })

  after(async () => { await lab.teardown() })

  it('reaches the seed through the router: the seed sees the router\'s address', async () => {
    const conn = await eventually(async () => (await S.refresh()).connections.find((c) => c.peer === N.peerId), 20_000, 'N connected to S')
    assert.match(conn.remoteAddr, /^\/ip6\/3fff:100::fe\/tcp\//)
    assert.equal(conn.direction, 'inbound')
  })

  it('cannot be dialled directly from the other side', async () => {
    // A new connection (force): B may already hold one that N opened (N verifies the peers it
    // learns of by dialling them), which a plain dial would return without dialling.
    await assert.rejects(B.call('dial', { addr: `/ip6/fd00:1::2/tcp/7400/p2p/${N.peerId}`, force: true }))
  })

  let relayed = ''
  it('gets a relay reservation on the seed and announces the relayed address', async () => {
    relayed = await eventually(async () => (await N.refresh()).addresses.find((a) => a.includes(`/p2p/${S.peerId}/p2p-circuit`)), 30_000, 'a /p2p-circuit address of N through S')
    assert.ok(relayed.startsWith('/ip6/3fff:100::1/tcp/7400/'), relayed)
    assert.ok(relayed.endsWith(`/p2p/${N.peerId}`))
  })

  it('is reached through the relay by a node on the other side, which pings it over the limited connection', async () => {
    const conn = await C.call<{ remoteAddr: string, limited: boolean }>('dial', { addr: relayed })
    assert.ok(conn.limited, 'a relayed connection carries the relay\'s limits')
    assert.match(conn.remoteAddr, /p2p-circuit/)
    const { rtt } = await C.call<{ rtt: number }>('ping', { addr: relayed })
    assert.ok(rtt >= 0)
    const status = await C.refresh()
    assert.ok(status.connections.some((c) => c.peer === N.peerId && c.limited))
    assert.ok(!status.connections.some((c) => c.peer === N.peerId && !c.limited), 'C has no direct connection to N')
  })

  it('carries no warren protocol over the relayed connection (ping does run on it)', async () => {
    type Probe = { limited: boolean, received: number, outcome: string }
    const warren = await C.call<Probe>('stream', { addr: relayed, protocol: '/warren/request/1.0.0' })
    assert.ok(warren.limited)
    // N's libp2p resets the stream before warren's handler sees it: no ERROR frame comes back.
    assert.equal(warren.received, 0, `a /warren/request stream on a limited connection got ${warren.received} bytes (${warren.outcome})`)
    assert.notEqual(warren.outcome, 'timeout', 'the stream was ended, not left hanging')
    const ping = await C.call<Probe>('stream', { addr: relayed, protocol: '/ipfs/ping/1.0.0' })
    assert.ok(ping.limited)
    assert.equal(ping.received, 32, `ping echoed ${ping.received} bytes (${ping.outcome})`)
  })

  it('is reached by a node it knows through its own outbound connection: every direct B <-> N connection is one N opened', async () => {
    const status = await B.refresh()
    for (const c of status.connections.filter((c) => c.peer === N.peerId && !c.limited)) {
      assert.equal(c.direction, 'inbound')
      assert.match(c.remoteAddr, /^\/ip6\/3fff:100::fe\/tcp\//)
    }
  })

  it('serves a block only it holds to the node on the other side', async () => {
    const data = randomBytes(20_000)
    const { key } = await N.call<{ key: string }>('hold', { data: data.toString('base64') })
    const expected = await N.call<{ sha256: string }>('request', { key, htl: 10 })
    assert.equal((await S.refresh()).storeBlocks, 0, 'the seed does not hold it')
    const got = await B.call<{ sha256: string, hops: number }>('request', { key, htl: 10 })
    assert.equal(got.sha256, expected.sha256, 'B got the block N holds')
    assert.ok(got.hops >= 1, `found ${got.hops} hops away`)
  })
})

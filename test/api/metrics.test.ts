/**
 * GET /metrics on real nodes: three warren nodes on 127.0.0.1 with metrics on, each with its
 * own API server (and a fourth, a reader that joins later), scraped over HTTP and parsed by a Prometheus text-format parser
 * (parse-prometheus-text-format). The values must move with real operations: a put counts
 * inserts and insert-protocol bytes at the inserting node, a get counts a found request and
 * its hops at the reader and routed requests at the node in between, a missing key counts
 * not_found, a small store counts its evictions, and every node reports its own libp2p
 * listener (one registry per node, no collisions inside one process). ERROR frames on the wire
 * are counted by code both ways (a hostile raw peer sends a bad key, or answers with an ERROR),
 * and tunnels by role at each of A -> M -> T, with T's exit fetches by outcome.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { readFile } from 'node:fs/promises'
import { Readable } from 'node:stream'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { startApiServer } from '../../src/api/server.js'
import { createServer } from 'node:http'
import { pbStream } from '@libp2p/utils'
import { BLOCK_SIZE, LINK_PROTOCOL, MAX_FRAME_BYTES, REQUEST_PROTOCOL } from '../../src/constants.js'
import { Frame, FrameType, WireError } from '../../src/protocol/messages.js'
import { TunnelRemoteError } from '../../src/tunnel/service.js'
import { rawRequest } from '../helpers/attacks.js'
import { createRawPeer } from '../helpers/raw-peer.js'
import { fixTopology } from '../tunnel/tap.js'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { ChkType, encodeChk } from '../../src/keys/chk.js'
import { NotFoundError } from '../../src/protocol/errors.js'
import { createNode, until } from '../helpers/network.js'
import { randomBytes } from '../helpers/seed.js'
import { removeTempDir } from '../helpers/temp.js'
import type { PromFamily, PromSample } from 'parse-prometheus-text-format'
import type { WarrenNode } from '../../src/node.js'
import type { FastifyInstance } from 'fastify'

/**
 * A scrape parsed twice: as it is (families with their types), and with the histogram TYPE
 * lines left out, so that each histogram's _bucket, _sum and _count series come back as plain
 * families with their labels (parse-prometheus-text-format folds a labelled histogram's
 * samples into one: it handles unlabelled histograms only).
 */
interface Scrape { families: Map<string, PromFamily>, series: Map<string, PromFamily> }

function parse (text: string): Scrape {
  const byName = (fs: PromFamily[]): Map<string, PromFamily> => new Map(fs.map((f) => [f.name, f]))
  return {
    families: byName(parsePrometheusTextFormat(text)),
    series: byName(parsePrometheusTextFormat(text.split('\n').filter((l) => !/^# TYPE \S+ histogram$/.test(l)).join('\n')))
  }
}

function sample (s: Scrape, name: string, labels: Record<string, string>): PromSample | undefined {
  return s.series.get(name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
}

/** The value of the first sample of `name` whose labels include `labels` (0 when there is none). */
function value (s: Scrape, name: string, labels: Record<string, string> = {}): number {
  return Number(sample(s, name, labels)?.value ?? 0)
}

function histogram (s: Scrape, name: string, labels: Record<string, string>): { count: number, sum: number, le: (bound: string) => number } {
  return {
    count: value(s, `${name}_count`, labels),
    sum: value(s, `${name}_sum`, labels),
    le: (bound) => value(s, `${name}_bucket`, { ...labels, le: bound })
  }
}

describe('GET /metrics (Prometheus text format) on three real nodes', () => {
  const nodes: WarrenNode[] = []
  const dirs: string[] = []
  const apis: Array<{ app: FastifyInstance, url: string }> = []

  const addNode = async (storeBytes: number): Promise<void> => {
    const { node, dir } = await createNode({ metrics: true, config: { storeBytes } })
    nodes.push(node)
    dirs.push(dir)
    apis.push(await startApiServer(node, { host: '127.0.0.1', port: 0 }))
  }
  const link = async (a: number, b: number): Promise<void> => {
    await nodes[a].libp2p.dial(nodes[b].libp2p.getMultiaddrs()[0])
    await until(() => nodes[a].service.core.table.has(nodes[b].peerId) && nodes[b].service.core.table.has(nodes[a].peerId), 10_000, `link ${a}<->${b}`)
  }

  const scrape = async (i: number): Promise<Scrape> => {
    const res = await fetch(`${apis[i].url}/metrics`)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
    return parse(await res.text())
  }

  before(async () => {
    // Node 1, in the middle, has room for three blocks only: the put below makes it evict.
    for (const storeBytes of [64 << 20, 3 * BLOCK_SIZE + 1024, 64 << 20]) await addNode(storeBytes)
    // A line: 0 - 1 - 2.
    await link(0, 1)
    await link(1, 2)
  })

  after(async () => {
    for (const api of apis) await api.app.close()
    await Promise.all(nodes.map(async (n) => { await n.stop() }))
    await Promise.all(dirs.map(removeTempDir))
  })

  it('follows the naming conventions: HELP and TYPE on every family, _total on counters, base units', async () => {
    const s = await scrape(0)
    const warren = [...s.families.values()].filter((f) => f.name.startsWith('warren_'))
    assert.ok(warren.length >= 15, `warren families: ${warren.map((f) => f.name).join(', ')}`)
    for (const f of s.families.values()) {
      assert.match(f.name, /^[a-zA-Z_:][a-zA-Z0-9_:]*$/, `${f.name}: a valid metric name`)
      assert.notEqual(f.help, '', `${f.name} has a HELP line`)
    }
    for (const f of warren) {
      if (f.type === 'COUNTER') assert.match(f.name, /_total$/, `counter ${f.name} ends in _total`)
      else assert.doesNotMatch(f.name, /_total$/, `${f.type} ${f.name} does not end in _total`)
      assert.doesNotMatch(f.name, /_(ms|milliseconds|kb|kib|mb|mib|percent)(_|$)/, `${f.name} is in base units`)
    }
    // libp2p's own metrics are in the same scrape.
    assert.equal(s.families.get('warren_local_operation_hops')?.type, 'HISTOGRAM')
    assert.equal(s.families.get('warren_store_evictions_total')?.type, 'COUNTER')
    assert.equal(s.families.get('warren_store_fill_ratio')?.type, 'GAUGE')
    assert.ok(s.families.has('libp2p_data_transfer_bytes_total'))
    assert.ok(s.families.has('libp2p_connection_manager_connections'))
  })

  it('gives every node its own registry: each one reports its own TCP listener', async () => {
    for (let i = 0; i < 3; i++) {
      const s = await scrape(i)
      const port = nodes[i].libp2p.getMultiaddrs()[0].getComponents().find((c) => c.name === 'tcp')?.value
      const listeners = s.families.get('libp2p_tcp_listener_status_info')?.metrics.map((m) => m.labels?.address)
      assert.deepEqual(listeners, [`127.0.0.1:${port}`], `node ${i} reports only its own listener`)
      // Two links on the middle node, one on each end.
      assert.equal(value(s, 'warren_routing_table_peers'), i === 1 ? 2 : 1)
    }
  })

  let uri = ''
  const data = randomBytes(4 * BLOCK_SIZE + 5000)

  it('counts a put at the inserting node: inserts by outcome, hops, insert-protocol bytes, store fill', async () => {
    const before0 = await scrape(0)
    assert.equal(value(before0, 'warren_local_operations_total', { operation: 'insert', outcome: 'stored' }), 0)
    const put = await nodes[0].client.put(Readable.from([data]), { htl: 3 })
    uri = put.uri
    const s = await scrape(0)
    const inserted = value(s, 'warren_local_operations_total', { operation: 'insert', outcome: 'stored' })
    assert.equal(inserted, put.blocks, 'one stored insert per block of the file')
    const hops = histogram(s, 'warren_local_operation_hops', { operation: 'insert', outcome: 'stored' })
    assert.equal(hops.count, put.blocks)
    assert.ok(hops.sum >= put.blocks, 'each insert went at least one hop (node 0 has a neighbour)')
    assert.equal(histogram(s, 'warren_local_operation_duration_seconds', { operation: 'insert' }).count, put.blocks)
    const sent = value(s, 'warren_protocol_bytes_total', { protocol: LINK_PROTOCOL, direction: 'sent' })
    assert.ok(sent >= data.length, `insert protocol carried ${sent} bytes out for a ${data.length}-byte file`)
    assert.ok(value(s, 'libp2p_data_transfer_bytes_total', { protocol: 'global sent' }) >= sent)
    // The inserter keeps its own copy in its client cache, which peers never read (issue 11,
    // finding 6): its store stays empty; the node at the end of the path (node 2) stores the file.
    assert.equal(value(s, 'warren_store_blocks'), 0)
    const s2 = await scrape(2)
    assert.equal(value(s2, 'warren_store_blocks'), nodes[2].store.stats().count)
    assert.ok(value(s2, 'warren_store_blocks') >= put.blocks)
    assert.equal(value(s2, 'warren_store_capacity_bytes'), 64 << 20)
    const fill = value(s2, 'warren_store_fill_ratio')
    assert.ok(fill > 0 && fill < 1, `fill ratio ${fill}`)
    assert.equal(value(s, 'warren_local_operation_errors_total', { operation: 'insert', code: 'internal' }), 0)
  })

  it('counts evictions at the node whose store is too small for the file', async () => {
    const s = await scrape(1)
    const evicted = value(s, 'warren_store_evictions_total')
    assert.ok(evicted > 0, `node 1 (room for 3 blocks) evicted ${evicted} blocks`)
    assert.ok(value(s, 'warren_store_blocks') <= 3)
    assert.ok(value(s, 'warren_store_fill_ratio') > 0.9)
    assert.ok(value(s, 'warren_routed_operations_total', { operation: 'insert' }) > 0, 'the inserts passed through node 1')
  })

  it('counts a get at the reader (found, hops) and the routed requests at the node in between', async () => {
    // A reader that joins after the put (so it holds none of the blocks), through node 1 only.
    await addNode(64 << 20)
    await link(3, 1)
    const mid0 = await scrape(1)
    const got = await nodes[3].client.get(uri)
    assert.deepEqual(Buffer.from(got), Buffer.from(data))
    const s = await scrape(3)
    const found = value(s, 'warren_local_operations_total', { operation: 'request', outcome: 'found' })
    assert.ok(found >= 5, `${found} blocks found`)
    const hops = histogram(s, 'warren_local_operation_hops', { operation: 'request', outcome: 'found' })
    assert.equal(hops.count, found)
    assert.ok(hops.sum >= found, 'every block came from at least one hop away')
    assert.equal(hops.le('0'), 0, 'no block was local to node 2')
    assert.equal(hops.le('+Inf'), found)
    assert.ok(value(s, 'warren_protocol_bytes_total', { protocol: LINK_PROTOCOL, direction: 'received' }) >= data.length)
    const mid = await scrape(1)
    assert.ok(value(mid, 'warren_routed_operations_total', { operation: 'request' }) - value(mid0, 'warren_routed_operations_total', { operation: 'request' }) >= found,
      'every request reached node 1 (node 3\'s only neighbour)')
    assert.ok(value(mid, 'warren_forwarded_total') > value(mid0, 'warren_forwarded_total') || value(mid, 'warren_served_from_store_total') > value(mid0, 'warren_served_from_store_total'))
    // Node 0 did not request anything: its request counters stayed at zero.
    assert.equal(value(await scrape(0), 'warren_local_operations_total', { operation: 'request', outcome: 'found' }), 0)
  })

  it('counts a missing key as not_found, in the outcomes and in the errors by code', async () => {
    const before2 = await scrape(2)
    const missing = encodeChk(ChkType.DATA, randomBytes(100)).routingKey
    await assert.rejects(nodes[2].network.request(missing, { htl: 3 }), NotFoundError)
    const s = await scrape(2)
    const delta = (name: string, labels: Record<string, string>): number => value(s, name, labels) - value(before2, name, labels)
    assert.equal(delta('warren_local_operations_total', { operation: 'request', outcome: 'not_found' }), 1)
    assert.equal(delta('warren_local_operation_errors_total', { operation: 'request', code: 'not_found' }), 1)
    assert.equal(delta('warren_local_operations_total', { operation: 'request', outcome: 'found' }), 0)
  })

  it('has every series the sample Grafana dashboard (docker/grafana/warren.json) queries', async () => {
    const dashboard = JSON.parse(await readFile(new URL('../../../docker/grafana/warren.json', import.meta.url), 'utf8')) as { panels: Array<{ title: string, targets: Array<{ expr: string }> }> }
    const s = await scrape(0)
    const exported = new Set(s.series.keys())
    let checked = 0
    for (const p of dashboard.panels) {
      for (const t of p.targets) {
        for (const name of t.expr.match(/\b(warren|libp2p)_[a-z0-9_]+/g) ?? []) {
          // Label names inside by (...) look like metric names: only names followed by { [ ( or ) count.
          if (!new RegExp(`${name}\\s*[{[)]`).test(t.expr) && !t.expr.trim().startsWith(name)) continue
          assert.ok(exported.has(name), `panel "${p.title}" queries ${name}, which no node exports`)
          checked++
        }
      }
    }
    assert.ok(checked >= 15, `${checked} series checked`)
  })

  it('counts ERROR frames by code: sent to a hostile peer, received from one', async () => {
    const evil = await createRawPeer()
    try {
      const before0 = await scrape(0)
      const labels = { code: WireError.Code.INVALID_KEY, direction: 'sent', protocol: REQUEST_PROTOCOL }
      const answer = await rawRequest(evil, nodes[0].libp2p.getMultiaddrs()[0], 77n, new Uint8Array(5))
      assert.equal(answer.type, FrameType.ERROR)
      assert.equal(answer.error?.code, WireError.Code.INVALID_KEY)
      const s = await scrape(0)
      assert.equal(value(s, 'warren_wire_errors_total', labels) - value(before0, 'warren_wire_errors_total', labels), 1)
      assert.equal(value(s, 'warren_wire_errors_total', { direction: 'received' }), 0, 'node 0 received no ERROR')

      // The raw peer as a neighbour (it speaks the request protocol, not the link one) that
      // answers every request with OVERLOADED: a node whose only neighbour it is counts it received.
      await evil.handle(REQUEST_PROTOCOL, async (stream) => {
        const pb = pbStream(stream, { maxDataLength: MAX_FRAME_BYTES }).pb(Frame)
        try {
          await pb.read({ signal: AbortSignal.timeout(10_000) })
          await pb.write({ type: FrameType.ERROR, error: { code: WireError.Code.OVERLOADED, message: 'busy' } })
          await stream.close()
        } catch (err: any) {
          stream.abort(err)
        }
      })
      const { node, dir } = await createNode({ metrics: true })
      try {
        await node.libp2p.dial(evil.getMultiaddrs()[0])
        await until(() => node.service.core.table.has(evil.peerId.toString()), 10_000, 'the raw peer as a neighbour')
        const missing = encodeChk(ChkType.DATA, randomBytes(100)).routingKey
        await assert.rejects(node.network.request(missing, { htl: 3 }))
        const got = parse(await node.metrics!.text())
        assert.equal(value(got, 'warren_wire_errors_total', { code: WireError.Code.OVERLOADED, direction: 'received', protocol: REQUEST_PROTOCOL }), 1)
      } finally {
        await node.stop()
        await removeTempDir(dir)
      }
    } finally {
      await evil.stop()
    }
  })

  it('answers 404 with a reason on a node built without metrics', async () => {
    const { node, dir } = await createNode({ metrics: false })
    const api = await startApiServer(node, { host: '127.0.0.1', port: 0 })
    try {
      const res = await fetch(`${api.url}/metrics`)
      assert.equal(res.status, 404)
      assert.match(((await res.json()) as { error: string }).error, /without metrics/)
    } finally {
      await api.app.close()
      await node.stop()
      await removeTempDir(dir)
    }
  })
})

async function collect (it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const p of it) parts.push(p)
  return Buffer.concat(parts)
}

describe('tunnel and exit metrics on A -> M -> T', () => {
  const PAGE = 'the page the exit fetched, '.repeat(200)
  let site: Server
  let port = 0
  const nodes: WarrenNode[] = []
  const dirs: string[] = []
  const [A, M, T] = [0, 1, 2]
  const scrape = async (i: number): Promise<Scrape> => parse(await nodes[i].metrics!.text())

  before(async () => {
    site = createServer((req, res) => {
      if (req.url === '/page') res.writeHead(200, { 'content-type': 'text/plain' }).end(PAGE)
      else res.writeHead(302, { location: 'http://192.168.0.1/admin' }).end()
    })
    await new Promise<void>((resolve) => { site.listen(0, '127.0.0.1', resolve) })
    port = (site.address() as AddressInfo).port
    for (const exit of [false, false, true]) {
      const { node, dir } = await createNode({ metrics: true, config: { exit }, exit: { testAllow: [{ address: '127.0.0.1', port }] } })
      nodes.push(node)
      dirs.push(dir)
    }
    fixTopology(nodes)
    await nodes[A].libp2p.dial(nodes[M].libp2p.getMultiaddrs()[0])
    await nodes[M].libp2p.dial(nodes[T].libp2p.getMultiaddrs()[0])
    await until(() => nodes[M].tunnels.core.table.size === 2 && nodes[A].tunnels.core.table.size === 1 && nodes[T].tunnels.core.table.size === 1, 10_000, 'tunnel routes')
    await nodes[A].tunnel.trustAdd('t', (await nodes[T].tunnel.card()).text)
  })
  after(async () => {
    site.closeAllConnections()
    await new Promise((resolve) => site.close(resolve))
    await Promise.all(nodes.map(async (n) => { await n.stop() }))
    await Promise.all(dirs.map(removeTempDir))
  })

  it('counts a tunnel get at each node by its role, and the sealed bytes each end and the middleman carried', async () => {
    const data = randomBytes(BLOCK_SIZE + 1000)
    // T inserts the file itself (its client cache keeps it: T serves the get from there).
    const { uri } = await nodes[T].client.put(Readable.from([data]), { htl: 1 })
    assert.deepEqual(await collect((await nodes[A].tunnels.get('t', uri)).stream), Buffer.from(data))
    const [a, m, t] = [await scrape(A), await scrape(M), await scrape(T)]
    assert.equal(value(a, 'warren_tunnel_operations_total', { role: 'originator', outcome: 'accepted' }), 1)
    assert.equal(value(m, 'warren_tunnel_operations_total', { role: 'middleman', outcome: 'relayed' }), 1)
    assert.equal(value(t, 'warren_tunnel_operations_total', { role: 'trusted_peer', outcome: 'accepted' }), 1)
    // Nobody else played a part it did not play.
    assert.equal(value(m, 'warren_tunnel_operations_total', { role: 'originator' }), 0)
    assert.equal(value(a, 'warren_tunnel_operations_total', { role: 'trusted_peer' }), 0)
    const received = value(a, 'warren_tunnel_sealed_bytes_total', { role: 'originator', direction: 'received' })
    const served = value(t, 'warren_tunnel_sealed_bytes_total', { role: 'trusted_peer', direction: 'sent' })
    assert.ok(received > data.length, `A received ${received} sealed bytes for a ${data.length}-byte file`)
    assert.equal(received, served, 'every sealed byte T sent reached A')
    const relayed = value(m, 'warren_tunnel_sealed_bytes_total', { role: 'middleman', direction: 'relayed' })
    assert.equal(relayed, served + value(a, 'warren_tunnel_sealed_bytes_total', { role: 'originator', direction: 'sent' }), 'M relayed both directions')
    assert.equal(value(t, 'warren_tunnel_refusals_total'), 0)
  })

  it('counts the exit\'s fetches by outcome: one served, one refused by a rule (a redirect inside)', async () => {
    assert.equal((await collect((await nodes[A].tunnels.fetchUrl('t', `http://127.0.0.1:${port}/page`)).stream)).toString(), PAGE)
    await assert.rejects(nodes[A].tunnels.fetchUrl('t', `http://127.0.0.1:${port}/elsewhere`), TunnelRemoteError)
    const t = await scrape(T)
    assert.equal(value(t, 'warren_exit_fetches_total', { outcome: 'ok' }), 1)
    assert.equal(value(t, 'warren_exit_fetches_total', { outcome: 'refused' }), 1)
    assert.equal(value(t, 'warren_exit_fetches_total', { outcome: 'error' }), 0)
    // A refused fetch is still a tunnel T accepted: the refusal went back sealed.
    assert.equal(value(t, 'warren_tunnel_operations_total', { role: 'trusted_peer', outcome: 'accepted' }), 3)
  })
})

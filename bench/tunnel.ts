/**
 * Bench: 64 MiB fetched through a trusted peer two middlemen away (A -> M1 -> M2 -> T, issue 13
 * "Done when") against the same route without the tunnel, in the same run.
 *
 *   plain:  A gets a file held by T only (put at T with HTL 0, served from its store): every
 *           block is requested A -> M1 -> M2 -> T and comes back through M2 and M1. Source reset
 *           is 1, so A never learns T as a source and every block crosses the whole chain.
 *   tunnel: A gets another such file through T (`tunnels.get`): one sealed tunnel A -> M1 -> M2
 *           -> T, T reads the file (it holds it) and streams it back sealed, chunk by chunk.
 *   Each round fetches a fresh file both ways (nothing cached on the way), the order alternating.
 *   cost = 1 - tunnel MB/s / plain MB/s (negative: the tunnel is faster).
 * Prints JSON. Usage: npm run build && node dist/bench/tunnel.js [--mib 64] [--rounds 2]
 */
import { createHash, randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { serveOwnBlocks } from '../test/helpers/network.js'
import { tunnelChain } from '../test/tunnel/tap.js'

const { values } = parseArgs({ options: { mib: { type: 'string', default: '64' }, rounds: { type: 'string', default: '2' } } })
const bytes = Number(values.mib) * 1024 * 1024
const rounds = Number(values.rounds)
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

// Room for every file with its FEC check blocks (2x), in T's store and client cache.
const room = (4 * rounds + 2) * bytes + 64 * 1024 * 1024
const net = await tunnelChain({ config: { storeBytes: room, clientCacheBytes: room }, core: { sourceResetProb: 1 } })
const [A, , , T] = net.nodes
try {
  const files: Array<{ uri: string, sha: string }> = []
  for (let i = 0; i < 2 * rounds; i++) {
    const data = randomBytes(bytes)
    files.push({ uri: (await T.client.put([data], { htl: 0 })).uri, sha: sha(data) })
    await serveOwnBlocks(T)
  }
  const runs: Array<{ round: number, mode: string, ms: number, mbps: number, cpuS: number }> = []
  const measure = async (round: number, mode: 'plain' | 'tunnel', file: { uri: string, sha: string }): Promise<void> => {
    const cpu = process.cpuUsage()
    const start = performance.now()
    let got: Buffer
    if (mode === 'plain') {
      got = Buffer.from(await A.client.get(file.uri))
    } else {
      const f = await A.tunnels.get('t', file.uri)
      const parts: Uint8Array[] = []
      for await (const p of f.stream) parts.push(p)
      got = Buffer.concat(parts)
    }
    const ms = performance.now() - start
    const used = process.cpuUsage(cpu)
    if (sha(got) !== file.sha) throw new Error(`${mode} get returned other bytes`)
    runs.push({ round, mode, ms: Math.round(ms), mbps: Math.round(bytes / 1e6 / (ms / 1000) * 100) / 100, cpuS: Math.round((used.user + used.system) / 1e4) / 100 })
  }
  for (let r = 0; r < rounds; r++) {
    const order: Array<'plain' | 'tunnel'> = r % 2 === 0 ? ['plain', 'tunnel'] : ['tunnel', 'plain']
    for (const [i, mode] of order.entries()) await measure(r, mode, files[2 * r + i])
  }
  const total = (mode: string): { ms: number, cpuS: number } => runs.filter((x) => x.mode === mode).reduce((s, x) => ({ ms: s.ms + x.ms, cpuS: s.cpuS + x.cpuS }), { ms: 0, cpuS: 0 })
  const plain = total('plain')
  const tunnel = total('tunnel')
  const plainMbps = rounds * bytes / 1e6 / (plain.ms / 1000)
  const tunnelMbps = rounds * bytes / 1e6 / (tunnel.ms / 1000)
  console.log(JSON.stringify({
    mib: Number(values.mib),
    rounds,
    runs,
    plainMBps: Math.round(plainMbps * 100) / 100,
    tunnelMBps: Math.round(tunnelMbps * 100) / 100,
    tunnelCostPercent: Math.round(1000 * (1 - tunnelMbps / plainMbps)) / 10,
    cpuSeconds: { plain: Math.round(plain.cpuS * 10) / 10, tunnel: Math.round(tunnel.cpuS * 10) / 10 }
  }, null, 2))
} finally {
  await net.stop()
}

/**
 * Bench: the frame-size histogram of a mixed workload and the bandwidth cost of frame padding
 * (issue 13, item 4; docs/tunnel.md, "Frame padding"). Runs the mixed workload of the
 * frame-size test (test/helpers/mixed-workload.ts) and a bulk get of `--mib` MiB over a chain
 * A - B - C (the file at C only), each with padding off and on, and counts every frame every
 * node sent on a /warren/* stream (length prefix included; Noise and yamux framing not counted).
 * Prints JSON. Usage: npm run build && node dist/bench/frame-sizes.js [--mib 64]
 */
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { framePadding } from '../src/protocol/padding.js'
import { census, runMixedWorkload } from '../test/helpers/mixed-workload.js'
import { createNetwork, serveOwnBlocks } from '../test/helpers/network.js'
import { Tap } from '../test/tunnel/tap.js'
import type { FrameCensus } from '../test/helpers/mixed-workload.js'

const { values } = parseArgs({ options: { mib: { type: 'string', default: '64' } } })
const bytes = Number(values.mib) * 1024 * 1024

function summary (c: FrameCensus): Record<string, unknown> {
  return { frames: c.frames, bytes: c.bytes, distinctSizes: c.sizes.size, sizes: Object.fromEntries([...c.sizes].sort((a, b) => a[0] - b[0])), protocols: Object.fromEntries(c.protocols) }
}

async function mixed (): Promise<FrameCensus> {
  const w = await runMixedWorkload()
  try {
    return census(w.taps)
  } finally {
    await w.stop()
  }
}

async function bulk (): Promise<FrameCensus> {
  const net = await createNetwork(3, { config: { storeBytes: 4 * bytes + 64 * 1024 * 1024 }, core: { probabilisticHtl: false, sourceResetProb: 1 } })
  try {
    await net.connect(0, 1)
    await net.connect(1, 2)
    const { uri } = await net.nodes[2].client.put([randomBytes(bytes)], { htl: 0 })
    await serveOwnBlocks(net.nodes[2])
    const taps = await Promise.all(net.nodes.map(async (n) => await Tap.on(n)))
    const got = await net.nodes[0].client.get(uri)
    if (got.length !== bytes) throw new Error(`bulk get returned ${got.length} bytes, expected ${bytes}`)
    return census(taps)
  } finally {
    await net.stop()
  }
}

const out: Record<string, unknown> = {}
for (const on of [false, true]) {
  framePadding.enabled = on
  const m = await mixed()
  const b = await bulk()
  out[on ? 'padded' : 'bare'] = { mixed: summary(m), bulk: { mib: Number(values.mib), ...summary(b), sizes: undefined } }
}
const cost = (k: 'mixed' | 'bulk'): number => {
  const bare = (out.bare as any)[k].bytes as number
  const padded = (out.padded as any)[k].bytes as number
  return Math.round(1000 * (padded - bare) / bare) / 10
}
out.costPercent = { mixed: cost('mixed'), bulk: cost('bulk') }
console.log(JSON.stringify(out, null, 2))

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync, existsSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { deserialize } from 'node:v8'
import { fileURLToPath } from 'node:url'
import { describe, it } from 'node:test'
import { capture } from '../../src/sim/capture.js'
import { loadCheckpoint } from '../../src/sim/checkpoint.js'
import { Simulator } from '../../src/sim/network.js'
import { Workload } from '../../src/sim/workload.js'
import { DEFAULT_SCALABILITY, runScalability } from '../../src/sim/scalability.js'
import { seededRng } from '../../src/routing/random.js'
import { getProfile } from '../../src/routing/profiles.js'
import { removeTempDir, tempDir } from '../helpers/temp.js'
import type { ScalabilityParams, ScalabilityResult } from '../../src/sim/scalability.js'

const PARAMS: ScalabilityParams = { ...DEFAULT_SCALABILITY, nodes: 700, trials: 1, seed: 7, probeEvery: 100, probeSize: 10, workload: { probeKeys: 'live' } }

/** What a resumed run must reproduce exactly (elapsed time and memory differ). */
function figures (r: ScalabilityResult): unknown {
  return { series: r.series, fits: r.fits, growth: r.growth, params: r.params }
}

/** Run `PARAMS` to `nodes` nodes with a checkpoint at the end, and hand its directory to `fn`. */
async function withCheckpoint (nodes: number, fn: (ck: string) => Promise<void> | void): Promise<void> {
  const dir = await tempDir('warren-ck-')
  try {
    runScalability({ ...PARAMS, nodes }, undefined, undefined, { every: nodes, dir: join(dir, 'ck') })
    await fn(join(dir, 'ck'))
  } finally {
    await removeTempDir(dir)
  }
}

describe('simulation checkpoints', () => {
  it('a run saved halfway and resumed gives the figures of an uninterrupted run', async () => {
    const dir = await tempDir('warren-ck-')
    try {
      const straight = runScalability(PARAMS)
      const logs: string[] = []
      const half = runScalability({ ...PARAMS, nodes: 350 }, undefined, undefined, { every: 350, dir: join(dir, 'ck'), log: (m) => logs.push(m) })
      assert.equal(half.growth[0].announcements > 0, true)
      assert.match(logs.join('\n'), /checkpoint at 350 nodes/)
      const meta = JSON.parse(readFileSync(join(dir, 'ck', 'meta.json'), 'utf8'))
      assert.equal(meta.liveNodes, 350)
      const resumed = runScalability(PARAMS, undefined, undefined, { resume: join(dir, 'ck'), resumeNodes: PARAMS.nodes, log: (m) => logs.push(m) })
      assert.match(logs.join('\n'), /resumed .* 350 live nodes/)
      assert.deepEqual(figures(resumed), figures(straight))
      // The resumed run is a different network from a fresh run of another seed: the check has teeth.
      assert.notDeepEqual(figures(runScalability({ ...PARAMS, seed: 8 })), figures(straight))
    } finally {
      await removeTempDir(dir)
    }
  })

  it('loaded nodes own their arrays (not views of the checkpoint file)', async () => {
    await withCheckpoint(100, (ck) => {
      const { sim, w } = loadCheckpoint<ScalabilityParams>(ck, (meta) => {
        const s = new Simulator({ ...meta.params.sim, seed: meta.params.seed, core: meta.params.core })
        return { sim: s, w: new Workload(s, meta.params.workload) }
      })
      assert.equal(sim.liveCount, 100)
      // The clock and the workload's counter go on from where they were.
      const state = deserialize(readFileSync(join(ck, 'state.bin'))) as { sim: { time: number }, workload: { timesteps: number } }
      assert.ok(state.sim.time > 0 && state.workload.timesteps > 0)
      assert.equal(sim.time, state.sim.time)
      assert.equal(w.timesteps, state.workload.timesteps)
      const table = sim.core(0).table as unknown as { slots: Float64Array }
      assert.equal(table.slots.buffer.byteLength, table.slots.byteLength)
      assert.ok(w.keys.length > 0)
      assert.ok(w.keys[0].bytes.buffer.byteLength <= 32 * w.keys.length)
    })
  })

  it('refuses a checkpoint of another format', async () => {
    await withCheckpoint(100, (ck) => {
      const path = join(ck, 'meta.json')
      writeFileSync(path, readFileSync(path, 'utf8').replace('"version":1', '"version":99'))
      assert.throws(() => runScalability(PARAMS, undefined, undefined, { resume: ck }), /format 99, this code reads 1/)
    })
  })

  it('the seeded PRNG continues from a saved state', () => {
    const a = seededRng(3)
    for (let i = 0; i < 10; i++) a()
    const b = seededRng(99)
    b.setState(a.state())
    assert.deepEqual(Array.from({ length: 5 }, () => b()), Array.from({ length: 5 }, () => a()))
    assert.throws(() => { b.setState([1, 2, 3]) }, /four 32-bit words/)
  })

  it('captures a run started without checkpoints, through its inspector, and resumes it', async () => {
    const dir = await tempDir('warren-ck-')
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port
        s.close(() => { resolve(p) })
      })
    })
    const main = fileURLToPath(new URL('../../src/sim/main.js', import.meta.url))
    const child = spawn(process.execPath, [`--inspect-port=127.0.0.1:${port}`, main, 'scalability', '--profile', 'network', '--nodes', '1400', '--probe-keys', 'live', '--seed', '11', '--out', join(dir, 'run'), '--quiet'], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const exited = new Promise((resolve) => child.once('exit', resolve))
    try {
      const saved = await capture({ pid: child.pid!, dir: join(dir, 'cap'), port, minNodes: 700, kill: true })
      await exited
      assert.equal(saved.nodes >= 700, true)
      assert.match(stderr, /checkpoint of \d+ nodes/)
      assert.equal(existsSync(join(dir, 'run', 'scalability.json')), false, 'the captured run was ended after the save')
      // The CLI's parameters as saved (v8-serialized: the profile holds Infinity, which JSON loses).
      const { params } = deserialize(readFileSync(join(dir, 'cap', 'state.bin'))) as { params: ScalabilityParams }
      assert.equal(params.sim.profile?.core.insertBacktrackBelowHtl, getProfile('network').core.insertBacktrackBelowHtl)
      const resumed = runScalability(params, undefined, undefined, { resume: join(dir, 'cap') })
      const straight = runScalability(params)
      assert.deepEqual(figures(resumed), figures(straight))
    } finally {
      child.kill('SIGKILL')
      await removeTempDir(dir)
    }
  })
})

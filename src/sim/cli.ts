/**
 * `warren sim <convergence|scalability|fault-tolerance>`: run an experiment of the
 * Freenet paper on the simulator, write `<experiment>.json` and `<experiment>*.svg` to
 * `--out`, and report progress on stderr.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Command} from 'commander';
import { InvalidArgumentError, Option } from 'commander'
import {
  DEFAULT_CONVERGENCE, DEFAULT_FAULTS,
  runConvergence, runFaultTolerance,
  type CommonParams, type ConvergenceResult, type FaultResult
} from './experiments.js'
import { DEFAULT_SCALABILITY, runScalability, type ScalabilityResult } from './scalability.js'
import { anonymityTable, DEFAULT_ANONYMITY, runAnonymity } from './anonymity.js'
import { convergenceChart, faultCharts, scalabilityChart } from './charts.js'
import { renderSvg } from './chart.js'
import { getProfile, PROFILE_NAMES, type ProfileName } from '../routing/profiles.js'
import type { TopLevelSpec } from 'vega-lite'

/**
 * Profile of the sim commands unless `--profile` names another: the one the network runs, so
 * that the headline figures are the network's (docs/simulation.md).
 */
export const DEFAULT_SIM_PROFILE: ProfileName = 'network'

function int (v: string): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer')
  return n
}

function fraction (v: string): number {
  const n = Number(v)
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('expected a number from 0 to 1')
  return n
}

function profileName (v: string): ProfileName {
  if (!(PROFILE_NAMES as string[]).includes(v)) throw new InvalidArgumentError(`expected one of ${PROFILE_NAMES.join(', ')}`)
  return v as ProfileName
}

function json (v: string): Record<string, unknown> {
  try {
    const o = JSON.parse(v)
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error('not an object')
    return o
  } catch {
    throw new InvalidArgumentError('expected a JSON object')
  }
}

interface CommonOpts {
  seed: number
  trials?: number
  out: string
  core: Record<string, unknown>
  announce: Record<string, unknown>
  profile: ProfileName
  improved?: boolean
  probesLearn?: boolean
  probeKeys?: 'inserted' | 'live'
  storeWeight?: number
  storeKeep?: number
  quiet?: boolean
}

/** The profile a command runs: `--improved` is `--profile improved` (commander refuses both at once). */
function chosenProfile (o: CommonOpts): ProfileName {
  return o.improved === true ? 'improved' : o.profile
}

function common (o: CommonOpts, base: CommonParams): CommonParams {
  return {
    seed: o.seed,
    trials: o.trials ?? base.trials,
    core: o.core,
    sim: {
      profile: getProfile(chosenProfile(o)),
      ...(o.storeWeight === undefined ? {} : { storeAccessWeight: o.storeWeight }),
      ...(o.storeKeep === undefined ? {} : { storeKeep: o.storeKeep }),
      announce: o.announce
    },
    workload: {
      ...(o.probesLearn === true ? { probesLearn: true } : {}),
      ...(o.probeKeys !== undefined ? { probeKeys: o.probeKeys } : {})
    }
  }
}

/** Progress on stderr: one rewritten line on a terminal, a line every few seconds otherwise. */
function progressReporter (quiet: boolean | undefined): (message: string, fraction: number) => void {
  let last = 0
  const started = performance.now()
  return (message, fraction) => {
    if (quiet === true) return
    const now = performance.now()
    if (now - last < (process.stderr.isTTY ? 200 : 5000)) return
    last = now
    const line = `[${(100 * fraction).toFixed(1).padStart(5)} %] ${((now - started) / 1000).toFixed(0)} s  ${message}`
    process.stderr.write(process.stderr.isTTY ? `\r${line.padEnd(100)}` : `${line}\n`)
  }
}

async function writeOutputs (out: string, name: string, result: object, charts: Record<string, TopLevelSpec>): Promise<void> {
  await mkdir(out, { recursive: true })
  await writeFile(join(out, `${name}.json`), JSON.stringify(result, null, 2) + '\n')
  for (const [file, spec] of Object.entries(charts)) await writeFile(join(out, file), await renderSvg(spec))
  if (process.stderr.isTTY) process.stderr.write('\n')
  process.stderr.write(`wrote ${join(out, `${name}.json`)} and ${Object.keys(charts).map((f) => join(out, f)).join(', ')}\n`)
}

/** Writes a growth run's result so far (synchronously: the simulation holds the thread) and logs its size, time and memory. */
function snapshotWriter (out: string): (r: ScalabilityResult, nodes: number) => void {
  mkdirSync(out, { recursive: true })
  return (r, nodes) => {
    writeFileSync(join(out, 'scalability-partial.json'), JSON.stringify(r, null, 2) + '\n')
    const last = r.series[r.series.length - 1]
    appendFileSync(join(out, 'scalability-snapshots.log'), `${new Date().toISOString()} nodes ${nodes} elapsed ${(r.elapsedMs / 1000).toFixed(0)} s heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB peak rss ${(r.peakRssBytes / 2 ** 20).toFixed(0)} MiB median ${last?.median}\n`)
  }
}

function addCommon (cmd: Command, defaults: { trials: number, nodes: number }): Command {
  return cmd
    .option('--nodes <n>', 'network size', int, defaults.nodes)
    .option('--seed <n>', 'PRNG seed (trial i uses seed + i)', int, 1)
    .option('--trials <n>', 'independent trials', int, defaults.trials)
    .option('--out <dir>', 'output directory', 'sim-results')
    .option('--core <json>', 'routing core options, e.g. \'{"sourceResetProb":0}\'', json, {})
    .option('--announce <json>', 'announcement core options, e.g. \'{"shareWalk":"newcomer"}\'', json, {})
    .option('--profile <name>', `routing profile every node runs (src/routing/profiles.ts): ${PROFILE_NAMES.join(', ')}; --core, --announce and --store-keep override single options`, profileName, DEFAULT_SIM_PROFILE)
    .addOption(new Option('--improved', 'alias of --profile improved').conflicts('profile'))
    .option('--probes-learn', 'let probe requests change the network (default: measure a snapshot)')
    .option('--probe-keys <which>', 'probe keys: inserted (any key ever inserted) or live (still stored somewhere)')
    .option('--store-weight <n>', 'store policy access weight per doubling of accesses (0: plain LRU)', int)
    .option('--store-keep <fraction>', 'share of each store kept for the keys nearest the node\'s location (default: the profile\'s; 0: plain LRU)', fraction)
    .option('--quiet', 'no progress on stderr')
}

/** Register `sim` and its experiment subcommands on the main CLI. */
export function registerSimCommand (program: Command): void {
  const sim = program.command('sim').description('simulate a warren network with the real routing core (Freenet paper experiments)')

  addCommon(sim.command('convergence').description('1000-node ring lattice trained by random inserts and requests; path length quartiles over time'), { trials: DEFAULT_CONVERGENCE.trials, nodes: DEFAULT_CONVERGENCE.nodes })
    .option('--timesteps <n>', 'operations (one insert or request each)', int, DEFAULT_CONVERGENCE.timesteps)
    .option('--probe-every <n>', 'timesteps between probes', int, DEFAULT_CONVERGENCE.probeEvery)
    .option('--probe-size <n>', 'requests per probe (HTL 500)', int, DEFAULT_CONVERGENCE.probeSize)
    .action(async (o: CommonOpts & { nodes: number, timesteps: number, probeEvery: number, probeSize: number }) => {
      const r: ConvergenceResult = runConvergence({
        ...DEFAULT_CONVERGENCE,
        ...common(o, DEFAULT_CONVERGENCE),
        nodes: o.nodes,
        timesteps: o.timesteps,
        probeEvery: o.probeEvery,
        probeSize: o.probeSize
      }, progressReporter(o.quiet))
      await writeOutputs(o.out, 'convergence', r, { 'convergence.svg': convergenceChart(r) })
      const last = r.series[r.series.length - 1]
      console.log(`final quartiles ${last.q1.toFixed(1)} / ${last.median.toFixed(1)} / ${last.q3.toFixed(1)} (paper 3.2 / 6.5 / 46.5), success ${(100 * last.success).toFixed(1)} %, ${(r.elapsedMs / 1000).toFixed(1)} s`)
    })

  addCommon(sim.command('scalability').description('grow from 20 nodes, one announced newcomer every 5 operations; path length against size'), { trials: DEFAULT_SCALABILITY.trials, nodes: DEFAULT_SCALABILITY.nodes })
    .option('--probe-every <n>', 'operations between probes', int, DEFAULT_SCALABILITY.probeEvery)
    .option('--probe-size <n>', 'requests per probe (HTL 500)', int, DEFAULT_SCALABILITY.probeSize)
    .option('--join-every <n>', 'operations between newcomers', int, DEFAULT_SCALABILITY.joinEvery)
    .option('--announce-htl <n>', 'announcement hops-to-live (default: the profile\'s, 10)', int)
    .option('--rejoin-every <n>', 'every this many operations a random node routes a join toward its own location again (default: the profile\'s; 0: never)', int)
    .option('--snapshot-every <n>', 'also write scalability-partial.json each time the network has grown by this many nodes (long runs)', int)
    .option('--checkpoint-every <n>', 'save the whole run to <out>/checkpoint each time the network has grown by this many nodes (continue it with --resume)', int)
    .option('--resume <dir>', 'continue the run saved in this checkpoint directory, with its own parameters (--nodes, if given, raises its target; other options but --out, --snapshot-every, --checkpoint-every and --quiet are ignored)')
    .action(async (o: CommonOpts & { nodes: number, probeEvery: number, probeSize: number, joinEvery: number, announceHtl?: number, rejoinEvery?: number, snapshotEvery?: number, checkpointEvery?: number, resume?: string }, cmd: Command) => {
      const log = (m: string): void => { if (o.quiet !== true) console.error(m) }
      const r: ScalabilityResult = runScalability({
        ...DEFAULT_SCALABILITY,
        ...common(o, DEFAULT_SCALABILITY),
        nodes: o.nodes,
        probeEvery: o.probeEvery,
        probeSize: o.probeSize,
        joinEvery: o.joinEvery,
        rejoinEvery: o.rejoinEvery,
        announceHtl: o.announceHtl ?? getProfile(chosenProfile(o)).announceHtl
      }, progressReporter(o.quiet), o.snapshotEvery === undefined ? undefined : { every: o.snapshotEvery, write: snapshotWriter(o.out) },
      { every: o.checkpointEvery, dir: join(o.out, 'checkpoint'), resume: o.resume, resumeNodes: cmd.getOptionValueSource('nodes') === 'cli' ? o.nodes : undefined, log })
      await writeOutputs(o.out, 'scalability', r, { 'scalability.svg': scalabilityChart(r) })
      const f = r.fits
      console.log(`median ~ ${f.power.a.toFixed(2)} N^${f.power.b.toFixed(3)} (paper N^0.28), projected at 1M: ${f.projectedAt1M.power.toFixed(1)} (power) / ${f.projectedAt1M.log.toFixed(1)} (log), ${(r.elapsedMs / 1000).toFixed(1)} s`)
    })

  addCommon(sim.command('fault-tolerance').description('remove random or best-connected nodes from a grown network; path length, success, largest component'), { trials: DEFAULT_FAULTS.trials, nodes: DEFAULT_FAULTS.nodes })
    .option('--probe-size <n>', 'requests per measurement (HTL 500)', int, DEFAULT_FAULTS.probeSize)
    .option('--train <n>', 'extra training operations after growth', int, DEFAULT_FAULTS.trainOps)
    .option('--rejoin-every <n>', 'during growth, every this many operations a random node routes a join toward its own location again (default: the profile\'s; 0: never)', int)
    .action(async (o: CommonOpts & { nodes: number, probeSize: number, train: number, rejoinEvery?: number }) => {
      const r: FaultResult = runFaultTolerance({
        ...DEFAULT_FAULTS,
        ...common(o, DEFAULT_FAULTS),
        nodes: o.nodes,
        probeSize: o.probeSize,
        trainOps: o.train,
        rejoinEvery: o.rejoinEvery,
        announceHtl: getProfile(chosenProfile(o)).announceHtl
      }, progressReporter(o.quiet))
      await writeOutputs(o.out, 'fault-tolerance', r, faultCharts(r))
      const at30 = r.random.find((p) => Math.abs(p.fraction - 0.3) < 1e-9)
      if (at30 !== undefined) console.log(`30 % random failures: median ${at30.median.toFixed(1)} (paper < 20), success ${(100 * at30.success).toFixed(1)} % (live keys ${(100 * at30.successLive).toFixed(1)} %)`)
    })

  addCommon(sim.command('anonymity').description('an adversary running a fraction of the nodes: how often it is certain of, or guesses, who originated requests and inserts (docs/anonymity.md)'), { trials: DEFAULT_ANONYMITY.trials, nodes: DEFAULT_ANONYMITY.nodes })
    .option('--train <n>', 'training operations before the adversary watches', int, DEFAULT_ANONYMITY.train)
    .option('--ops <n>', 'operations from random nodes while it watches', int, DEFAULT_ANONYMITY.ops)
    .option('--targets <n>', 'nodes the surrounding placement targets', int, DEFAULT_ANONYMITY.targets)
    .option('--target-ops <n>', 'operations each target originates', int, DEFAULT_ANONYMITY.targetOps)
    .option('--tunnels <n>', 'requests through a trusted peer', int, DEFAULT_ANONYMITY.tunnels)
    .option('--fractions <list>', 'adversary shares of the nodes, comma-separated', (v) => v.split(',').map(fraction), DEFAULT_ANONYMITY.fractions)
    .action(async (o: CommonOpts & { nodes: number, train: number, ops: number, targets: number, targetOps: number, tunnels: number, fractions: number[] }) => {
      const base = common(o, { ...DEFAULT_ANONYMITY, workload: {} })
      const r = runAnonymity({ ...DEFAULT_ANONYMITY, seed: base.seed, trials: base.trials, core: base.core, sim: base.sim, nodes: o.nodes, train: o.train, ops: o.ops, targets: o.targets, targetOps: o.targetOps, tunnels: o.tunnels, fractions: o.fractions }, progressReporter(o.quiet))
      await writeOutputs(o.out, 'anonymity', r, {})
      console.log(anonymityTable(r))
      console.log(`relay-sendable HTL: ${r.relayHtl.join(', ')}; success: requests ${(100 * r.success.request).toFixed(1)} %, inserts ${(100 * r.success.insert).toFixed(1)} %, tunnels ${(100 * r.success.tunnel).toFixed(1)} %; ${(r.elapsedMs / 1000).toFixed(1)} s`)
    })

  sim.command('capture').description('save a checkpoint of a scalability run already running without --checkpoint-every (through its inspector; continue with scalability --resume)')
    .requiredOption('--pid <n>', 'process ID of the running simulation', int)
    .requiredOption('--out <dir>', 'checkpoint directory to write')
    .option('--min-nodes <n>', 'wait until the run has this many live nodes', int)
    .option('--port <n>', 'inspector port the process opens on SIGUSR1', int, 9229)
    .option('--kill', 'end the process after a good save')
    .action(async (o: { pid: number, out: string, minNodes?: number, port: number, kill?: boolean }) => {
      const { capture } = await import('./capture.js')
      const r = await capture({ pid: o.pid, dir: o.out, port: o.port, minNodes: o.minNodes, kill: o.kill, log: (m) => { console.error(m) } })
      console.log(`checkpoint of ${r.nodes} nodes in ${o.out}`)
    })
}

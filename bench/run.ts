/**
 * Runs the benchmarks: `npm run bench [-- --quick] [--only fec,chain] [--list]`.
 *
 * Each bench (bench/NAME.ts) runs in its own process, one after the other (a bench's timing
 * should not share the CPU with another's), with the arguments of the table below: the full
 * sizes by default, small ones with --quick (all together in well under a minute; .ci/run runs
 * them so that a bench cannot silently break). Prints one JSON object: per bench its command,
 * seconds, and its own JSON result (or its error). Exits non-zero if any bench failed, or if a
 * bench file has no entry in the table (a new bench must be added here to be run).
 */
import { execFile } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

interface BenchSpec {
  /** The script (bench/FILE.ts) when it is not the entry's name: one script may run in several forms. */
  file?: string
  /** Node flags, before the script. */
  node?: string[]
  full: string[]
  quick: string[]
  /** What it measures, for --list. */
  about: string
}

const BENCHES: Record<string, BenchSpec> = {
  fec: { about: 'FEC codec and split-file pipeline speed', full: ['--mib', '64'], quick: ['--mib', '1', '--segment', '16'] },
  chain: { about: 'put/get through a chain of nodes vs a raw libp2p stream, all nodes in one process', full: ['--mib', '64', '--hops', '3'], quick: ['--mib', '1', '--hops', '2'] },
  'chain-procs': { file: 'chain', about: 'the chain bench with each node in its own process', full: ['--mib', '64', '--hops', '3', '--procs'], quick: ['--mib', '1', '--hops', '2', '--procs'] },
  latency: { about: '1 KiB put/get latency: warren vs @libp2p/kad-dht, fresh node first fetch, RSS per node', full: ['--nodes', '50', '--ops', '100'], quick: ['--nodes', '6', '--ops', '3', '--warmup', '2', '--extra', '2', '--idle-s', '1'] },
  'noise-crypto': { about: 'one Noise message sealed and opened: @libp2p/noise\'s own ciphers vs a warren node\'s', full: ['--messages', '4000', '--rounds', '3'], quick: ['--messages', '100', '--rounds', '1'] },
  store: { about: 'block store puts/s: group-committed batches vs a batch per put', full: ['--blocks', '4000', '--concurrency', '32', '--rounds', '3'], quick: ['--blocks', '200', '--concurrency', '8', '--rounds', '1'] },
  'transfer-memory': { about: 'peak RSS of the nodes doing a large put and get', full: ['--mib', '256', '--nodes', '10'], quick: ['--mib', '1', '--nodes', '4'] },
  'sim-bench': { about: 'simulator speed and memory per node', node: ['--expose-gc'], full: ['1000', '10000', '100000'], quick: ['50'] },
  'sim-growth-memory': { about: 'live memory per simulated node of a network grown as in the scalability experiment', node: ['--expose-gc'], full: ['5000', '10000', '20000'], quick: ['200', '400'] },
  'sim-compare': { about: 'convergence quartiles of a core profile', full: ['{}', '1', '10', '5000'], quick: ['{}', '1', '1', '100'] },
  'sim-diag': { about: 'why convergence probes fail', full: ['1', '5000'], quick: ['1', '100'] },
  'sim-faults': { about: 'fault tolerance at one removal fraction', full: ['{}', '{}', '1', '10', '0', '0.3', '1000'], quick: ['{}', '{}', '1', '1', '0', '0.3', '20'] },
  churn: { about: 'churn: nodes in their own processes, 30 % SIGKILLed, retrievability, deadlines, memory', full: ['--nodes', '40', '--ops', '80', '--small', '20', '--multi', '4', '--htl', '10'], quick: ['--nodes', '4', '--ops', '4', '--small', '2', '--multi', '1', '--multi-kib', '64', '--htl', '4'] },
  'crash-load': { about: 'SIGKILL of a node under concurrent local and peer load: verify, reopen, acknowledged puts', full: ['--rounds', '20'], quick: ['--rounds', '1', '--peers', '1', '--concurrency', '4', '--multi-kib', '64', '--min-kill-ms', '1000', '--max-kill-ms', '3000'] },
  tunnel: { about: 'a file fetched through a trusted peer two middlemen away vs the same route without the tunnel', full: ['--mib', '64', '--rounds', '2'], quick: ['--mib', '1', '--rounds', '1'] },
  'frame-sizes': { about: 'wire frame sizes of a mixed workload and the bandwidth cost of padding', full: ['--mib', '64'], quick: ['--mib', '1'] },
  'anonymity-messages': { about: 'messages per operation under the node\'s HTL rules (simulator)', full: ['300', '1'], quick: ['40', '1'] },
  'sim-minimal': { about: 'an independent minimal model of the 2001 convergence experiment (Fig. 2)', full: ['10', '5000'], quick: ['1', '300', '{"nodes":200}'] }
}

interface BenchResult {
  name: string
  command: string
  seconds: number
  ok: boolean
  /** The bench's own output: its JSON (or the JSON lines it printed), else its text. */
  result?: unknown
  error?: string
}

const here = dirname(fileURLToPath(import.meta.url))

/** The benches present in this folder (compiled), without this runner. */
function benchFiles (): string[] {
  return readdirSync(here).filter((f) => f.endsWith('.js') && f !== basename(fileURLToPath(import.meta.url))).map((f) => f.slice(0, -3)).sort()
}

function parseOutput (stdout: string): unknown {
  try {
    return JSON.parse(stdout)
  } catch {}
  const lines = stdout.split('\n').filter((l) => l.trim() !== '')
  const json = lines.flatMap((l) => { try { return [JSON.parse(l) as unknown] } catch { return [] } })
  if (json.length === 0) return stdout
  return json.length === 1 ? json[0] : json
}

async function runOne (name: string, spec: BenchSpec, quick: boolean, timeoutMs: number): Promise<BenchResult> {
  const args = [...(spec.node ?? []), join(here, `${spec.file ?? name}.js`), ...(quick ? spec.quick : spec.full)]
  const command = `node ${args.map((a) => a.startsWith('/') ? `dist/bench/${basename(a)}` : a).join(' ')}`
  const start = performance.now()
  return await new Promise((resolve) => {
    execFile(process.execPath, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const seconds = Math.round((performance.now() - start) / 100) / 10
      if (err !== null) {
        const why = err.killed ? `killed after ${timeoutMs / 1000} s` : err.message.split('\n')[0]
        resolve({ name, command, seconds, ok: false, error: `${why}\n${stderr.slice(-2000)}` })
      } else {
        resolve({ name, command, seconds, ok: true, result: parseOutput(stdout) })
      }
    })
  })
}

async function main (): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, only: { type: 'string', default: '' }, list: { type: 'boolean', default: false } }
  })
  const files = benchFiles()
  const fileOf = (name: string): string => BENCHES[name].file ?? name
  const missing = files.filter((f) => !Object.keys(BENCHES).some((b) => fileOf(b) === f))
  const gone = Object.keys(BENCHES).filter((b) => !files.includes(fileOf(b)))
  const present = Object.keys(BENCHES).filter((b) => files.includes(fileOf(b)))
  if (values.list) {
    for (const b of present) console.log(`${b.padEnd(16)} ${BENCHES[b].about}`)
    for (const f of missing) console.log(`${f.padEnd(16)} (not in bench/run.ts: add it)`)
    return
  }
  const only = values.only === '' ? [] : values.only.split(',')
  const unknown = only.filter((b) => !present.includes(b))
  if (unknown.length > 0) throw new Error(`unknown bench ${unknown.join(', ')}; run with --list to see them`)
  const names = only.length > 0 ? only : present

  const started = performance.now()
  const results: BenchResult[] = []
  for (const name of names) {
    const r = await runOne(name, BENCHES[name], values.quick, values.quick ? 60_000 : 3_600_000)
    process.stderr.write(`${r.ok ? 'ok  ' : 'FAIL'} ${name} (${r.seconds} s)\n`)
    results.push(r)
  }
  const problems = [
    ...results.filter((r) => !r.ok).map((r) => `${r.name} failed`),
    ...missing.map((b) => `bench/${b}.ts is not in bench/run.ts's table`),
    ...gone.map((b) => `bench/run.ts lists ${b}, which does not exist`)
  ]
  console.log(JSON.stringify({
    quick: values.quick,
    node: process.version,
    seconds: Math.round((performance.now() - started) / 100) / 10,
    ok: problems.length === 0,
    problems,
    benches: results
  }, null, 2))
  if (problems.length > 0) process.exitCode = 1
}

await main()

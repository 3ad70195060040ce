/**
 * The crash-under-load figures of docs/reliability.md (issue 11, item 4):
 *
 *   npm run build && node dist/bench/crash-load.js [--rounds 20] [--peers 5] [--seed 11]
 *
 * A warren node serving local puts and gets and its peers' inserts and gets is killed with
 * SIGKILL at a random moment, `warren verify` runs, the node restarts, and every acknowledged
 * put must be held and readable (test/helpers/crash-load.ts). Prints one JSON report; exits 1 on
 * any problem. test/integration/crash-load.slow.ts runs a smaller configuration.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { runCrashLoad } from '../test/helpers/crash-load.js'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '20' },
    peers: { type: 'string', default: '5' },
    seed: { type: 'string', default: '11' },
    concurrency: { type: 'string', default: '8' },
    'multi-kib': { type: 'string', default: '256' },
    'min-kill-ms': { type: 'string', default: '3000' },
    'max-kill-ms': { type: 'string', default: '12000' }
  }
})
const root = await mkdtemp(join(tmpdir(), 'warren-crash-load-'))
try {
  const report = await runCrashLoad({
    root,
    seed: Number(values.seed),
    rounds: Number(values.rounds),
    peers: Number(values.peers),
    concurrency: Number(values.concurrency),
    minKillMs: Number(values['min-kill-ms']),
    maxKillMs: Number(values['max-kill-ms']),
    smallBytes: 2000,
    multiBytes: Number(values['multi-kib']) * 1024,
    log: (line) => { console.error(`${new Date().toISOString()} ${line}`) }
  })
  console.log(JSON.stringify(report, null, 2))
  process.exitCode = report.problems.length > 0 ? 1 : 0
} finally {
  await rm(root, { recursive: true, force: true, maxRetries: 3 })
}

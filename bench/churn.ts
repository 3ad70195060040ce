/**
 * The churn figures of docs/reliability.md (issue 11, item 3):
 *
 *   npm run build && node dist/bench/churn.js [--nodes 40] [--seed 11] [--ops 80] [--small 20] [--multi 4] [--multi-kib 128] [--htl N]
 *
 * Real warren nodes, each in its own process, a mixed workload while 30 % of them are killed
 * with SIGKILL and half of those restarted (test/helpers/churn.ts says what is checked). Prints
 * one JSON report (exit 0 whatever it says: test/integration/churn.slow.ts, a smaller
 * configuration, is the one that asserts).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { runChurn } from '../test/helpers/churn.js'

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '40' },
    seed: { type: 'string', default: '11' },
    ops: { type: 'string', default: '80' },
    small: { type: 'string', default: '20' },
    multi: { type: 'string', default: '4' },
    'multi-kib': { type: 'string', default: '128' },
    concurrency: { type: 'string', default: '6' },
    htl: { type: 'string' }
  }
})
const root = await mkdtemp(join(tmpdir(), 'warren-churn-'))
try {
  const report = await runChurn({
    root,
    seed: Number(values.seed),
    nodes: Number(values.nodes),
    degree: 4,
    smallFiles: Number(values.small),
    multiFiles: Number(values.multi),
    smallBytes: 2000,
    multiBytes: Number(values['multi-kib']) * 1024,
    churnOps: Number(values.ops),
    killFraction: 0.3,
    restartFraction: 0.5,
    getDeadlineMs: 20_000,
    putDeadlineMs: 120_000,
    htl: values.htl === undefined ? undefined : Number(values.htl),
    graceMs: 10_000,
    attempts: 3,
    concurrency: Number(values.concurrency),
    log: (line) => { console.error(`${new Date().toISOString()} ${line}`) }
  })
  console.log(JSON.stringify(report, null, 2))
  // Figures, not a verdict: files that could not be fetched are in the report (the slow test asserts).
  process.exitCode = 0
} finally {
  await rm(root, { recursive: true, force: true, maxRetries: 3 })
}

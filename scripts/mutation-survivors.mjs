#!/usr/bin/env node
/**
 * List the mutants of a Stryker JSON report that were not killed, one line each:
 * `file:line:column status mutator: replacement`. Usage:
 *   node scripts/mutation-survivors.mjs reports/mutation/<area>.json
 */
import { readFileSync } from 'node:fs'

const path = process.argv[2]
if (path === undefined) {
  console.error('usage: node scripts/mutation-survivors.mjs reports/mutation/<area>.json')
  process.exit(2)
}
const report = JSON.parse(readFileSync(path, 'utf8'))
for (const [file, { mutants }] of Object.entries(report.files)) {
  for (const m of mutants) {
    if (m.status === 'Killed' || m.status === 'Timeout') continue
    const { line, column } = m.location.start
    const replacement = (m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 100)
    console.log(`${file}:${line}:${column} ${m.status} ${m.mutatorName}: ${replacement}`)
  }
}

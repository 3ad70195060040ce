#!/usr/bin/env node
/**
 * Print the mutation score table of docs/testing.md from the JSON reports in reports/mutation/:
 * one row per mutated file and one per area. Usage: node scripts/mutation-table.mjs [commit]
 * (the commit defaults to HEAD's short hash; the date is each report's modification day).
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

const dir = 'reports/mutation'
const commit = process.argv[2] ?? execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()

function counts (mutants) {
  const c = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0 }
  for (const m of mutants) c[m.status] = (c[m.status] ?? 0) + 1
  const killed = c.Killed + c.Timeout
  const total = killed + c.Survived + c.NoCoverage
  return { total, killed, survived: c.Survived, noCoverage: c.NoCoverage, score: total === 0 ? 100 : (100 * killed) / total }
}

console.log('| Module | Mutants | Killed | Survived | Not covered | Score | Date | Commit |')
console.log('| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |')
for (const name of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
  const path = join(dir, name)
  const report = JSON.parse(readFileSync(path, 'utf8'))
  const date = statSync(path).mtime.toISOString().slice(0, 10)
  const row = (label, c) => `| ${label} | ${c.total} | ${c.killed} | ${c.survived} | ${c.noCoverage} | ${c.score.toFixed(1)} % | ${date} | ${commit} |`
  const all = []
  for (const [file, { mutants }] of Object.entries(report.files).sort()) {
    all.push(...mutants)
    console.log(row(file, counts(mutants)))
  }
  console.log(row(`**${name.replace(/\.json$/, '')} (area)**`, counts(all)))
}

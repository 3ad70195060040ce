#!/usr/bin/env node
/**
 * `npm run test:mutation [area...]`: runs StrykerJS over each named area (default: all four),
 * one after the other, and prints each area's score. Areas: routing, keys, gateway, store.
 * Reports: reports/mutation/<area>.html (and .json). Exits non-zero if an area scores below
 * its break threshold (80 %, issue 18) or Stryker fails.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { areas } from '../stryker.config.mjs'

const BREAK_BELOW = 80
const wanted = process.argv.slice(2)
const names = wanted.length > 0 ? wanted : Object.keys(areas)
for (const name of names) {
  if (areas[name] === undefined) {
    console.error(`Unknown mutation area "${name}"; choose from ${Object.keys(areas).join(', ')}`)
    process.exit(2)
  }
}

let failed = false
const summary = []
for (const name of names) {
  console.log(`\n=== mutation testing: ${name} ===`)
  const run = spawnSync('stryker', ['run', 'stryker.config.mjs'], {
    stdio: 'inherit',
    env: { ...process.env, WARREN_MUTATION_AREA: name }
  })
  if (run.status !== 0) {
    console.error(`Stryker failed on area "${name}" (exit ${run.status}); see the output above`)
    failed = true
    continue
  }
  const report = JSON.parse(readFileSync(`reports/mutation/${name}.json`, 'utf8'))
  const counts = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0 }
  for (const file of Object.values(report.files)) {
    for (const m of file.mutants) counts[m.status] = (counts[m.status] ?? 0) + 1
  }
  const detected = counts.Killed + counts.Timeout
  const valid = detected + counts.Survived + counts.NoCoverage
  const score = valid === 0 ? 100 : (100 * detected) / valid
  summary.push(`${name}: ${valid} mutants, ${detected} killed (${counts.Timeout} by timeout), ${counts.Survived} survived, ${counts.NoCoverage} not covered, score ${score.toFixed(1)} %`)
  if (score < BREAK_BELOW) {
    console.error(`Area "${name}" scores ${score.toFixed(1)} %, below ${BREAK_BELOW} %`)
    failed = true
  }
}
console.log('\n' + summary.join('\n'))
process.exit(failed ? 1 : 0)

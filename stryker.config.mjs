/**
 * StrykerJS configuration for warren's mutation testing (issue 18). One configuration, four
 * areas; the area comes from WARREN_MUTATION_AREA (scripts/mutation.mjs sets it). Each area
 * mutates its own sources and runs only its own unit test files (no multi-node integration
 * tests: they are slow and their coverage would not add kills worth the minutes).
 *
 * Facts that shape this file (see /work/shared/notes/testing.md and docs/testing.md):
 * - TypeScript 7 has no JavaScript API, so Stryker's tsconfig rewrite must be skipped:
 *   `tsconfigFile` names a file that does not exist.
 * - The sandbox builds with plain `tsc`; the generated proto code is copied with src/.
 * - With `perTest` coverage each node:test file counts as one test, so only the files that
 *   reach a mutant run for it.
 */
import { existsSync } from 'node:fs'

/** The compiled test file of each source test file that exists. */
function existing (...sources) {
  return sources.filter((s) => existsSync(s)).map((s) => 'dist/' + s.replace(/\.ts$/, '.js'))
}

export const areas = {
  routing: {
    mutate: [
      'src/routing/node-core.ts',
      'src/routing/core-ops.ts',
      'src/routing/core-peers.ts',
      'src/routing/routing-table.ts',
      'src/routing/failure-table.ts',
      'src/routing/seen-cache.ts'
    ],
    testFiles: [
      'dist/test/routing/compact-state.test.js',
      'dist/test/routing/convergence-switches.test.js',
      'dist/test/routing/core-edges.test.js',
      'dist/test/routing/deadlines.test.js',
      'dist/test/routing/failure-table.test.js',
      'dist/test/routing/htl.test.js',
      'dist/test/routing/inserts.test.js',
      'dist/test/routing/kept-htl.test.js',
      'dist/test/routing/neighbours.test.js',
      'dist/test/routing/not-found-retry.test.js',
      'dist/test/routing/profiles.test.js',
      'dist/test/routing/requests.test.js',
      'dist/test/routing/routing-table.test.js',
      'dist/test/routing/seen-cache.test.js',
      'dist/test/routing/success.test.js',
      'dist/test/routing/verified-routes.test.js'
    ]
  },
  keys: {
    mutate: ['src/keys/*.ts'],
    testFiles: [
      'dist/test/keys/block-verify.test.js',
      'dist/test/keys/chk.test.js',
      'dist/test/keys/ksk.test.js',
      'dist/test/keys/ssk-uri.test.js',
      'dist/test/keys/ssk.test.js',
      'dist/test/keys/uri.test.js',
      'dist/test/keys/routing-key.test.js',
      'dist/test/keys/key-edges.test.js',
      // Known-answer vectors (issue 18, owned by another branch): used once they exist.
      ...existing('test/keys/vectors.test.ts')
    ]
  },
  gateway: {
    mutate: ['src/gateway/security.ts'],
    testFiles: [
      'dist/test/gateway/security.test.js',
      'dist/test/gateway/security-filter.test.js',
      'dist/test/gateway/security-headers.test.js'
    ]
  },
  store: {
    mutate: [
      'src/store/store-policy.ts',
      'src/store/memory-store.ts',
      'src/store/block-store.ts',
      'src/store/level-store.ts',
      'src/store/verify.ts'
    ],
    testFiles: [
      'dist/test/store/block-store.test.js',
      'dist/test/store/store-policy.test.js',
      'dist/test/store/verify.test.js',
      'dist/test/store/store-edges.test.js'
    ]
  }
}

const name = process.env.WARREN_MUTATION_AREA ?? 'gateway'
const area = areas[name]
if (area === undefined) {
  throw new Error(`Unknown mutation area "${name}": set WARREN_MUTATION_AREA to one of ${Object.keys(areas).join(', ')}`)
}

export default {
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner'],
  tap: { testFiles: area.testFiles },
  mutate: area.mutate,
  coverageAnalysis: 'perTest',
  buildCommand: 'tsc -p tsconfig.json',
  tsconfigFile: 'stryker-no-tsconfig.json',
  concurrency: Number(process.env.WARREN_MUTATION_CONCURRENCY ?? 2),
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  // Sandboxes rebuild dist/ themselves; other runs' sandboxes and reports are not copied.
  ignorePatterns: ['/dist', '/dist-*', '/.stryker-tmp', '/reports'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  thresholds: { high: 90, low: 80, break: null },
  timeoutMS: 10000
}

/**
 * The one owner of the suite's temporary folders. Every test that needs a folder takes it
 * from `tempDir()`; whatever a test did not remove itself is removed in this module's root
 * `after` hook (registered on import, so it runs when the test file finishes), and, should a
 * process end without running it (an uncaught error, or a bench), synchronously at exit.
 * `npm test`'s global teardown (suite.ts) then fails the run if anything is left over.
 */
import { rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after } from 'node:test'

const live = new Set<string>()

/** A new empty folder under the OS temp folder, removed at the latest when the test file ends. */
export async function tempDir (prefix = 'warren-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  live.add(dir)
  return dir
}

/** Remove a folder from `tempDir()` now (recursively; a folder already gone is fine). */
export async function removeTempDir (dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 })
  live.delete(dir)
}

/** Remove every folder this process still holds. */
export async function removeTempDirs (): Promise<void> {
  await Promise.all([...live].map(removeTempDir))
}

// Benches reuse the network helpers outside the test runner: a root hook there would make
// node:test print an empty test summary, so the hook is registered in test files only.
const inTestFile = process.env.NODE_TEST_CONTEXT !== undefined || /\.test\.[cm]?js$/.test(process.argv[1] ?? '')
if (inTestFile) after(removeTempDirs)
process.on('exit', () => {
  for (const dir of live) rmSync(dir, { recursive: true, force: true })
})

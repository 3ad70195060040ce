/**
 * Global setup and teardown of `npm test` (node --test-global-setup): proof that the suite
 * leaves nothing behind.
 *
 * Setup gives the whole run a private temp folder: TMPDIR points at a new folder, and every
 * test process, node, CLI process and browser the suite starts inherits it (os.tmpdir() reads
 * TMPDIR). Teardown, after every test file has finished:
 *  - lists what is left in that folder (test/helpers/temp.ts should have removed all of it),
 *  - lists processes still running with that TMPDIR in their environment (Linux /proc) — a
 *    node, CLI child or Chromium that outlived its test — and ends them by process id,
 * then removes the folder, and fails the run if either list was not empty.
 *
 * Why this and not a before/after `ls $TMPDIR` in .ci/run: the OS temp folder is shared (other
 * programs write there while the suite runs, so a diff is noisy), a private folder makes every
 * entry attributable, the environment marks the suite's processes exactly, and the check runs
 * on every `npm test`, not only in CI.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

let root: string | undefined

export async function globalSetup (): Promise<void> {
  root = await mkdtemp(join(tmpdir(), 'warren-suite-'))
  process.env.TMPDIR = root
}

/** Processes other than this one whose environment has TMPDIR=root (none on non-Linux). */
async function processesOf (dir: string): Promise<Array<{ pid: number, command: string }>> {
  const marker = `\0TMPDIR=${dir}\0`
  let pids: string[]
  try {
    pids = (await readdir('/proc')).filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
  } catch {
    return []
  }
  const found: Array<{ pid: number, command: string }> = []
  for (const pid of pids) {
    try {
      const env = `\0${await readFile(`/proc/${pid}/environ`, 'latin1')}`
      if (!env.includes(marker)) continue
      const command = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ').trim().slice(0, 200)
      found.push({ pid: Number(pid), command })
    } catch {} // gone meanwhile, or not ours to read
  }
  return found
}

export async function globalTeardown (): Promise<void> {
  if (root === undefined) return
  const problems: string[] = []
  for (const p of await processesOf(root)) {
    problems.push(`process ${p.pid} outlived the suite: ${p.command}`)
    try { process.kill(p.pid, 'SIGKILL') } catch {}
  }
  for (const entry of await readdir(root)) problems.push(`left in the temp folder: ${entry}`)
  await rm(root, { recursive: true, force: true, maxRetries: 3 })
  if (problems.length > 0) {
    process.stderr.write(`\nThe suite left things behind (test/helpers/suite.ts):\n${problems.map((p) => `  - ${p}`).join('\n')}\n` +
      'Take temp folders from test/helpers/temp.ts and stop every node, process and browser in an after hook.\n')
    process.exitCode = 1
  }
}

/**
 * The `warren verify` command on a stopped node's data directory: it reads the store, deletes
 * a block corrupted on disk (same length, one bit flipped), says so and exits 1; the good
 * blocks stay. (test/store/verify.test.ts checks the verifier itself, case by case.)
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { after, it } from 'node:test'
import { removeDir } from './helpers.js'
import { chkBlock, dataDirWith, flip, sskBlock, storedBlocks } from './verify-fixtures.js'

const CLI = fileURLToPath(new URL('../../src/cli/index.js', import.meta.url))

/** Run the CLI; a non-zero exit is a result here, not an error. */
async function runCli (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args])
    return { code: 0, stdout, stderr }
  } catch (err: any) {
    if (typeof err.code !== 'number') throw err
    return { code: err.code, stdout: err.stdout, stderr: err.stderr }
  }
}

let dir: string | undefined
after(async () => { if (dir !== undefined) await removeDir(dir) })

it('warren verify deletes a block corrupted on disk, reports it and exits 1', async () => {
  const good = [chkBlock('chk', 'alpha'), sskBlock('ssk', 'beta')]
  const bad = chkBlock('corrupted', 'gamma')
  dir = await dataDirWith([...good, bad], new Map([[bad.key.hex, flip(bad.bytes, 1000)]]))
  const r = await runCli(['verify', '-d', dir])
  assert.equal(r.stdout.trim(), 'checked 3 blocks, deleted 1 that failed verification', r.stderr)
  assert.equal(r.code, 1)
  // The store's own report goes through the one logger, on stderr (stdout is the answer).
  assert.match(r.stderr, /store: verify deleted 1 of 3 blocks that failed their check/)
  assert.deepEqual([...(await storedBlocks(dir)).keys()].sort(), good.map((b) => b.key.hex).sort())
})

it('warren verify honours --log-level: silent leaves only the answer', async () => {
  const block = chkBlock('chk', 'delta')
  const quiet = await dataDirWith([block], new Map())
  try {
    const r = await runCli(['verify', '-d', quiet, '--log-level', 'silent'])
    assert.equal(r.stdout.trim(), 'checked 1 blocks, deleted 0 that failed verification')
    assert.equal(r.stderr, '')
    assert.equal(r.code, 0)
  } finally {
    await removeDir(quiet)
  }
})

/**
 * Crash safety under load (issue 11, item 4): a warren node taking local puts and gets while its
 * peers insert through it and fetch from it is killed with SIGKILL at a random moment, four
 * times; after each kill `warren verify` finds no bad block, the store opens with nothing to
 * repair, and every put acknowledged before (local, and the peers' inserts) is held and readable
 * (test/helpers/crash-load.ts). test/store/crash.test.ts covers a bare BlockStore writer; the
 * bigger configuration and its figures: bench/crash-load.ts, docs/reliability.md.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { runCrashLoad } from '../helpers/crash-load.js'
import { TEST_SEED } from '../helpers/seed.js'
import { tempDir } from '../helpers/temp.js'

describe('crash safety under load', () => {
  it('survives SIGKILLs during concurrent puts, gets and peer inserts', { timeout: 15 * 60_000 }, async (t) => {
    const report = await runCrashLoad({
      root: await tempDir('warren-crash-load-'),
      seed: TEST_SEED,
      rounds: 4,
      peers: 3,
      concurrency: 6,
      minKillMs: 3000,
      maxKillMs: 12_000,
      smallBytes: 2000,
      multiBytes: 128 * 1024,
      log: (line) => { t.diagnostic(line) }
    })
    t.diagnostic(JSON.stringify({ ...report, rounds: undefined }))
    assert.deepEqual(report.problems, [])
    assert.equal(report.kills, 4)
    assert.equal(report.badBlocks, 0)
    assert.equal(report.repairs, 0)
    // The load was real: acknowledged puts of both kinds to check, and blocks on disk to verify.
    assert.ok(report.localPutsAcknowledged >= 2, `${report.localPutsAcknowledged} local puts acknowledged`)
    assert.ok(report.peerPutsAcknowledged >= 2, `${report.peerPutsAcknowledged} peer inserts acknowledged`)
    assert.ok(report.rounds.at(-1)!.verify.checked > 0, 'no block stored to verify')
  })
})

/**
 * `warren verify` reads every stored block and checks it with the real key-type verifiers
 * (CHK: size and hash; SSK: binding and signature), deleting the ones that fail (issue 18).
 * The corruptions keep each block's length, so only reading and verifying the bytes can find
 * them: a verify that reported "no bad blocks" without reading would fail here.
 * test/store/verify-cli.test.ts runs the same check through the `warren verify` command.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { blockMatchesKey, verifyStore } from '../../src/store/verify.js'
import { removeDir } from './helpers.js'
import { CAPACITY, chkBlock, dataDirWith, flip, sskBlock, storedBlocks } from './verify-fixtures.js'

describe('warren verify', () => {
  const dirs: string[] = []
  after(async () => { for (const d of dirs) await removeDir(d) })

  const good = [chkBlock('chk a', 'alpha'), chkBlock('chk b', 'beta'), sskBlock('ssk c', 'gamma')]
  const bad = [chkBlock('chk with a flipped ciphertext bit', 'delta'), sskBlock('ssk with a flipped data bit', 'epsilon'), chkBlock('chk of another key', 'zeta')]
  const corrupt = new Map([
    [bad[0].key.hex, flip(bad[0].bytes, 2000)],
    [bad[1].key.hex, flip(bad[1].bytes, 500)],
    // A genuine CHK block of the same size, stored under the wrong key.
    [bad[2].key.hex, chkBlock('eta', 'eta').bytes]
  ])

  it('the verifier accepts each genuine block and rejects each corruption', () => {
    for (const b of [...good, ...bad]) assert.equal(blockMatchesKey(b.key.hex, b.bytes), true, b.name)
    for (const [hex, bytes] of corrupt) assert.equal(blockMatchesKey(hex, bytes), false, hex)
    assert.equal(blockMatchesKey(good[0].key.hex, good[2].bytes), false, 'an SSK block under a CHK key')
    assert.equal(blockMatchesKey(good[0].key.hex, Uint8Array.of(0xff, 0xff)), false, 'bytes that are no block')
    assert.equal(blockMatchesKey('not hex', good[0].bytes), false, 'a name that is no key')
  })

  it('verifyStore reads every block, deletes exactly the corrupted ones and keeps the rest intact', async () => {
    const dir = await dataDirWith([...good, ...bad], corrupt)
    dirs.push(dir)
    assert.deepEqual(await verifyStore(dir, CAPACITY), { checked: 6, deleted: 3 })
    const left = await storedBlocks(dir)
    assert.deepEqual([...left.keys()].sort(), good.map((b) => b.key.hex).sort())
    for (const b of good) assert.ok(Buffer.from(left.get(b.key.hex)!).equals(b.bytes), b.name)
    assert.deepEqual(await verifyStore(dir, CAPACITY), { checked: 3, deleted: 0 })
  })

  it('verifyStore checks the client cache too (the node\'s own gets and puts)', async () => {
    const dir = await dataDirWith(good.slice(0, 2), new Map())
    dirs.push(dir)
    await dataDirWith([good[2], bad[0]], new Map([[bad[0].key.hex, corrupt.get(bad[0].key.hex)!]]), 'client-cache', dir)
    assert.deepEqual(await verifyStore(dir, CAPACITY), { checked: 4, deleted: 1 })
    assert.deepEqual([...(await storedBlocks(dir, 'client-cache')).keys()], [good[2].key.hex])
    assert.equal((await storedBlocks(dir)).size, 2, 'the store untouched')
  })
})

/**
 * Issue 11 (low findings): after the disk filled up, LevelDB's error stuck until a restart,
 * and remote inserts got an ERROR frame carrying the local store path. A node whose data dir
 * is a real 24 MiB tmpfs (partly filled by a ballast file) takes a raw peer's inserts until
 * the disk is full: the peer is told only that the block could not be stored here; once the
 * ballast is removed, the node stores again without a restart and still serves what it held.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Error as WireError, FrameType } from '../../proto/warren.js'
import { defaultConfig } from '../../src/config.js'
import { RoutingKey } from '../../src/keys/routing-key.js'
import { createWarrenNode } from '../../src/node.js'
import { chkBlock, rawInsert } from '../helpers/attacks.js'
import { createRawPeer } from '../helpers/raw-peer.js'
import { randomBytes } from '../helpers/seed.js'
import { removeTempDir, tempDir } from '../helpers/temp.js'
import type { InsertOutcome } from '../helpers/attacks.js'
import type { RawPeer } from '../helpers/raw-peer.js'
import type { WarrenNode } from '../../src/node.js'

describe('a full disk', () => {
  let dir: string
  let node: WarrenNode
  let evil: RawPeer
  let mounted = false

  before(async () => {
    dir = await tempDir('warren-full-')
    // A real file system that fills up: tmpfs needs root (this suite's machine runs tests as root).
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', dir])
    mounted = true
    // The ballast leaves ~10 MiB, less than the store's memtable (STORE_WRITE_BUFFER_BYTES,
    // 16 MiB): LevelDB's log write fails before any flush, which is the failure LevelDB repeats
    // until the database is reopened. Removing the ballast frees more than the log to replay.
    await writeFile(join(dir, 'ballast'), new Uint8Array(14 * 1024 * 1024))
    node = await createWarrenNode({ ...defaultConfig(dir), listen: ['/ip4/127.0.0.1/tcp/0'], storeBytes: 64 * 1024 * 1024 }, { localTestnet: true, arkPublish: false, announce: false })
    await node.start()
    evil = await createRawPeer()
    await evil.start()
  })

  after(async () => {
    await evil?.stop()
    await node?.stop().catch(() => {})
    if (mounted) execFileSync('umount', [dir])
    await removeTempDir(dir)
  })

  it('answers a generic error while full, then stores again once space is freed, without a restart', async () => {
    const target = node.libp2p.getMultiaddrs()[0]
    const first = chkBlock(randomBytes(32 * 1024 - 64))
    assert.deepEqual(await rawInsert(evil, target, 1n, first), { stored: true })
    let refused: InsertOutcome | undefined
    for (let i = 2; i < 600 && refused === undefined; i++) {
      const o = await rawInsert(evil, target, BigInt(i), chkBlock(randomBytes(32 * 1024 - 64)))
      if (!o.stored) refused = o
    }
    assert.ok(refused !== undefined && !refused.stored, 'the disk filled up')
    assert.equal(refused.frame, FrameType.ERROR)
    assert.equal(refused.code, WireError.Code.INTERNAL)
    const msg = refused.message ?? ''
    assert.match(msg, /could not be stored at this node/)
    assert.ok(!msg.includes(dir) && !/IO error|space|\.ldb|\.log|\//.test(msg), `the peer learnt local details: ${msg}`)
    // Still full: refused again.
    assert.equal((await rawInsert(evil, target, 10_000n)).stored, false)
    await rm(join(dir, 'ballast'))
    assert.deepEqual(await rawInsert(evil, target, 10_001n), { stored: true }, 'stores again after space was freed')
    assert.deepEqual(await rawInsert(evil, target, 10_002n), { stored: true })
    const got = await node.service.request(new RoutingKey(first.key), { htl: 0 })
    assert.ok(Buffer.from(got.block.data).equals(Buffer.from(first.block.data)), 'a block stored before the disk filled is still served')
  })
})

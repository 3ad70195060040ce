/**
 * Fixtures of the `warren verify` tests: real CHK and SSK blocks as the node stores them
 * (encoded `Block` frames), a data directory whose store holds them, and corruptions written
 * straight into LevelDB that keep each block's length.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { Key } from 'interface-datastore'
import { Block, KeyType } from '../../proto/warren.js'
import { ChkType, encodeChk } from '../../src/keys/chk.js'
import { encodeSsk, generateCryptoKey, generateSskKeyPair, SskType } from '../../src/keys/ssk.js'
import { BlockStore } from '../../src/store/block-store.js'
import { recordingLogger, tempDir, withRawDatastore } from './helpers.js'
import type { RoutingKey } from '../../src/keys/routing-key.js'

export const CAPACITY = 64 * 1024 * 1024

export interface Stored { name: string, key: RoutingKey, bytes: Uint8Array }

export function chkBlock (name: string, text: string): Stored {
  const c = encodeChk(ChkType.DATA, new TextEncoder().encode(text))
  const block: Block = { type: KeyType.CHK, data: c.block, pubkey: new Uint8Array(), signature: new Uint8Array(), headers: new Uint8Array() }
  return { name, key: c.routingKey, bytes: Block.encode(block) }
}

export function sskBlock (name: string, doc: string): Stored {
  const { privateKey } = generateSskKeyPair()
  const s = encodeSsk({ privateKey, cryptoKey: generateCryptoKey(), name: doc }, SskType.REDIRECT, new TextEncoder().encode('warren:CHK@x'))
  return { name, key: s.routingKey, bytes: Block.encode(s.block) }
}

/** `bytes` with one bit flipped at `at` (the length stays the same). */
export function flip (bytes: Uint8Array, at: number): Uint8Array {
  const out = Uint8Array.from(bytes)
  out[at] ^= 0x10
  return out
}

/** A new data directory whose store holds `blocks`, with `corrupt` (hex -> bytes) then written over some of them on disk. */
export async function dataDirWith (blocks: Stored[], corrupt: Map<string, Uint8Array>, sub = 'store', dir?: string): Promise<string> {
  dir ??= await tempDir()
  const store = await BlockStore.open(join(dir, sub), { capacityBytes: CAPACITY, logger: recordingLogger() })
  for (const b of blocks) assert.equal((await store.put(b.key, b.bytes)).stored, true)
  await store.close()
  await withRawDatastore(join(dir, sub), async (ds) => {
    for (const [hex, bytes] of corrupt) {
      assert.equal(bytes.length, blocks.find((b) => b.key.hex === hex)?.bytes.length, 'a corruption keeps the length')
      await ds.put(new Key('/b/' + hex), bytes)
    }
  })
  return dir
}

/** The blocks LevelDB holds in a data directory's store (or `sub`, e.g. client-cache), by hex key. */
export async function storedBlocks (dir: string, sub = 'store'): Promise<Map<string, Uint8Array>> {
  return await withRawDatastore(join(dir, sub), async (ds) => {
    const out = new Map<string, Uint8Array>()
    for await (const { key, value } of ds.query({ prefix: '/b/' })) out.set(key.toString().slice(3), value)
    return out
  })
}

/**
 * Offline store verification (`warren verify`): re-check every stored block against its
 * routing key with the key-type verifier, deleting the ones that fail.
 */
import { join } from 'node:path'
import { Block } from '../../proto/warren.js'
import { verifyBlock } from '../keys/block-verify.js'
import { RoutingKey } from '../keys/routing-key.js'
import { BlockStore } from './block-store.js'
import type { StoreLogger } from './block-store.js'

export function blockMatchesKey (hex: string, bytes: Uint8Array): boolean {
  try {
    return verifyBlock(RoutingKey.fromHex(hex), Block.decode(bytes))
  } catch {
    return false
  }
}

export async function verifyStore (dataDir: string, capacityBytes: number, logger?: StoreLogger): Promise<{ checked: number, deleted: number }> {
  const store = await BlockStore.open(join(dataDir, 'store'), { capacityBytes, logger })
  try {
    return await store.verify(blockMatchesKey)
  } finally {
    await store.close()
  }
}

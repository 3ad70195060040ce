/**
 * Offline store verification (`warren verify`): re-check every stored block (store and client
 * cache) against its routing key with the key-type verifier, deleting the ones that fail.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Block } from '../../proto/warren.js'
import { verifyBlock } from '../keys/block-verify.js'
import { RoutingKey } from '../keys/routing-key.js'
import { BlockStore } from './block-store.js'
import type { StoreLogger } from './layout.js'

export function blockMatchesKey (hex: string, bytes: Uint8Array): boolean {
  try {
    return verifyBlock(RoutingKey.fromHex(hex), Block.decode(bytes))
  } catch {
    return false
  }
}

/**
 * Both of a node's block stores: the store peers are served from and, if the node has one, its
 * client cache (the node's own gets and puts, `client-cache/`). Counts are summed.
 */
export async function verifyStore (dataDir: string, capacityBytes: number, logger?: StoreLogger, clientCacheBytes = capacityBytes): Promise<{ checked: number, deleted: number }> {
  const total = { checked: 0, deleted: 0 }
  const dirs: Array<[string, number]> = [[join(dataDir, 'store'), capacityBytes]]
  if (existsSync(join(dataDir, 'client-cache'))) dirs.push([join(dataDir, 'client-cache'), clientCacheBytes])
  for (const [dir, capacity] of dirs) {
    const store = await BlockStore.open(dir, { capacityBytes: capacity, logger })
    try {
      const r = await store.verify(blockMatchesKey)
      total.checked += r.checked
      total.deleted += r.deleted
    } finally {
      await store.close()
    }
  }
  return total
}

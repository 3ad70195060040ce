/**
 * Verification of a block against the routing key it travels under, for any key type. Nodes
 * run this on every block before storing or forwarding it, so that a bad block dies at the
 * first honest hop.
 */
import { KeyType } from '../../proto/warren.js'
import { verifyChkBlock } from './chk.js'
import { checkSskBlock } from './ssk.js'
import type { Block } from '../../proto/warren.js'
import type { RoutingKey } from './routing-key.js'

export type BlockCheck = { ok: true } | { ok: false, reason: string }

/** Check a block, with a reason on failure (for logs and Error frames). */
export function checkBlock (key: RoutingKey, block: Block): BlockCheck {
  switch (block.type) {
    case KeyType.CHK:
      if (block.pubkey.length > 0 || block.signature.length > 0 || block.headers.length > 0) {
        return { ok: false, reason: 'a CHK block carries no pubkey, signature or headers' }
      }
      return verifyChkBlock(key, block.data)
        ? { ok: true }
        : { ok: false, reason: `CHK block does not match key ${key.hex} (wrong size or hash)` }
    case KeyType.SSK:
      return checkSskBlock(key, block)
    default:
      return { ok: false, reason: `unsupported key type ${String(block.type)}` }
  }
}

/** Whether a block is valid under `key`. */
export function verifyBlock (key: RoutingKey, block: Block): boolean {
  return checkBlock(key, block).ok
}

/**
 * An in-memory block network for client tests: insert and fetch by routing key, with
 * blocks that can be deleted to simulate loss, and counters of fetches.
 */
import { NotFoundError } from '../../src/protocol/errors.js'
import type { RoutingKey } from '../../src/keys/routing-key.js'
import type { SplitBlock } from '../../src/client/split.js'

export class MemoryNetwork {
  readonly blocks = new Map<string, Uint8Array>()
  fetches = 0

  async insertAll<R> (gen: AsyncGenerator<SplitBlock, R, undefined>): Promise<R> {
    for (;;) {
      const n = await gen.next()
      if (n.done === true) return n.value
      this.blocks.set(n.value.routingKey.hex, n.value.block)
    }
  }

  readonly fetch = async (key: RoutingKey): Promise<Uint8Array> => {
    this.fetches++
    const b = this.blocks.get(key.hex)
    if (b === undefined) throw new NotFoundError(`block ${key.hex.slice(0, 8)} not found`, 0)
    return b
  }
}

export async function collect (gen: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const p of gen) parts.push(p)
  return Buffer.concat(parts)
}

/** Deterministic pseudo-random bytes (fast, no crypto needed for test content). */
export function testBytes (n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n)
  let x = seed >>> 0 || 1
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    out[i] = x & 255
  }
  return out
}

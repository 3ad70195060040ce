/** A node for API tests: the real clients over an in-memory block network, no libp2p. */
import { WarrenClient } from '../../src/client/client.js'
import { KeyClient } from '../../src/client/key-client.js'
import type { ApiNode } from '../../src/api/server.js'
import type { MemoryBlockNetwork } from '../client/memory-network.js'

export function memoryNode (net: MemoryBlockNetwork): ApiNode {
  const keys = new KeyClient({ network: net }, { htl: 5 })
  return {
    peerId: '12D3KooWMemory',
    config: { apiAllowRemote: false },
    client: new WarrenClient({ network: net, resolve: keys.resolveToChk }, { htl: 5 }),
    keys,
    libp2p: { getConnections: () => [], dial: async () => { throw new Error('the memory node has no libp2p to dial with') } },
    status: () => ({ counters: { local: { inserts: { success: 0, collision: 0, failure: 0 } } } })
  }
}

/**
 * A bare libp2p peer with no warren code (TCP, Noise, yamux, identify only) on 127.0.0.1:
 * the hostile party in tests, speaking the warren protocols by hand.
 */
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import type { Identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'

export type RawPeer = Libp2p<{ identify: Identify }>

/** `listen: false`: a peer nobody can dial (it only dials out), so that no node it is named to can reach it. */
export async function createRawPeer (options: { listen?: boolean } = {}): Promise<RawPeer> {
  return await createLibp2p({
    addresses: { listen: options.listen === false ? [] : ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { allow: ['/ip4/127.0.0.1/ipcidr/8'] },
    connectionMonitor: { enabled: false },
    services: { identify: identify() }
  })
}

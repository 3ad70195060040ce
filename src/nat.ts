/**
 * The NAT machinery of a node (docs/deploy.md, "Behind NAT"): what it runs, and the defaults:
 * on in production, off in local test networks.
 */
import type { WarrenConfig } from './config.js'

export interface NatOptions {
  /**
   * Find out whether this node is reachable (@libp2p/autonat), and if not, keep reservations on
   * relays (@libp2p/circuit-relay-v2 transport, listening on /p2p-circuit) and upgrade relayed
   * connections to direct ones by hole punching (@libp2p/dcutr).
   */
  traversal?: boolean
  /** DCUtR hole punching over relayed connections (default: as `traversal`). */
  holePunching?: boolean
  /**
   * Keep reservations on relays, listening on /p2p-circuit (default: with `traversal`, unless the
   * node announces addresses of its own: a node that knows its public address needs no relay).
   * Without it the node can still dial through relays.
   */
  reserve?: boolean
  /** Relay connections for nodes behind NAT (circuit relay v2 hop, libp2p's default limits). */
  relayServer?: boolean
  /** Ask the LAN's router for a port mapping by UPnP IGD (@libp2p/upnp-nat; multicasts on the LAN). */
  upnp?: boolean
}

/** The NAT machinery a node runs: on in production, off in local test networks, UPnP as config `upnp` says; `options.nat` overrides. */
export function natSettings (config: Pick<WarrenConfig, 'upnp'>, options: { localTestnet?: boolean, nat?: NatOptions }): NatOptions & { traversal: boolean, relayServer: boolean, upnp: boolean } {
  const production = options.localTestnet !== true
  const nat = options.nat ?? {}
  return { ...nat, traversal: nat.traversal ?? production, relayServer: nat.relayServer ?? production, upnp: nat.upnp ?? config.upnp }
}

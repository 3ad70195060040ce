/**
 * Which peers a node dials to keep its neighbours. libp2p 3.x has no auto-dialer (no
 * minConnections), so a node keeps its own set alive: a pure policy here, run by the upkeep
 * loop (src/protocol/upkeep.ts) and testable without a network.
 */

/** A configured bootstrap peer: its address, and its peer ID when the address names one. */
export interface BootstrapPeer<A> {
  addr: A
  peer?: string
}

export interface NeighbourView<A> {
  /** Peers connected now. */
  connected: ReadonlySet<string>
  /** The configured bootstrap peers. */
  bootstrap: ReadonlyArray<BootstrapPeer<A>>
  /** Peers the routing table knows, in table order. */
  known: Iterable<string>
  /** Connections to keep at least. */
  min: number
}

export interface Dials<A> {
  /** The node has fewer than `min` connections (then it also looks lost peers up by their ARKs). */
  short: boolean
  /** Bootstrap addresses to dial. */
  bootstrap: A[]
  /** Known peers to dial by peer ID (their addresses come from the peer store). */
  peers: string[]
}

/**
 * The dials that bring a node with too few connections back toward `min`: every bootstrap peer
 * it is not connected to (the operator named them; an address without a peer ID cannot be
 * told apart and is dialled too), and up to `min` routing-table peers it is not connected to
 * and does not already dial as a bootstrap peer. A node with `min` connections dials nobody.
 */
export function neighboursToDial<A> (view: NeighbourView<A>): Dials<A> {
  const { connected, min } = view
  if (connected.size >= min) return { short: false, bootstrap: [], peers: [] }
  const bootstrap = view.bootstrap.filter((b) => b.peer === undefined || !connected.has(b.peer))
  const dialled = new Set(bootstrap.map((b) => b.peer))
  const peers: string[] = []
  for (const p of view.known) {
    if (peers.length >= min) break
    if (!connected.has(p) && !dialled.has(p)) peers.push(p)
  }
  return { short: true, bootstrap: bootstrap.map((b) => b.addr), peers }
}

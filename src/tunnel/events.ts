/**
 * What the tunnel layer reports for metrics (issue 14, item 4): a plain callback interface,
 * so src/tunnel stays free of prom-client; the node wires NodeMetrics.tunnelObserver() in.
 * Every callback is optional and must not throw.
 */

/** This node's part in a tunnel: it opened it, relayed it, or is the trusted peer serving it. */
export type TunnelRole = 'originator' | 'middleman' | 'trusted_peer'

/** Why a trusted peer refused a sealed request (the peer only ever sees one generic ERROR). */
export type TunnelRefusal = 'unknown_key' | 'crypto' | 'replay'

/** How a proxy download ended: a rule said no (URL, address, limits, redirects), or it ran out of time or size, or it failed. */
export type ExitOutcome = 'ok' | 'refused' | 'timeout' | 'too_large' | 'error'

export interface TunnelObserver {
  /** A tunnel operation at this node ended its routing phase with `outcome` (accepted, relayed, no_route, rejected, refused, error...). */
  operation?: (role: TunnelRole, outcome: string) => void
  /** Sealed chunk bytes this node sent or received as an end, or relayed as a middleman. */
  sealedBytes?: (role: TunnelRole, direction: 'sent' | 'received' | 'relayed', bytes: number) => void
  /** A sealed request refused at the trusted peer. */
  refused?: (reason: TunnelRefusal) => void
  /** A proxy download ended. */
  exitFetch?: (outcome: ExitOutcome) => void
}

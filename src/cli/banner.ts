/**
 * What `warren start` says once the node runs, for someone who has never run one: where to open
 * the gateway, and, on a node with no bootstrap peers (the first of a network), the exact `-b`
 * line that joins other nodes to it.
 */
import { multiaddr } from '@multiformats/multiaddr'

/** The address other machines are likeliest to reach: a LAN or public IPv4, else IPv6, else loopback. */
export function shareableAddress (addresses: string[]): string | undefined {
  const rank = (a: string): number => {
    const ip = multiaddr(a).getComponents().find((c) => c.name === 'ip4' || c.name === 'ip6')
    const v = ip?.value ?? ''
    if (ip === undefined) return 9
    if (ip.name === 'ip4') return v.startsWith('127.') ? 5 : v.startsWith('169.254.') ? 4 : 0
    return v === '::1' ? 6 : v.toLowerCase().startsWith('fe80') ? 4 : 1
  }
  return [...addresses].sort((a, b) => rank(a) - rank(b))[0]
}

export function banner (apiUrl: string, addresses: string[], bootstrapPeers: number): string[] {
  const lines = [`gateway ${apiUrl}/ (open it in a browser: fetch, upload, publish sites, see peers)`]
  if (bootstrapPeers > 0) return lines
  const share = shareableAddress(addresses)
  lines.push('', 'No bootstrap peers: this node is the first of its network (warren has no public network yet).')
  if (share !== undefined) {
    lines.push('To join another node to it, start that one with:', '', `  warren start -b ${share}`, '')
    lines.push('(pick an address from the "listening" lines that the other machine can reach; to join this node to an')
    lines.push(' existing network instead, restart it with -b <that network\'s multiaddr> or list it under "bootstrap" in config.json)')
  }
  return lines
}

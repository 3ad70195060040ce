/**
 * What an exit (a trusted peer doing proxy downloads, issue 13 item 3) may fetch: pure rules,
 * the I/O is ./exit.ts. The protections users expect of Tor-like exits (notes/tunnel.md):
 * http and https only, ports 80 and 443 only, no credentials in the URL, and destinations that
 * are public unicast addresses only - no loopback, private, link-local, CGNAT, unique-local,
 * IPv4-mapped, multicast, reserved or unspecified ones, and none of the exit's own. The address
 * rule is applied to IP literals before anything happens, to every DNS answer, and to the
 * address a socket actually connected to (the decision that counts: a name can resolve to
 * anything, and IP literals in URLs skip DNS).
 *
 * `TestAllowance` lets a test reach its own servers on loopback: exact (address, port) pairs
 * that only take effect under node's test runner (./exit.ts), never from configuration.
 */
import ipaddr from 'ipaddr.js'

export const ALLOWED_PROTOCOLS = ['http:', 'https:'] as const
export const ALLOWED_PORTS = [80, 443] as const

/** The exit refused a URL or a destination; the message says why (without the URL: nothing logs URLs). */
import type { ExitOutcome } from './events.js'

export class ExitRefused extends Error {
  /** For metrics: a rule said no (the default), or the fetch ran out of time or size, or failed. */
  constructor (message: string, readonly outcome: Exclude<ExitOutcome, 'ok'> = 'refused') {
    super(message)
    this.name = 'ExitRefused'
  }
}

/** Exact (address, port) pairs a test may reach despite the rules. */
export type TestAllowance = ReadonlyArray<{ address: string, port: number }>

export interface ExitPolicy {
  /** The exit's own addresses (its interfaces): never a destination. */
  own: ReadonlySet<string>
  allow: TestAllowance
}

/** The address in its canonical text form (IPv6 compressed, lower case); undefined if not an IP. */
export function canonicalIp (address: string): string | undefined {
  const a = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address
  if (!ipaddr.isValid(a)) return undefined
  // Strict forms only: ipaddr.isValid also takes "0x7f.1" and other legacy IPv4 spellings,
  // which the WHATWG URL parser has already normalised in a hostname anyway.
  if (!ipaddr.IPv6.isValid(a) && !ipaddr.IPv4.isValidFourPartDecimal(a)) return undefined
  return ipaddr.parse(a).toString()
}

function allowed (address: string, port: number, policy: ExitPolicy): boolean {
  const a = canonicalIp(address)
  return a !== undefined && policy.allow.some((p) => canonicalIp(p.address) === a && p.port === port)
}

/** Refuse unless `address` is a public unicast address that is not the exit's own. */
export function checkAddress (address: string, port: number, policy: ExitPolicy): void {
  if (allowed(address, port, policy)) return
  const a = canonicalIp(address)
  if (a === undefined) throw new ExitRefused('the destination is not an IP address')
  const range = ipaddr.parse(a).range()
  if (range !== 'unicast') throw new ExitRefused(`the destination address is not public (${range}): an exit fetches from the public internet only`)
  if (policy.own.has(a)) throw new ExitRefused('the destination is the exit itself')
}

/** The port a URL names (its scheme's default when it names none). */
export function portOf (u: URL): number {
  return u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port)
}

/**
 * Check a URL before anything is resolved or connected: scheme, credentials, an IP-literal
 * host against the address rule, the port. Returns the parsed URL.
 */
export function checkUrl (text: string, policy: ExitPolicy): URL {
  let u: URL
  try {
    u = new URL(text)
  } catch {
    throw new ExitRefused('not a valid URL')
  }
  if (!(ALLOWED_PROTOCOLS as readonly string[]).includes(u.protocol)) throw new ExitRefused(`only http and https URLs can be fetched, not ${u.protocol}`)
  if (u.username !== '' || u.password !== '') throw new ExitRefused('URLs with credentials are not fetched')
  const port = portOf(u)
  const literal = canonicalIp(u.hostname)
  if (literal !== undefined) checkAddress(literal, port, policy)
  if (!(ALLOWED_PORTS as readonly number[]).includes(port) && !(literal !== undefined && allowed(literal, port, policy))) {
    throw new ExitRefused(`only ports ${ALLOWED_PORTS.join(' and ')} are fetched, not ${port}`)
  }
  return u
}

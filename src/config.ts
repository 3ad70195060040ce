/**
 * Node configuration: embedded defaults (src/constants.ts), overridden by the data dir's
 * config.json, then by WARREN_* environment variables, then by command-line flags.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import {
  DEFAULT_API_HOST, DEFAULT_API_PORT, DEFAULT_DATA_DIR, DEFAULT_HTL, DEFAULT_LISTEN, DEFAULT_STORE_BYTES, DEFAULT_CLIENT_CACHE_BYTES
} from './constants.js'
import { multiaddr } from '@multiformats/multiaddr'
import { HTL_RANGE, parseInteger, ParamError } from './util/params.js'
import { TRUSTED_NAME } from './tunnel/constants.js'
import { readTextIfExists, writeFileAtomic } from './util/files.js'

export const CONFIG_FILE = 'config.json'

export interface WarrenConfig {
  /** Where identity.key, config.json and the block store live. */
  dataDir: string
  /** libp2p listen multiaddrs. */
  listen: string[]
  /** Multiaddrs (with /p2p/<id>) of nodes to join through. */
  bootstrap: string[]
  /** Store capacity in bytes. */
  storeBytes: number
  /** Client cache capacity in bytes: what this node's own gets fetched and its puts inserted (never served to peers). */
  clientCacheBytes: number
  /** Client API (HTTP+JSON) address. */
  apiHost: string
  apiPort: number
  /** Allow the API to bind a non-loopback address (it has no authentication). */
  apiAllowRemote: boolean
  /** Default hops-to-live of this node's own inserts and requests. */
  htl: number
  /** Accept loopback/private addresses learnt from peers (LANs, test networks on one host). */
  allowPrivateAddrs: boolean
  /**
   * Multiaddrs this node tells other nodes to reach it at (its peer references and its ARK),
   * e.g. a public address behind port forwarding. Empty: its listen addresses, public ones only
   * unless allowPrivateAddrs (a node never advertises loopback or LAN addresses by default).
   */
  announce: string[]
  logLevel: string
  /**
   * Proxy downloads (an exit) for requesters that reach this node through a sealed tunnel
   * (docs/tunnel.md): off unless the operator turns it on; the exit's protections always apply.
   */
  exit: boolean
  /**
   * Ask the LAN's router for a port mapping by UPnP IGD (@libp2p/upnp-nat): off by default, as it
   * multicasts on the LAN; for a node behind a home router (docs/deploy.md, "Behind NAT").
   */
  upnp: boolean
  /**
   * The gateway fetches what it shows through this trusted peer (a name of `warren trust list`):
   * its neighbours see sealed tunnel traffic, never the keys (docs/tunnel.md). Empty: directly.
   */
  gatewayVia: string
}

export function defaultConfig (dataDir = DEFAULT_DATA_DIR): WarrenConfig {
  return {
    dataDir,
    listen: [...DEFAULT_LISTEN],
    bootstrap: [],
    storeBytes: DEFAULT_STORE_BYTES,
    clientCacheBytes: DEFAULT_CLIENT_CACHE_BYTES,
    apiHost: DEFAULT_API_HOST,
    apiPort: DEFAULT_API_PORT,
    apiAllowRemote: false,
    htl: DEFAULT_HTL,
    allowPrivateAddrs: false,
    announce: [],
    logLevel: 'info',
    exit: false,
    upnp: false,
    gatewayVia: ''
  }
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4, tib: 1024 ** 4 }

/** Parse "512MiB", "2g", "1048576" into bytes. */
export function parseSize (s: string | number): number {
  if (typeof s === 'number') return s
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(s)
  const unit = m?.[2].toLowerCase() ?? ''
  if (m === null || !(unit in UNITS)) throw new ParamError(`invalid size "${s}" (examples: 1073741824, 512MiB, 2GiB)`)
  return Math.floor(parseFloat(m[1]) * UNITS[unit])
}

function list (s: string | undefined): string[] | undefined {
  return s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter((x) => x !== '')
}

/** Config from the environment (only the variables that are set). */
export function envConfig (env: NodeJS.ProcessEnv = process.env): Partial<WarrenConfig> {
  const c: Partial<WarrenConfig> = {}
  if (env.WARREN_HOME !== undefined) c.dataDir = env.WARREN_HOME
  if (env.WARREN_LISTEN !== undefined) c.listen = list(env.WARREN_LISTEN)
  if (env.WARREN_BOOTSTRAP !== undefined) c.bootstrap = list(env.WARREN_BOOTSTRAP)
  if (env.WARREN_STORE_SIZE !== undefined) c.storeBytes = parseSize(env.WARREN_STORE_SIZE)
  if (env.WARREN_CLIENT_CACHE_SIZE !== undefined) c.clientCacheBytes = parseSize(env.WARREN_CLIENT_CACHE_SIZE)
  if (env.WARREN_API !== undefined) Object.assign(c, parseApiAddress(env.WARREN_API))
  if (env.WARREN_API_ALLOW_REMOTE !== undefined) c.apiAllowRemote = env.WARREN_API_ALLOW_REMOTE === '1' || env.WARREN_API_ALLOW_REMOTE === 'true'
  if (env.WARREN_HTL !== undefined) c.htl = parseInteger('WARREN_HTL', env.WARREN_HTL, NODE_HTL_RANGE)
  if (env.WARREN_ALLOW_PRIVATE_ADDRS !== undefined) c.allowPrivateAddrs = env.WARREN_ALLOW_PRIVATE_ADDRS === '1' || env.WARREN_ALLOW_PRIVATE_ADDRS === 'true'
  if (env.WARREN_ANNOUNCE !== undefined) c.announce = list(env.WARREN_ANNOUNCE)
  if (env.WARREN_LOG_LEVEL !== undefined) c.logLevel = env.WARREN_LOG_LEVEL
  if (env.WARREN_EXIT !== undefined) c.exit = env.WARREN_EXIT === '1' || env.WARREN_EXIT === 'true'
  if (env.WARREN_GATEWAY_VIA !== undefined) c.gatewayVia = env.WARREN_GATEWAY_VIA.trim()
  if (env.WARREN_UPNP !== undefined) c.upnp = env.WARREN_UPNP === '1' || env.WARREN_UPNP === 'true'
  return c
}

/** The node's own default hops-to-live: at most MAX_HTL, like every htl, and at least 1 (a node that sends nothing would be useless). */
export const NODE_HTL_RANGE = { min: 1, max: HTL_RANGE.max }

/**
 * "127.0.0.1:7480", "[::1]:7480", ":7480", "7480", or a URL as a browser shows it:
 * "http://127.0.0.1:7480" and "http://127.0.0.1:7480/" -> host and port.
 */
export function parseApiAddress (s: string): { apiHost?: string, apiPort: number } {
  const text = s.trim()
  const expected = `invalid API address "${s}" (expected HOST:PORT or http://HOST:PORT, e.g. 127.0.0.1:7480)`
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    let url: URL
    try {
      url = new URL(text)
    } catch {
      throw new ParamError(expected)
    }
    if (url.protocol !== 'http:') throw new ParamError(`invalid API address "${s}": the client API speaks http://, not ${url.protocol}//`)
    if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
      throw new ParamError(`invalid API address "${s}": give only the scheme, host and port (http://HOST:PORT)`)
    }
    return { apiHost: url.hostname.replace(/^\[(.*)\]$/, '$1'), apiPort: url.port === '' ? 80 : Number(url.port) }
  }
  const m = /^(?:\[?([^\]]*?)\]?:)?(\d{1,5})$/.exec(text)
  if (m === null) throw new ParamError(expected)
  const port = Number(m[2])
  if (port > 65535) throw new ParamError(`invalid API port ${port}`)
  return m[1] === undefined || m[1] === '' ? { apiPort: port } : { apiHost: m[1], apiPort: port }
}

export async function readConfigFile (dataDir: string): Promise<Partial<WarrenConfig>> {
  const file = join(dataDir, CONFIG_FILE)
  const text = await readTextIfExists(file)
  if (text === undefined) return {}
  try {
    const c = JSON.parse(text) as Partial<WarrenConfig> & { storeBytes?: number | string, clientCacheBytes?: number | string }
    if (c.storeBytes !== undefined) c.storeBytes = parseSize(c.storeBytes)
    if (c.clientCacheBytes !== undefined) c.clientCacheBytes = parseSize(c.clientCacheBytes)
    return c
  } catch (err: any) {
    throw new Error(`${file}: ${err.message}; fix or delete it`, { cause: err })
  }
}

export async function writeConfigFile (config: WarrenConfig): Promise<string> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 })
  const file = join(config.dataDir, CONFIG_FILE)
  const { dataDir: _, ...rest } = config
  await writeFileAtomic(file, JSON.stringify(rest, null, 2) + '\n')
  return file
}

/** Resolve the effective config: defaults < config file < environment < flags. */
export async function resolveConfig (flags: Partial<WarrenConfig> = {}, env: NodeJS.ProcessEnv = process.env): Promise<WarrenConfig> {
  const fromEnv = envConfig(env)
  const dataDir = flags.dataDir ?? fromEnv.dataDir ?? DEFAULT_DATA_DIR
  const fromFile = await readConfigFile(dataDir)
  const c: WarrenConfig = { ...defaultConfig(dataDir), ...fromFile, ...fromEnv, ...stripUndefined(flags), dataDir }
  validateConfig(c)
  return c
}

function stripUndefined<T extends object> (o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1'])

export function isLoopback (host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('127.')
}

/** The log levels (pino's, plus silent). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']

export function validateConfig (c: WarrenConfig): void {
  if (!Number.isInteger(c.storeBytes) || c.storeBytes < 1024 * 1024) throw new ParamError(`store size ${c.storeBytes} is too small (minimum 1 MiB)`)
  if (!Number.isInteger(c.clientCacheBytes) || c.clientCacheBytes < 1024 * 1024) throw new ParamError(`client cache size ${c.clientCacheBytes} is too small (minimum 1 MiB)`)
  parseInteger('htl', c.htl, NODE_HTL_RANGE)
  for (const a of c.announce) {
    try {
      multiaddr(a)
    } catch {
      throw new ParamError(`invalid announce address "${a}" (expected a multiaddr such as /ip4/203.0.113.5/tcp/7400)`)
    }
  }
  for (const a of c.listen) {
    try {
      multiaddr(a)
    } catch {
      throw new ParamError(`invalid listen address "${a}" (expected a multiaddr such as /ip4/0.0.0.0/tcp/7400)`)
    }
  }
  for (const a of c.bootstrap) {
    let ok = false
    try {
      ok = multiaddr(a).getComponents().some((x) => x.name === 'p2p')
    } catch {}
    if (!ok) throw new ParamError(`invalid bootstrap address "${a}" (expected a multiaddr with the node's peer ID, such as /ip4/203.0.113.5/tcp/7400/p2p/12D3KooW…, as the other node prints it)`)
  }
  if (c.gatewayVia !== '' && !TRUSTED_NAME.test(c.gatewayVia)) throw new ParamError(`invalid gateway trusted peer "${c.gatewayVia}" (a name of \`warren trust list\`: 1-32 letters, digits, dots, dashes or underscores; empty to fetch directly)`)
  if (!LOG_LEVELS.includes(c.logLevel)) throw new ParamError(`invalid log level "${c.logLevel}" (one of ${LOG_LEVELS.join(', ')})`)
  if (!isLoopback(c.apiHost) && !c.apiAllowRemote) {
    throw new ParamError(`refusing to bind the client API to ${c.apiHost}: it has no authentication. Use a loopback address, or pass --api-allow-remote if you really mean it`)
  }
}

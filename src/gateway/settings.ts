/**
 * The gateway's settings page (kubo's WebUI and fred have one): the node's settings a user
 * cares about, read from and written to the data dir's config.json. Every value goes through
 * the same parsing and validation as the command line (src/config.ts, src/util/params.ts), the
 * file is replaced atomically (a crash leaves the old or the new one, never half of each), and
 * keys the page does not show are kept as they were.
 *
 * None of these settings can change in a running node (the store, the libp2p listeners, the
 * client's htl are built at start): each takes effect at the next start, and the page says so
 * for every setting it saved. A setting given by a flag or a WARREN_* variable at start wins
 * over the file: the page shows the value the node runs with beside it.
 */
import { join } from 'node:path'
import { CONFIG_FILE, defaultConfig, LOG_LEVELS, NODE_HTL_RANGE, parseApiAddress, parseSize, validateConfig } from '../config.js'
import { readTextIfExists, writeFileAtomic } from '../util/files.js'
import { ParamError, parseInteger } from '../util/params.js'
import type { WarrenConfig } from '../config.js'

/** One setting of the page: its form field, how it reads from and writes to the config. */
export interface Setting {
  /** Form field name. */
  name: string
  label: string
  help: string
  input: 'number' | 'text' | 'lines' | 'checkbox' | 'select'
  options?: string[]
  /** The setting's text in the form, from a config. */
  show: (c: WarrenConfig) => string
  /** The form's text as config fields (throws ParamError, with the CLI's message). */
  parse: (text: string) => Partial<WarrenConfig>
}

function lines (text: string): string[] {
  return text.split(/[\r\n,]+/).map((l) => l.trim()).filter((l) => l !== '')
}

const SIZE_UNITS: Array<[string, number]> = [['TiB', 1024 ** 4], ['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]]

/** Bytes as the largest unit that divides them exactly ("2GiB", "1536MiB", "1000"): parseSize reads it back. */
export function formatSize (bytes: number): string {
  const unit = SIZE_UNITS.find(([, n]) => bytes % n === 0)
  return unit === undefined ? String(bytes) : `${bytes / unit[1]}${unit[0]}`
}

/** A list of multiaddrs, one per line (validated by validateConfig, as at start). */
function addressList (name: 'bootstrap' | 'listen' | 'announce', label: string, help: string): Setting {
  return { name, label, help, input: 'lines', show: (c) => c[name].join('\n'), parse: (t) => ({ [name]: lines(t) }) }
}

export const SETTINGS: Setting[] = [
  {
    name: 'htl',
    label: 'default hops-to-live',
    help: `of this node's own inserts and requests, ${NODE_HTL_RANGE.min} to ${NODE_HTL_RANGE.max} (the maximum hides whether this node originated a message)`,
    input: 'number',
    show: (c) => String(c.htl),
    parse: (t) => ({ htl: parseInteger('htl', t.trim(), NODE_HTL_RANGE) })
  },
  {
    name: 'storeSize',
    label: 'store size',
    help: 'the space the block store may use, e.g. 512MiB, 2GiB (at least 1MiB)',
    input: 'text',
    show: (c) => formatSize(c.storeBytes),
    parse: (t) => ({ storeBytes: parseSize(t) })
  },
  addressList('bootstrap', 'bootstrap nodes', 'one address per line, with the node\'s peer ID (/ip4/…/tcp/…/p2p/12D3KooW…, as the other node prints it)'),
  addressList('listen', 'listen addresses', 'one libp2p multiaddr per line, e.g. /ip4/0.0.0.0/tcp/7400'),
  addressList('announce', 'announced addresses', 'what other nodes are told to reach this one at, one per line (e.g. a public address behind port forwarding); empty: the public listen addresses'),
  {
    name: 'allowPrivateAddrs',
    label: 'dial private addresses',
    help: 'dial loopback and LAN addresses that other peers report (a LAN, several nodes on one machine)',
    input: 'checkbox',
    show: (c) => c.allowPrivateAddrs ? 'on' : '',
    parse: (t) => ({ allowPrivateAddrs: t === 'on' })
  },
  {
    name: 'api',
    label: 'client API and gateway address',
    help: 'HOST:PORT of this page and the API; only a loopback address unless the node was set up with apiAllowRemote',
    input: 'text',
    show: (c) => `${c.apiHost.includes(':') ? `[${c.apiHost}]` : c.apiHost}:${c.apiPort}`,
    parse: (t) => parseApiAddress(t)
  },
  {
    name: 'gatewayVia',
    label: 'fetch through a trusted peer',
    help: 'the name of a trusted peer (`warren trust list`) through which this gateway fetches what it shows, sealed end to end: your neighbours never learn which keys you read. Empty: fetch directly',
    input: 'text',
    show: (c) => c.gatewayVia,
    parse: (t) => ({ gatewayVia: t.trim() })
  },
  {
    name: 'logLevel',
    label: 'log level',
    help: 'how much the node logs',
    input: 'select',
    options: LOG_LEVELS,
    show: (c) => c.logLevel,
    parse: (t) => ({ logLevel: t })
  }
]

/** What the page shows: each setting's value in config.json (defaults filled in) and the one the node runs with. */
export interface SettingsView {
  file: string
  values: Record<string, { saved: string, running?: string }>
}

/** config.json as written (an object; missing: empty), and as a config with the defaults filled in. */
async function readFileConfig (dataDir: string): Promise<{ raw: Record<string, unknown>, config: WarrenConfig }> {
  const file = join(dataDir, CONFIG_FILE)
  const text = await readTextIfExists(file)
  let raw: unknown = {}
  try {
    if (text !== undefined) raw = JSON.parse(text)
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}; fix or delete it`, { cause: err })
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${file} is not a JSON object; fix or delete it`)
  const r = raw as Record<string, unknown>
  const config: WarrenConfig = { ...defaultConfig(dataDir), ...r, dataDir } as WarrenConfig
  if (r.storeBytes !== undefined) config.storeBytes = parseSize(r.storeBytes as string | number)
  return { raw: r, config }
}

export async function readSettings (dataDir: string, running?: Partial<WarrenConfig>): Promise<SettingsView> {
  const { config } = await readFileConfig(dataDir)
  const values: SettingsView['values'] = {}
  for (const s of SETTINGS) {
    const saved = s.show(config)
    let now: string | undefined
    try {
      now = running === undefined ? undefined : s.show({ ...config, ...running })
    } catch {}
    values[s.name] = { saved, running: now !== undefined && now !== saved ? now : undefined }
  }
  return { file: join(dataDir, CONFIG_FILE), values }
}

/**
 * Validate the form and write the settings that changed into config.json (atomically).
 * Returns the labels of the settings changed (each takes effect at the next start).
 */
export async function saveSettings (dataDir: string, form: URLSearchParams): Promise<string[]> {
  const { raw, config } = await readFileConfig(dataDir)
  const changes: Partial<WarrenConfig> = {}
  const changed: string[] = []
  for (const s of SETTINGS) {
    const text = form.get(s.name) ?? (s.input === 'checkbox' ? '' : undefined)
    if (text === undefined) continue
    let fields: Partial<WarrenConfig>
    try {
      fields = s.parse(text)
    } catch (err) {
      throw new ParamError(`${s.label}: ${(err as Error).message}`)
    }
    if (s.show({ ...config, ...fields }) === s.show(config)) continue
    Object.assign(changes, fields)
    changed.push(s.label)
  }
  if (changed.length === 0) return []
  // The rules `warren start` applies (the API's loopback rule against this file's apiAllowRemote).
  validateConfig({ ...config, ...changes })
  const next: Record<string, unknown> = { ...raw, ...changes }
  if (changes.storeBytes !== undefined) next.storeBytes = formatSize(changes.storeBytes)
  await writeFileAtomic(join(dataDir, CONFIG_FILE), JSON.stringify(next, null, 2) + '\n')
  return changed
}

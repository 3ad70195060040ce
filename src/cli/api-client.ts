/**
 * How the CLI's client commands reach a running node: its client API's address (from --api,
 * WARREN_API, the data dir's config or the default), requests whose failures say what to do,
 * and the options every client command takes.
 */
import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { parseApiAddress, readConfigFile, envConfig } from '../config.js'
import { parseHtl } from '../util/params.js'
import { DEFAULT_API_HOST, DEFAULT_API_PORT, DEFAULT_DATA_DIR } from '../constants.js'
import type { Command } from 'commander'
import type { WarrenConfig } from '../config.js'

/** An optional `--htl` of a client command, checked here (a clear error before any upload), as text for the API. */
export function htlFlag (text: string | undefined): string | undefined {
  const htl = parseHtl(text, '--htl')
  return htl === undefined ? undefined : String(htl)
}

/** Base URL of the running node's API: --api, else WARREN_API, else the data dir's config, else the default. */
export async function apiBase (opts: { api?: string, dataDir?: string }): Promise<string> {
  let addr: { apiHost?: string, apiPort?: number } = {}
  if (opts.api !== undefined) addr = parseApiAddress(opts.api)
  else {
    const env = envConfig()
    const named = opts.dataDir ?? env.dataDir
    if (named !== undefined) {
      // A typo in -d must not quietly reach the default node instead.
      const st = await stat(named).catch(() => undefined)
      if (st?.isDirectory() !== true) {
        throw new Error(`no data dir at ${resolve(named)}${opts.dataDir === undefined ? ' (from WARREN_HOME)' : ''}: check the path (it is the -d given to \`warren start\`), or give the node's API address with -a HOST:PORT`)
      }
    }
    const file = await readConfigFile(named ?? DEFAULT_DATA_DIR).catch(() => ({}) as Partial<WarrenConfig>)
    addr = { apiHost: env.apiHost ?? file.apiHost, apiPort: env.apiPort ?? file.apiPort }
  }
  const host = addr.apiHost ?? DEFAULT_API_HOST
  return `http://${host.includes(':') ? `[${host}]` : host}:${addr.apiPort ?? DEFAULT_API_PORT}`
}

export async function call (base: string, path: string, init?: RequestInit): Promise<Response> {
  let res: Response
  try {
    res = await fetch(base + path, init)
  } catch (err: any) {
    if (init?.signal?.aborted === true) throw err
    throw new Error(`cannot reach the warren node API at ${base} (${err.cause?.code ?? err.message}). Is \`warren start\` running? Use --api HOST:PORT (or http://HOST:PORT) to point elsewhere.`, { cause: err })
  }
  if (!res.ok) {
    const text = await res.text()
    let msg = text
    try { msg = JSON.parse(text).error ?? text } catch {}
    throw new Error(msg)
  }
  return res
}

export function clientOptions (cmd: Command): Command {
  return cmd
    .option('-a, --api <host:port>', 'address of the running node\'s client API, HOST:PORT or http://HOST:PORT [env WARREN_API]')
    .option('-d, --data-dir <dir>', 'read the API address from this data dir\'s config')
}

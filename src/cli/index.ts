#!/usr/bin/env node
/**
 * The `warren` command line. `warren start` runs a node; the other commands talk to a
 * running node's client API (HTTP+JSON on 127.0.0.1). See README for every command.
 */
import { Command } from 'commander'
import { createReadStream, readFileSync } from 'node:fs'
import { rm, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { startApiServer } from '../api/server.js'
import { registerTunnelCommands } from './tunnel.js'
import { apiBase, call, clientOptions, htlFlag } from './api-client.js'
import { counted, interruptible, meter, onlyHereWarning, openOutput, uploadFile, uploadSite } from './transfer.js'
import type { TransferProgress } from './transfer.js'
import { lockDataDir } from './lock.js'
import { checkPortsFree, explainStartError } from './ports.js'
import { banner } from './banner.js'
import { BLOCK_SIZE } from '../constants.js'
import { NODE_HTL_RANGE, parseApiAddress, parseSize, resolveConfig, writeConfigFile } from '../config.js'
import { parseInteger, parseSignedTarget } from '../util/params.js'
import { DEFAULT_API_HOST, DEFAULT_API_PORT, DEFAULT_DATA_DIR, MAX_HTL } from '../constants.js'
import { loadOrCreateIdentity } from '../identity.js'
import { createWarrenNode } from '../node.js'
import { createLogger } from '../util/logger.js'
import { verifyStore } from '../store/verify.js'
import { describeSigned, keygenCommand, signedPutOptions, signedQuery } from './keys.js'
import type { SignedPutFlags } from './keys.js'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { WarrenConfig } from '../config.js'

interface NodeFlags {
  dataDir?: string
  listen?: string[]
  bootstrap?: string[]
  storeSize?: string
  clientCacheSize?: string
  api?: string
  apiAllowRemote?: boolean
  htl?: string
  logLevel?: string
  allowPrivateAddrs?: boolean
  exit?: boolean
  upnp?: boolean
  announceAddr?: string[]
}

function collect (value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((s) => s.trim()).filter((s) => s !== '')]
}

function nodeOptions (cmd: Command): Command {
  return cmd
    .option('-d, --data-dir <dir>', `data directory (identity, config, store) [env WARREN_HOME, default ${DEFAULT_DATA_DIR}]`)
    .option('-l, --listen <multiaddr>', 'libp2p listen multiaddr, repeatable [env WARREN_LISTEN, default /ip4/0.0.0.0/tcp/7400]', collect)
    .option('-b, --bootstrap <multiaddr>', 'bootstrap peer multiaddr with /p2p/<id>, repeatable [env WARREN_BOOTSTRAP]', collect)
    .option('-s, --store-size <size>', 'store capacity, e.g. 512MiB, 2GiB [env WARREN_STORE_SIZE, default 1GiB]')
    .option('--client-cache-size <size>', 'client cache capacity: what this node\'s own gets and puts keep, never served to peers [env WARREN_CLIENT_CACHE_SIZE, default 256MiB]')
    .option('-a, --api <host:port>', `client API address [env WARREN_API, default ${DEFAULT_API_HOST}:${DEFAULT_API_PORT}]`)
    .option('--api-allow-remote', 'allow the unauthenticated client API on a non-loopback address')
    .option('--htl <n>', `default hops-to-live of this node's inserts and requests [env WARREN_HTL, default and maximum ${MAX_HTL}]`)
    .option('--log-level <level>', 'trace, debug, info, warn, error or silent [env WARREN_LOG_LEVEL, default info]')
    .option('--allow-private-addrs', 'dial loopback/private addresses learnt from peers (LANs, several nodes on one host) [env WARREN_ALLOW_PRIVATE_ADDRS]')
    .option('--exit', 'run proxy downloads (http/https on ports 80/443, public addresses only) for peers that trust this node [env WARREN_EXIT]')
    .option('--upnp', 'ask the LAN\'s router to forward the listen port by UPnP IGD (multicasts on the LAN) [env WARREN_UPNP]')
    .option('--announce-addr <multiaddr>', 'address other nodes should reach this one at (e.g. a public address behind port forwarding), repeatable [env WARREN_ANNOUNCE, default: the public listen addresses]', collect)
}

function flagsToConfig (f: NodeFlags): Partial<WarrenConfig> {
  const c: Partial<WarrenConfig> = {
    dataDir: f.dataDir,
    listen: f.listen,
    bootstrap: f.bootstrap,
    storeBytes: f.storeSize === undefined ? undefined : parseSize(f.storeSize),
    clientCacheBytes: f.clientCacheSize === undefined ? undefined : parseSize(f.clientCacheSize),
    apiAllowRemote: f.apiAllowRemote,
    htl: f.htl === undefined ? undefined : parseInteger('--htl', f.htl, NODE_HTL_RANGE),
    allowPrivateAddrs: f.allowPrivateAddrs,
    announce: f.announceAddr,
    logLevel: f.logLevel,
    exit: f.exit,
    upnp: f.upnp
  }
  if (f.api !== undefined) Object.assign(c, parseApiAddress(f.api))
  return c
}

/** The version in package.json (two folders above dist/src/cli). */
function version (): string {
  try {
    return JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version
  } catch {
    return 'unknown'
  }
}

/** The file a put reads: refuse a folder (put-site) and say what is missing. */
async function inputFile (file: string): Promise<{ size?: number }> {
  if (file === '-') return {}
  const st = await stat(file).catch((err: NodeJS.ErrnoException) => {
    throw new Error(err.code === 'ENOENT' ? `no such file: ${file}` : `cannot read ${file}: ${err.message}`)
  })
  if (st.isDirectory()) throw new Error(`${file} is a folder: use put-site to insert a folder as a site (warren put-site ${file})`)
  // A pipe or a device has no size known in advance.
  return st.isFile() ? { size: st.size } : {}
}

/**
 * Run a put (or put-site) that Ctrl-C can cancel: on SIGINT the bar is stopped (cursor and line
 * wrap restored), "cancelled" is printed with the blocks the node already inserted (they stay in
 * its own cache, and at any peers that took them, until evicted), and the process exits with 130.
 */
async function cancellableInsert<T> (stopBar: () => void, run: (signal: AbortSignal, onBlock: TransferProgress) => Promise<T>): Promise<T> {
  const { signal, done } = interruptible()
  let blocks = 0
  try {
    return await run(signal, (evt) => { if (evt.type === 'warren:insert:block') blocks++ })
  } catch (err) {
    if (!signal.aborted) throw err
    stopBar()
    console.error(blocks === 0
      ? 'cancelled: nothing was inserted yet'
      : `cancelled: the node had inserted ${blocks} blocks (${humanBytes(blocks * BLOCK_SIZE)}); they stay in its own cache, and at any peers that took them, until evicted to make room (nothing refers to them: they are not reachable by any URI)`)
    process.exit(130)
  } finally {
    stopBar()
    done()
  }
}

function humanBytes (n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++ }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${u[i]}`
}

export function buildProgram (): Command {
  const program = new Command()
  program.name('warren').description('An anonymous, censorship-resistant storage and retrieval network node (Freenet-style, on libp2p)').version(`${version()} (Node.js ${process.version})`)

  nodeOptions(program.command('init').description('create the data directory with a new Ed25519 identity and a config file'))
    .action(async (f: NodeFlags) => {
      const config = await resolveConfig(flagsToConfig(f))
      const { key, created } = await loadOrCreateIdentity(config.dataDir)
      const file = await writeConfigFile(config)
      const id = peerIdFromPrivateKey(key).toString()
      console.log(`${created ? 'created' : 'kept existing'} identity ${id}`)
      console.log(`identity: ${join(config.dataDir, 'identity.key')}`)
      console.log(`config:   ${file}`)
    })

  nodeOptions(program.command('start').description('start a node (creates the data directory on first run)'))
    .action(async (f: NodeFlags) => {
      const config = await resolveConfig(flagsToConfig(f))
      const log = createLogger(config.logLevel, process.stdout.isTTY)
      const lock = await lockDataDir(config.dataDir)
      await checkPortsFree(config.listen, { host: config.apiHost, port: config.apiPort })
      const { created } = await loadOrCreateIdentity(config.dataDir)
      if (created) await writeConfigFile(config)
      const node = await createWarrenNode(config, { logger: log })
      try {
        await node.start()
      } catch (err) {
        await node.stop().catch(() => {})
        throw explainStartError(err, config.listen)
      }
      let api
      try {
        api = await startApiServer(node, { host: config.apiHost, port: config.apiPort, allowRemote: config.apiAllowRemote })
      } catch (err) {
        await node.stop()
        throw err
      }
      // Stop cleanly on a signal from here on (before the banner: whoever reads it may signal at once).
      let stopping = false
      const started = api
      const shutdown = async (signal: string): Promise<void> => {
        if (stopping) return
        stopping = true
        log.info({ signal }, 'shutting down')
        const force = setTimeout(() => { log.error('shutdown took too long; exiting'); process.exit(1) }, 15_000)
        force.unref()
        await started.app.close()
        await node.stop()
        await lock.release()
        console.log('stopped')
        process.exit(0)
      }
      process.on('SIGINT', () => { void shutdown('SIGINT') })
      process.on('SIGTERM', () => { void shutdown('SIGTERM') })
      console.log(`warren node ${node.peerId}`)
      for (const a of node.addresses()) console.log(`listening ${a}`)
      console.log(`client API ${api.url}`)
      console.log(`data dir ${config.dataDir} (store ${humanBytes(config.storeBytes)})`)
      // One write, so that a reader that has seen the gateway line has the whole banner.
      console.log(banner(api.url, node.addresses(), config.bootstrap.length).join('\n'))
      log.info({ peerId: node.peerId, bootstrap: config.bootstrap.length }, 'node started')
    })

  signedPutOptions(clientOptions(program.command('put').description('insert a file (FEC split file); prints its warren URI').argument('<file>', 'file to insert ("-" for stdin)')))
    .option('--htl <n>', 'hops-to-live for the insert')
    .option('--mime <type>', 'MIME type to record (default: from the file name)')
    .option('--json', 'print the full JSON result')
    .option('-q, --quiet', 'no progress bar')
    .option('--via <name>', 'have this trusted peer insert it: the file travels sealed to it (see `warren trust`)')
    .action(async (file: string, o: { api?: string, dataDir?: string, htl?: string, mime?: string, json?: boolean, quiet?: boolean, via?: string } & SignedPutFlags) => {
      const htl = htlFlag(o.htl)
      parseSignedTarget(signedQuery(o))
      const { size } = await inputFile(file)
      const base = await apiBase(o)
      const body = file === '-' ? process.stdin : createReadStream(file)
      const bar = meter('put', size ?? 0, o.quiet === true || o.json === true)
      const out = await cancellableInsert(bar.stop, async (signal, onBlock) => await uploadFile(call, base, body, {
        size, name: file === '-' ? undefined : basename(file), mime: o.mime, htl, query: { ...signedQuery(o), ...(o.via === undefined ? {} : { via: o.via }) }, signal,
        onProgress: (evt) => { bar.onProgress(evt); onBlock(evt) }
      }))
      const signed = describeSigned(out as Parameters<typeof describeSigned>[0])
      if (signed !== undefined && o.json !== true) console.error(signed)
      const alone = onlyHereWarning(out)
      if (alone !== undefined && o.json !== true) console.error(alone)
      // The URI with the file name (CHK@…/report.pdf) when the node gave one.
      console.log(o.json === true ? JSON.stringify(out, null, 2) : (typeof out.namedUri === 'string' ? out.namedUri : out.uri))
    })

  signedPutOptions(clientOptions(program.command('put-site').description('insert a directory as a site (files + manifest); prints its URI').argument('<dir>', 'directory to insert')))
    .option('--index <file>', 'file served for the site root and folders', 'index.html')
    .option('--htl <n>', 'hops-to-live for the inserts')
    .option('--json', 'print the full JSON result')
    .option('-q, --quiet', 'no progress bar')
    .action(async (dir: string, o: { api?: string, dataDir?: string, index?: string, htl?: string, json?: boolean, quiet?: boolean } & SignedPutFlags) => {
      const htl = htlFlag(o.htl)
      parseSignedTarget(signedQuery(o))
      const base = await apiBase(o)
      const st = await stat(dir).catch(() => undefined)
      if (st === undefined) throw new Error(`no such folder: ${dir}`)
      if (!st.isDirectory()) throw new Error(`${dir} is a file, not a folder: use put to insert one file (warren put ${dir})`)
      const out = await cancellableInsert(() => {}, async (signal, onProgress) => await uploadSite(call, base, dir, { index: o.index, htl, quiet: o.quiet === true || o.json === true, query: signedQuery(o), signal, onProgress }))
      const signed = describeSigned(out as Parameters<typeof describeSigned>[0])
      if (signed !== undefined && o.json !== true) console.error(signed)
      console.log(o.json === true ? JSON.stringify(out, null, 2) : out.uri)
    })

  clientOptions(program.command('get').description('fetch a URI to a file or stdout').argument('<uri>', 'warren URI, e.g. warren:CHK@...[/path in a site]'))
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .option('--htl <n>', 'hops-to-live for the requests')
    .option('-q, --quiet', 'no progress bar')
    .option('--via <name>', 'have this trusted peer fetch it: your neighbours see only sealed tunnel traffic (see `warren trust`)')
    .action(async (uri: string, o: { api?: string, dataDir?: string, output?: string, htl?: string, quiet?: boolean, via?: string }) => {
      const htl = htlFlag(o.htl)
      const base = await apiBase(o)
      const q = `?uri=${encodeURIComponent(uri)}${htl === undefined ? '' : `&htl=${htl}`}${o.via === undefined ? '' : `&via=${encodeURIComponent(o.via)}`}`
      const { signal, done } = interruptible()
      const size = { total: 0, got: 0 }
      let bar = { stop: () => {} }
      try {
        const res = await call(base, `/api/v1/get${q}`, { signal })
        size.total = Number(res.headers.get('content-length') ?? 0)
        const m = meter('get', size.total, o.quiet === true)
        bar = m
        const src = counted(Readable.fromWeb(res.body as any), (evt) => { m.onProgress(evt); if (evt.type === 'warren:file:bytes') size.got = evt.detail.total })
        const copy = pipeline(src, o.output === undefined ? process.stdout : await openOutput(o.output, signal), { signal })
        // On Ctrl-C do not wait for the pipeline to wind down (a pipe nobody reads would hold it;
        // openOutput keeps such a write out of the threadpool, so the process can exit).
        copy.catch(() => {})
        await Promise.race([copy, new Promise<never>((_resolve, reject) => {
          signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true })
        })])
      } catch (err) {
        if (!signal.aborted) throw err
        bar.stop()
        // An incomplete file is worse than none: remove it. The blocks fetched stay in the node's own cache.
        const partial = o.output !== undefined && (await stat(o.output).catch(() => undefined))?.isFile() === true
        if (partial) await rm(o.output!, { force: true })
        console.error(`cancelled after ${humanBytes(size.got)}${size.total > 0 ? ` of ${humanBytes(size.total)}` : ''}${partial ? `; removed the incomplete ${o.output!}` : ''}; the blocks fetched so far stay in the node's own cache`)
        process.exit(130)
      } finally {
        bar.stop()
        done()
      }
    })

  clientOptions(program.command('redirect').description('insert a CHK that redirects to another URI (any key type); prints its URI').argument('<target>', 'the URI to point at'))
    .option('--htl <n>', 'hops-to-live for the insert')
    .action(async (target: string, o: { api?: string, dataDir?: string, htl?: string }) => {
      const htl = htlFlag(o.htl)
      const q = `?target=${encodeURIComponent(target)}${htl === undefined ? '' : `&htl=${htl}`}`
      const out = await (await call(await apiBase(o), `/api/v1/redirect${q}`, { method: 'POST' })).json() as { uri: string }
      console.log(out.uri)
    })

  registerTunnelCommands(program)

  clientOptions(program.command('peers').description('list connected peers'))
    .option('--json', 'print JSON')
    .action(async (o: { api?: string, dataDir?: string, json?: boolean }) => {
      const peers = await (await call(await apiBase(o), '/api/v1/peers')).json() as Array<{ peerId: string, address: string, direction: string }>
      if (o.json === true) { console.log(JSON.stringify(peers, null, 2)); return }
      if (peers.length === 0) console.log('no peers connected')
      for (const p of peers) console.log(`${p.peerId}  ${p.direction.padEnd(8)} ${p.address}`)
    })

  clientOptions(program.command('status').description('show node status: peers, routing table, store, counters'))
    .option('--json', 'print JSON')
    .action(async (o: { api?: string, dataDir?: string, json?: boolean }) => {
      const s = await (await call(await apiBase(o), '/api/v1/status')).json() as any
      if (o.json === true) { console.log(JSON.stringify(s, null, 2)); return }
      const rt = s.routingTable
      const max = Math.max(1, ...rt.spread)
      const bars = rt.spread.map((n: number) => ' ▁▂▃▄▅▆▇█'[Math.round((n / max) * 8)]).join('')
      const c = s.counters
      const lr = c.local.requests
      const li = c.local.inserts
      console.log(`peer ID        ${s.peerId}`)
      for (const a of s.addresses) console.log(`address        ${a}`)
      console.log(`peers          ${s.peers}`)
      const an = s.announcement
      console.log(`location       ${an === null ? 'none yet (announced once connected to a bootstrap peer)' : `${an.key.slice(0, 16)}… agreed by ${an.participants} nodes on ${new Date(an.at).toISOString()}${an.restored === true ? ' (kept from an earlier run)' : ''}`}`)
      console.log(`routing table  ${rt.size}/${rt.capacity} entries, ${rt.peers} distinct peers`)
      console.log(`key spread     |${bars}| (16 slices of the key circle, 0x0.. to 0xf..)`)
      console.log(`store          ${s.store.count} blocks, ${humanBytes(s.store.usedBytes)} of ${humanBytes(s.store.capacityBytes)} (${(100 * s.store.usedBytes / s.store.capacityBytes).toFixed(1)}%), ${s.store.kept} kept near its location`)
      if (s.clientCache !== undefined) console.log(`own cache      ${s.clientCache.count} blocks, ${humanBytes(s.clientCache.usedBytes)} of ${humanBytes(s.clientCache.capacityBytes)} (what this node's own gets and puts keep; never served to peers)`)
      console.log(`requests       local: ${lr.success} ok, ${lr.failure} failed, mean ${(lr.success > 0 ? lr.hops / lr.success : 0).toFixed(1)} hops; relayed: ${c.requestsReceived}`)
      console.log(`inserts        local: ${li.success} ok, ${li.collision} collisions, ${li.failure} failed; relayed: ${c.insertsReceived}`)
      console.log(`routing        ${c.forwarded} forwarded, ${c.loopsRejected} loops rejected, ${c.failureTableRejects} failure-table rejects, ${c.servedFromStore} served from store`)
      console.log(`operations     ${s.operations.active} in progress`)
      const h = s.healing
      console.log(`healing        ${h.healed} rebuilt blocks inserted again, ${h.pending} pending, ${h.failed} failed, ${h.dropped} dropped`)
    })

  keygenCommand(program)

  nodeOptions(program.command('verify').description('check every stored block against its key (node must be stopped); deletes bad ones'))
    .action(async (f: NodeFlags) => {
      const config = await resolveConfig(flagsToConfig(f))
      const lock = await lockDataDir(config.dataDir)
      let r: Awaited<ReturnType<typeof verifyStore>>
      try {
        r = await verifyStore(config.dataDir, config.storeBytes, createLogger(config.logLevel, process.stderr.isTTY, 2), config.clientCacheBytes)
      } finally {
        await lock.release()
      }
      console.log(`checked ${r.checked} blocks, deleted ${r.deleted} that failed verification`)
      if (r.deleted > 0) process.exitCode = 1
    })

  // The simulator (and its charting libraries) load only when `warren sim` runs.
  program.command('sim').description('network simulator experiments on the real routing core (see `warren sim --help`)')
    .helpOption(false).allowUnknownOption().allowExcessArguments().argument('[args...]')
    .action(async () => {
      const { registerSimCommand } = await import('../sim/cli.js')
      const sim = new Command().name('warren')
      registerSimCommand(sim)
      await sim.parseAsync(process.argv)
    })

  return program
}

buildProgram().parseAsync(process.argv).catch((err: Error) => {
  console.error(`warren: ${err.message}`)
  process.exit(1)
})

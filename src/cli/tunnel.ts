/**
 * The CLI's SSL-through-SSL commands (docs/tunnel.md): `warren trust ...` for trusted-peer cards
 * and `warren fetch-url` for proxy downloads through a trusted peer's exit. Each talks to the
 * running node's client API, like the rest of the CLI.
 */
import { createWriteStream } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { apiBase, call, clientOptions, htlFlag } from './api-client.js'
import type { Command } from 'commander'

export function registerTunnelCommands (program: Command): void {
  clientOptions(program.command('fetch-url').description('proxy download: a trusted peer that runs an exit fetches an http(s) URL for you and sends it back sealed').argument('<url>', 'http:// or https:// URL (ports 80 and 443)'))
    .requiredOption('--via <name>', 'the trusted peer (see `warren trust`)')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .option('--insert', 'also insert the page as a CHK; its URI is printed on stderr')
    .option('--htl <n>', 'hops-to-live for the insert')
    .action(async (url: string, o: { api?: string, dataDir?: string, via: string, output?: string, insert?: boolean, htl?: string }) => {
      const htl = htlFlag(o.htl)
      const q = `?url=${encodeURIComponent(url)}&via=${encodeURIComponent(o.via)}${o.insert === true ? '&insert=1' : ''}${htl === undefined ? '' : `&htl=${htl}`}`
      const res = await call(await apiBase(o), `/api/v1/fetch-url${q}`, { method: 'POST' })
      await pipeline(Readable.fromWeb(res.body as any), o.output === undefined ? process.stdout : createWriteStream(o.output))
      const uri = res.headers.get('x-warren-uri')
      if (uri !== null) console.error(uri)
    })

  const trust = program.command('trust').description('trusted peers for SSL-through-SSL tunnels (docs/tunnel.md)')
  clientOptions(trust.command('export').description('print this node\'s card (its signed tunnel key): give it out of band to people who will trust this node'))
    .option('-o, --output <file>', 'write the card to this file')
    .action(async (o: { api?: string, dataDir?: string, output?: string }) => {
      const c = await (await call(await apiBase(o), '/api/v1/trust/card')).json() as { card: string }
      if (o.output !== undefined) await writeFile(o.output, c.card + '\n', { mode: 0o644 })
      else console.log(c.card)
    })
  clientOptions(trust.command('add').description('trust a peer: store its card (text or a file holding it) under a name, after checking its signature').argument('<card>', 'warren-card:... or a file holding one'))
    .requiredOption('--name <name>', 'the name to use with --via')
    .action(async (card: string, o: { api?: string, dataDir?: string, name: string }) => {
      const text = card.trim().startsWith('warren-card:') ? card : await readFile(card, 'utf8').catch((err: NodeJS.ErrnoException) => { throw new Error(`${card} is neither a card (warren-card:...) nor a readable file (${err.code ?? err.message})`) })
      const r = await (await call(await apiBase(o), `/api/v1/trust?name=${encodeURIComponent(o.name)}`, { method: 'POST', body: text })).json() as { name: string, peerId: string }
      console.log(`trusting ${r.peerId} as "${r.name}"`)
    })
  clientOptions(trust.command('list').description('list trusted peers'))
    .option('--json', 'print JSON')
    .action(async (o: { api?: string, dataDir?: string, json?: boolean }) => {
      const list = await (await call(await apiBase(o), '/api/v1/trust')).json() as Array<{ name: string, peerId: string, keyEpoch: string, expires: string }>
      if (o.json === true) console.log(JSON.stringify(list, null, 2))
      else if (list.length === 0) console.log('no trusted peers (add one with `warren trust add CARD --name NAME`)')
      else for (const p of list) console.log(`${p.name}\t${p.peerId}\tkey ${p.keyEpoch}\texpires ${p.expires}`)
    })
  clientOptions(trust.command('refresh').description('ask a trusted peer (through a tunnel) for its current card; a rotated key replaces the stored one').argument('<name>'))
    .action(async (name: string, o: { api?: string, dataDir?: string }) => {
      const r = await (await call(await apiBase(o), `/api/v1/trust/refresh?name=${encodeURIComponent(name)}`, { method: 'POST' })).json() as { keyEpoch: string, changed: boolean }
      console.log(r.changed ? `"${name}" has a new key (epoch ${r.keyEpoch})` : `"${name}" still uses key ${r.keyEpoch}`)
    })
  clientOptions(trust.command('remove').description('stop trusting a peer').argument('<name>'))
    .action(async (name: string, o: { api?: string, dataDir?: string }) => {
      await call(await apiBase(o), `/api/v1/trust?name=${encodeURIComponent(name)}`, { method: 'DELETE' })
      console.log(`removed "${name}"`)
    })
}

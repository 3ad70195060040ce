/**
 * CLI pieces for signed and updatable keys: `warren keygen` (runs locally: the private key never
 * leaves this process) and the `put` flags --ssk, --ksk, --update (with --period, --start, --at).
 */
import { keygen } from '../client/key-client.js'
import type { Command } from 'commander'

export interface SignedPutFlags {
  ssk?: string
  ksk?: string
  update?: string
  period?: string
  start?: string
  at?: string
}

export function signedPutOptions (cmd: Command): Command {
  return cmd
    .option('--ssk <insert URI>', 'insert under a signed subspace: warren:SSK-INSERT@...,.../<name> (see `warren keygen`)')
    .option('--ksk <keyword>', 'insert under a keyword key (first come, first served; anyone who knows the word can read it)')
    .option('--update <insert URI>', 'publish the next version of updatable content: the next edition, or the current date slot')
    .option('--period <seconds>', 'with --update on a new name: make it a date-based redirect with this period (e.g. 86400)')
    .option('--start <time>', 'with --update on a new name: date-based redirect start (Unix seconds or ISO date; default now)')
    .option('--at <time>', 'with --update on a date-based name: insert the slot of this time (e.g. tomorrow\'s) instead of now')
}

/** Query parameters of POST /api/v1/put for the signed-key flags (empty when none is set). */
export function signedQuery (o: SignedPutFlags): Record<string, string> {
  const q: Record<string, string> = {}
  for (const k of ['ssk', 'ksk', 'update', 'period', 'start', 'at'] as const) {
    const v = o[k]
    if (v !== undefined) q[k] = v
  }
  return q
}

/** A one-line summary of a signed put for stderr (the request URI goes to stdout). */
export function describeSigned (out: { target?: string, version?: string, edition?: number, slot?: { name: string, from: number, until: number } }): string | undefined {
  if (out.target === undefined) return undefined
  if (out.edition !== undefined) return `edition ${out.edition}: ${out.version ?? ''} -> ${out.target}`
  if (out.slot !== undefined) {
    const iso = (s: number): string => new Date(s * 1000).toISOString()
    return `slot ${iso(out.slot.from)} .. ${iso(out.slot.until)}: ${out.version ?? ''} -> ${out.target}`
  }
  return `-> ${out.target}`
}

export function keygenCommand (program: Command): void {
  program.command('keygen')
    .description('create a signed subspace (SSK): prints its insert URI (secret) and request URI (share it)')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      const k = keygen()
      if (o.json === true) {
        console.log(JSON.stringify(k, null, 2))
        return
      }
      console.log(`insert URI (keep it secret): ${k.insertUri}`)
      console.log(`request URI (share it):      ${k.requestUri}`)
      console.log('append a document name to either, e.g. warren put --ssk <insert URI>notes.txt FILE')
    })
}

/**
 * Before `warren start` opens its store and libp2p: are the ports it is told to listen on free?
 * A taken port is then one line ("port 7400 in use; pick another with -l") rather than libp2p's
 * transportManager stack trace, and nothing is left half started.
 */
import { createServer } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'

export class PortInUseError extends Error {
  constructor (readonly port: number, readonly flag: '-l' | '-a', example: string) {
    super(`port ${port} in use; pick another with ${flag} (e.g. ${flag} ${example}), or stop the program using it`)
    this.name = 'PortInUseError'
  }
}

/** Resolves when `host:port` can be bound now; rejects with the bind error (EADDRINUSE, EACCES...). */
async function tryBind (host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen({ host, port, exclusive: true }, () => { server.close(() => { resolve() }) })
  })
}

/** The TCP host and port of a listen multiaddr, or undefined for one that binds no fixed TCP port. */
function tcpPort (addr: string): { host: string, port: number } | undefined {
  const parts = multiaddr(addr).getComponents()
  const ip = parts.find((c) => c.name === 'ip4' || c.name === 'ip6')
  const tcp = parts.find((c) => c.name === 'tcp')
  if (ip?.value === undefined || tcp?.value === undefined || Number(tcp.value) === 0) return undefined
  return { host: ip.value, port: Number(tcp.value) }
}

/** Throw PortInUseError for the first listen address or API port another program holds. */
export async function checkPortsFree (listen: string[], api: { host: string, port: number }): Promise<void> {
  const check = async (host: string, port: number, flag: '-l' | '-a', example: string): Promise<void> => {
    try {
      await tryBind(host, port)
    } catch (err: any) {
      if (err.code === 'EADDRINUSE') throw new PortInUseError(port, flag, example)
      // Anything else (EADDRNOTAVAIL, EACCES) the real listen reports with its own words.
    }
  }
  for (const a of listen) {
    const t = tcpPort(a)
    if (t !== undefined) await check(t.host, t.port, '-l', a.replace(`/tcp/${t.port}`, `/tcp/${t.port + 1}`))
  }
  if (api.port !== 0) await check(api.host, api.port, '-a', `${api.host.includes(':') ? `[${api.host}]` : api.host}:${api.port + 1}`)
}

/** A start error in a user's words: a port another process took between the check and the listen. */
export function explainStartError (err: unknown, listen: string[]): Error {
  const text = err instanceof Error ? err.message : String(err)
  const m = /EADDRINUSE[^\n]*?:(\d+)\s*$/m.exec(text)
  if (m === null) return err as Error
  const port = Number(m[1])
  const a = listen.find((l) => l.includes(`/tcp/${port}`)) ?? `/ip4/0.0.0.0/tcp/${port}`
  return new PortInUseError(port, '-l', a.replace(`/tcp/${port}`, `/tcp/${port + 1}`))
}

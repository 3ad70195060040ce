// Prints the bootstrap multiaddr of the seed node, /dns4/<WARREN_SEED>/tcp/<port>/p2p/<peer ID>,
// with the peer ID read from the seed's client API (GET /api/v1/status), and keeps a copy in the
// data volume (seed-bootstrap.txt). Polls until the seed answers: up to WARREN_SEED_WAIT seconds
// (default 120) on a first start; 10 s when a copy from an earlier start exists, which is then
// used if the seed is down, so a peer restarts on its own.
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const host = process.env.WARREN_SEED
const port = process.env.WARREN_SEED_PORT ?? '7400'
const api = process.env.WARREN_SEED_API ?? `http://${host}:7480`
const saved = join(process.env.WARREN_HOME ?? '/data', 'seed-bootstrap.txt')
let cached
try { cached = readFileSync(saved, 'utf8').trim() } catch {}
const waitMs = cached !== undefined && cached !== '' ? 10_000 : Number(process.env.WARREN_SEED_WAIT ?? '120') * 1000
const deadline = Date.now() + waitMs
let last = 'no answer yet'
while (Date.now() < deadline) {
  try {
    const res = await fetch(`${api}/api/v1/status`, { signal: AbortSignal.timeout(5000) })
    if (res.ok) {
      const { peerId } = await res.json()
      if (typeof peerId === 'string' && peerId !== '') {
        const addr = `/dns4/${host}/tcp/${port}/p2p/${peerId}`
        try {
          writeFileSync(`${saved}.tmp`, addr + '\n')
          renameSync(`${saved}.tmp`, saved)
        } catch (err) {
          console.error(`seed-addr: could not keep the seed's address in ${saved} (${err.message})`)
        }
        console.log(addr)
        process.exit(0)
      }
      last = 'status without a peerId'
    } else {
      last = `HTTP ${res.status}`
    }
  } catch (err) {
    last = err.cause?.code ?? err.message
  }
  await new Promise((resolve) => setTimeout(resolve, 1000))
}
if (cached !== undefined && cached !== '') {
  console.error(`seed-addr: the seed's API at ${api} does not answer (${last}); using the address kept from an earlier start`)
  console.log(cached)
  process.exit(0)
}
console.error(`seed-addr: the seed's API at ${api} did not give its peer ID within ${waitMs / 1000} s (${last}). Is the seed running with WARREN_API=0.0.0.0:7480? Or set WARREN_BOOTSTRAP yourself.`)
process.exit(1)

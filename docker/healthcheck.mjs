// HEALTHCHECK: healthy when the node's client API answers GET /api/v1/status.
// The port follows WARREN_API (HOST:PORT or PORT; default 7480).
const port = /(\d+)\s*$/.exec(process.env.WARREN_API ?? '')?.[1] ?? '7480'
try {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/status`, { signal: AbortSignal.timeout(4000) })
  process.exit(res.ok ? 0 : 1)
} catch {
  process.exit(1)
}

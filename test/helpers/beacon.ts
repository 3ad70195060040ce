/**
 * A plain HTTP server on 127.0.0.1 standing for "the outside": it records the path of every
 * request it gets (so a test can prove content reached it, or did not) and serves the given
 * pages unfiltered, with no security headers, as controls that show the same markup does
 * run or hit the beacon when it is not served through the gateway.
 */
import { createServer } from 'node:http'

export interface Page {
  type: string
  body: string
}

export interface Beacon {
  /** http://127.0.0.1:PORT */
  base: string
  /** Request paths in arrival order. */
  hits: string[]
  /** Serve `page` at `path` from now on (any other path answers 404). */
  serve: (path: string, page: Page) => void
  close: () => Promise<void>
}

export async function startBeacon (): Promise<Beacon> {
  const pages = new Map<string, Page>()
  const hits: string[] = []
  const server = createServer((req, res) => {
    const path = req.url ?? ''
    hits.push(path)
    const page = pages.get(path)
    res.writeHead(page === undefined ? 404 : 200, page === undefined ? {} : { 'content-type': page.type })
    res.end(page?.body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const addr = server.address()
  if (addr === null || typeof addr !== 'object') throw new Error('beacon server has no TCP address')
  return {
    base: `http://127.0.0.1:${addr.port}`,
    hits,
    serve: (path, page) => { pages.set(path, page) },
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}

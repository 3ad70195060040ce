/**
 * Serving a key's content over HTTP (the gateway's pages and the API's download): content
 * headers, Range requests, site directories and the HTML filter.
 */
import { Readable } from 'node:stream'
import { GATEWAY_MAX_HTML_BYTES } from '../constants.js'
import { DEFAULT_MIME, mimeFor } from '../client/site-mime.js'
import { normalizeSitePath } from '../client/site.js'
import { NotFoundError } from '../protocol/errors.js'
import { parseHtl } from '../util/params.js'
import { listingPage } from './pages.js'
import type { TransferLog } from './transfers.js'
import { contentHeaders, filterHtml } from './security.js'
import { contentDisposition, fileNameOf } from './paths.js'
import type { WarrenClient } from '../client/client.js'
import type { OpenedContent } from '../client/open.js'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { GatewayNode } from './gateway.js'
import { streamedVia } from './via.js'
import type { ViaClients } from './via.js'

export function statusOf (err: unknown): number {
  if (err instanceof NotFoundError) return 404
  const s = (err as { statusCode?: unknown }).statusCode
  return typeof s === 'number' && s >= 400 && s < 600 ? s : 500
}

/** A single `bytes=` range of a `size`-byte body: [start, end), 'unsatisfiable', or undefined (serve it all). */
export function parseRange (header: string | undefined, size: number): { start: number, end: number } | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header)
  if (m === null || (m[1] === '' && m[2] === '')) return undefined
  if (m[1] === '') {
    const n = Number(m[2])
    if (n === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - n), end: size }
  }
  const start = Number(m[1])
  const end = m[2] === '' ? size : Math.min(size, Number(m[2]) + 1)
  if (start >= size || end <= start) return 'unsatisfiable'
  return { start, end }
}

/**
 * Serve `uri` (a file, or a path in a site) with content headers and Range support.
 * `gatewayPath` is the key part of the request path when serving a gateway URL (so site
 * roots and directories can be redirected to a trailing slash, for relative links).
 */
export async function serveContent (node: Pick<GatewayNode, 'client'>, req: FastifyRequest, reply: FastifyReply, uri: string, gatewayPath?: { key: string, rest: string }, transfers?: TransferLog, via?: ViaClients): Promise<FastifyReply> {
  // Without a gateway path this is the API's download: the exact bytes, as an attachment
  // (never rendered, so never filtered).
  const download = gatewayPath === undefined
  const htl = parseHtl((req.query as Record<string, string | undefined>).htl)
  // A reader who goes away cancels the block requests still in flight for it.
  const gone = new AbortController()
  reply.raw.once('close', () => { if (!reply.raw.writableFinished) gone.abort(new Error('the HTTP client went away')) })
  // Through a trusted peer, what the path means is found on its blocks, and the bytes come in bulk from it.
  const opened = await openNamed(via?.client ?? node.client, uri, { htl, signal: gone.signal })
  const { fileName } = opened
  const file = via === undefined ? opened.file : streamedVia(via, opened.uri, opened.file, { htl, signal: gone.signal })
  if (gatewayPath !== undefined && file.site !== undefined) {
    // Relative links resolve against the directory: a site root or a directory served by
    // its index must end with "/". Under a signed key the site path follows "//" (the
    // document name comes first: src/keys/ssk-uri.ts).
    const signed = !gatewayPath.key.toUpperCase().startsWith('CHK@')
    const sep = gatewayPath.rest.indexOf('//')
    if (signed && sep < 0) return await reply.redirect(`/${gatewayPath.key}${gatewayPath.rest}//`, 301)
    const sitePath = signed ? gatewayPath.rest.slice(sep + 2) : gatewayPath.rest
    const isIndex = file.listing !== undefined || normalizeSitePath(sitePath) !== file.site.path
    if (isIndex && sitePath !== '' && !sitePath.endsWith('/')) {
      return await reply.redirect(`/${gatewayPath.key}${gatewayPath.rest}/`, 301)
    }
    if (isIndex && !signed && sitePath === '') {
      return await reply.redirect(`/${gatewayPath.key}/`, 301)
    }
    if (file.listing !== undefined) {
      return await contentHeaders(reply).type('text/html; charset=utf-8').send(listingPage(file.site.uri, file.site.path, file.listing))
    }
  }
  const name = fileName ?? fileNameOf(file.site?.path ?? '')
  // A name the reader chose (CHK@…/report.pdf) types a file stored without one.
  let mime = file.mime !== '' && !(fileName !== undefined && file.mime === DEFAULT_MIME) ? file.mime : (name !== '' ? mimeFor(name) : DEFAULT_MIME)
  contentHeaders(reply)
  if (download || name !== '') void reply.header('content-disposition', contentDisposition(download ? 'attachment' : 'inline', name))
  // The type comes from the network: judge its essence (trimmed, lower-case), and treat
  // anything HTML- or XML-like as markup, so " text/html" or XHTML sent as application/xml
  // cannot slip past the filter.
  const essence = mime.split(';')[0].trim().toLowerCase()
  mime = essence + mime.slice(mime.indexOf(';') < 0 ? mime.length : mime.indexOf(';'))
  const isMarkup = !download && /html|xml/.test(essence)
  if (isMarkup) {
    if (file.size > GATEWAY_MAX_HTML_BYTES) {
      mime = 'text/plain; charset=utf-8'
    } else {
      const parts: Uint8Array[] = []
      for await (const c of file.stream()) parts.push(c)
      const { html } = filterHtml(Buffer.concat(parts).toString('utf8'))
      const body = Buffer.from(html, 'utf8')
      return await reply.type(mime).header('content-length', String(body.length)).send(body)
    }
  }
  void reply.header('accept-ranges', 'bytes').type(mime)
  const range = parseRange(req.headers.range, file.size)
  if (range === 'unsatisfiable') {
    return await reply.code(416).header('content-range', `bytes */${file.size}`).type('application/json')
      .send({ error: `range "${req.headers.range ?? ''}" is outside the ${file.size}-byte file`, statusCode: 416 })
  }
  if (range !== undefined) {
    void reply.code(206).header('content-range', `bytes ${range.start}-${range.end - 1}/${file.size}`)
  }
  const { start, end } = range ?? { start: 0, end: file.size }
  void reply.header('content-length', String(end - start))
  // Downloads (the API's, and files outside sites on the gateway) go on the transfers page.
  if (transfers !== undefined && req.method === 'GET' && (download || file.site === undefined)) {
    const record = transfers.start('download', name !== '' ? name : uri.replace(/^warren:/, ''), end - start)
    let got = 0
    reply.raw.once('finish', () => { record.done(uri) })
    // After 'finish' this changes nothing (a record is finished once).
    reply.raw.once('close', () => { record.fail(new Error(`cancelled after ${got} of ${end - start} bytes`)) })
    const source = file.stream({ start, end })
    return await reply.send(Readable.from((async function * () {
      for await (const chunk of source) {
        got += chunk.length
        record.bytes(got)
        yield chunk
      }
    })()))
  }
  if (req.method === 'HEAD') {
    // Fastify's HEAD handling would write content-length 0 for an empty body, or read a whole
    // stream to count it: answer the headers ourselves, with the real length, and no body.
    reply.hijack()
    reply.raw.writeHead(reply.statusCode, reply.getHeaders() as Record<string, string>)
    reply.raw.end()
    return reply
  }
  return await reply.send(Readable.from(file.stream({ start, end })))
}

/**
 * Open `uri`; a CHK of a plain file followed by a name (`CHK@…/report.pdf`, as fred writes them)
 * opens the file, and the name is returned for the download name and type.
 */
async function openNamed (client: Pick<WarrenClient, 'open'>, uri: string, options: { htl?: number, signal: AbortSignal }): Promise<{ file: OpenedContent, uri: string, fileName?: string }> {
  try {
    return { file: await client.open(uri, options), uri }
  } catch (err) {
    const m = /^(warren:CHK@[^/]+)\/([^/]+)\/?$/i.exec(uri)
    if (m === null || statusOf(err) !== 404) throw err
    const bare = await client.open(m[1], options).catch(() => undefined)
    if (bare === undefined || bare.site !== undefined) throw err
    return { file: bare, uri: m[1], fileName: fileNameOf(m[2]) }
  }
}


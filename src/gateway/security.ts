/**
 * What keeps content from the network from hurting its reader (docs/gateway.md).
 *
 * Content is hostile: a page that makes the browser fetch anything from outside warren
 * tells that server the reader's IP address, and a page that could run script on the
 * gateway's origin could drive the node's API (insert, read the node page). So every piece
 * of content is served with:
 *  - a Content-Security-Policy that allows loads from the gateway only (no script at all,
 *    no connect, no forms, no plugins) plus `sandbox` without allow-scripts, so no script
 *    runs even if a policy directive were bypassed, and no forms, popups or plugins;
 *  - no cookies ever, Referrer-Policy no-referrer, DNS prefetching off, nosniff, and
 *    cross-origin isolation headers;
 * and HTML is filtered, for what CSP cannot stop: `<meta http-equiv=refresh>` and links
 * that navigate to the outside. Absolute URLs in attributes are rewritten to a gateway
 * warning page; scripts, event handlers, `<base>`, `ping` and other http-equiv metas are
 * dropped. The policy is the real barrier; the filter is defence in depth plus navigation.
 */
import type { FastifyReply } from 'fastify'

/** Policy for content from the network. */
export const CONTENT_CSP = [
  "default-src 'none'",
  "img-src 'self' data:",
  "media-src 'self' data:",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "frame-src 'self'",
  "child-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'self'",
  // No allow-scripts: nothing runs. allow-same-origin only keeps the gateway origin so the
  // page's own images and styles are same-origin loads (never combined with scripts).
  'sandbox allow-same-origin allow-downloads'
].join('; ')

/** Policy for the gateway's own pages (home, node page): its own script and API only. */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'"
].join('; ')

const COMMON_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-dns-prefetch-control': 'off',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), usb=(), payment=(), interest-cohort=()'
}

export function contentHeaders (reply: FastifyReply): FastifyReply {
  return reply.headers({ ...COMMON_HEADERS, 'content-security-policy': CONTENT_CSP, 'cache-control': 'private, max-age=3600' })
}

export function pageHeaders (reply: FastifyReply): FastifyReply {
  return reply.headers({ ...COMMON_HEADERS, 'content-security-policy': PAGE_CSP, 'x-frame-options': 'DENY', 'cache-control': 'no-store' })
}

/** Where filtered-out external links point instead. */
export const EXTERNAL_LINK_PAGE = '/_/external'

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", colon: ':', sol: '/', tab: '\t', newline: '\n', period: '.', num: '#', nbsp: ' ' }

/** Decode character references the way a browser does in an attribute value (enough to judge a URL). */
export function decodeEntities (s: string): string | undefined {
  let unknown = false
  const out = s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z][a-z0-9]*);?/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)
      return code > 0 && code < 0x110000 ? String.fromCodePoint(code) : ''
    }
    const v = NAMED[e.toLowerCase()]
    if (v === undefined) unknown = true
    return v ?? m
  })
  return unknown ? undefined : out
}

/**
 * Whether an attribute URL stays on the gateway: a relative reference (path, query or
 * fragment) with no scheme and no authority. `allowData` also admits data: URLs (images).
 */
export function isLocalUrl (raw: string, allowData = false): boolean {
  const decoded = decodeEntities(raw)
  if (decoded === undefined) return false
  // Browsers strip leading/trailing C0 controls and spaces, and tabs/newlines anywhere.
  // eslint-disable-next-line no-control-regex
  const v = decoded.replace(/[\t\n\r]/g, '').replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '')
  if (v.includes('\\')) return false
  if (v.startsWith('//')) return false
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(v)
  if (scheme !== null) return allowData && scheme[1].toLowerCase() === 'data' && /^data:(image|audio|video|font)\//i.test(v)
  return true
}

const URL_ATTRS = new Set(['href', 'src', 'action', 'formaction', 'poster', 'background', 'cite', 'data', 'xlink:href',
  'manifest', 'longdesc', 'lowsrc', 'dynsrc', 'codebase', 'archive', 'usemap', 'icon', 'profile', 'classid'])
/** Attributes that load (not navigate): data: images are fine there. */
const LOAD_ATTRS = new Set(['src', 'poster', 'background', 'lowsrc', 'dynsrc', 'data'])
const DROP_ATTRS = new Set(['ping', 'srcdoc', 'integrity', 'nonce'])
const DROP_ELEMENTS = new Set(['script', 'noscript', 'object', 'embed', 'applet', 'base', 'portal'])
const ATTR_RE = /([^\s"'>/=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+))?/g
// Attributes may be separated by "/" as well as spaces (`<a/href=...>` is a link to browsers).
const TAG_RE = /<!--[\s\S]*?-->|<(\/?)([a-zA-Z][a-zA-Z0-9:-]*)((?:[\s/]+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?)*)[\s/]*>/g

function escapeAttr (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

export interface FilterReport {
  /** Attributes rewritten to the external-link page. */
  rewritten: number
  /** Elements and attributes removed. */
  removed: number
}

/**
 * Filter an HTML document: rewrite links that leave the gateway, drop script and
 * auto-navigation. Works on the token level (tags and attributes), not a full parse: what
 * it does not recognise it leaves to the Content-Security-Policy, which blocks loads anyway.
 */
export function filterHtml (html: string): { html: string, report: FilterReport } {
  const report: FilterReport = { rewritten: 0, removed: 0 }
  // Elements dropped with their content (an unclosed one takes the rest of the document).
  const stripped = html.replace(/<(script|noscript|object|applet|portal|template)\b[\s\S]*?(?:<\/\1\s*>|$)/gi, () => {
    report.removed++
    return ''
  })
  const out = stripped.replace(TAG_RE, (tag, close: string, rawName: string, attrs: string) => {
    if (tag.startsWith('<!--')) return ''
    const name = rawName.toLowerCase()
    if (DROP_ELEMENTS.has(name)) {
      report.removed++
      return ''
    }
    if (close === '/') return `</${name}>`
    const kept: string[] = []
    let httpEquiv = false
    for (const m of (attrs ?? '').matchAll(ATTR_RE)) {
      const attr = m[1].toLowerCase()
      let value = m[2] ?? ''
      if (value.startsWith('"') || value.startsWith("'")) value = value.slice(1, -1)
      if (attr.startsWith('on') || DROP_ATTRS.has(attr)) { report.removed++; continue }
      if (name === 'meta' && attr === 'http-equiv') httpEquiv = true
      if (attr === 'srcset' || attr === 'imagesrcset') {
        if (!value.split(',').every((c) => isLocalUrl(c.trim().split(/\s+/)[0] ?? '', true))) { report.removed++; continue }
      } else if (URL_ATTRS.has(attr) && !isLocalUrl(value, LOAD_ATTRS.has(attr))) {
        report.rewritten++
        value = `${EXTERNAL_LINK_PAGE}?url=${encodeURIComponent(decodeEntities(value) ?? value)}`
      } else if (attr === 'style' && /url\s*\(|@import|expression\s*\(/i.test(decodeEntities(value) ?? 'url(')) {
        report.removed++
        continue
      }
      kept.push(m[2] === undefined ? attr : `${attr}="${escapeAttr(decodeEntities(value) ?? value)}"`)
    }
    // <meta http-equiv> can refresh (navigate away), set cookies or policies: drop them all.
    if (httpEquiv) { report.removed++; return '' }
    if (name === 'link' && kept.some((a) => /^rel="[^"]*\b(dns-prefetch|preconnect|prefetch|prerender|preload|modulepreload)\b/i.test(a))) {
      report.removed++
      return ''
    }
    return `<${name}${kept.length > 0 ? ' ' + kept.join(' ') : ''}>`
  })
  return { html: out, report }
}

/** Escape text for HTML element content and attribute values. */
export function escapeHtml (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')
}

/**
 * Static assets of the gateway's own pages, served from /_/ under PAGE_CSP. Kept as
 * strings so `tsc` ships them with the code (no copy step) and they are served from memory.
 * Plain browser JavaScript: no build, no external libraries, no inline handlers.
 */

export const STYLE_CSS = `
:root { color-scheme: light dark; --accent: #3a7d44; --muted: #777; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, sans-serif; }
header { display: flex; gap: 2em; align-items: baseline; padding: .6em 1.5em; border-bottom: 1px solid #8884; }
header .brand { font-weight: bold; font-size: 1.2em; color: var(--accent); text-decoration: none; }
nav a { margin-right: 1.2em; }
main { max-width: 60em; padding: 1em 1.5em 3em; }
section { margin: 1.5em 0; }
input:not([type=file]) { font: inherit; padding: .3em .5em; }
#key { width: min(40em, 100%); font-family: ui-monospace, monospace; }
button { font: inherit; padding: .3em 1em; }
progress { width: min(40em, 100%); height: 1.2em; }
code { font-family: ui-monospace, monospace; word-break: break-all; }
.error { color: #c33; }
.hint { color: var(--muted); font-size: .9em; }
table { border-collapse: collapse; }
th, td { text-align: left; padding: .2em .8em .2em 0; border-bottom: 1px solid #8882; }
td code { font-size: .85em; }
dl.grid { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1.5em; }
dt { color: var(--muted); }
dd { margin: 0; }
svg text { font: 11px system-ui, sans-serif; fill: currentColor; }
table.settings th { vertical-align: top; padding-top: .5em; }
table.settings textarea { font-family: ui-monospace, monospace; width: min(40em, 100%); }
`

/** Home page: upload with live progress (bytes sent, and the blocks the node inserted, streamed back), fetch by key. */
export const HOME_JS = `
'use strict'
const $ = (id) => document.getElementById(id)
const fmt = (n) => { const u = ['B', 'KiB', 'MiB', 'GiB']; let i = 0; while (n >= 1024 && i < 3) { n /= 1024; i++ } return n.toFixed(i ? 1 : 0) + ' ' + u[i] }
const gatewayPath = (uri) => '/' + uri.replace(/^warren:/i, '')

function showError (msg) { $('error').textContent = msg; $('error').hidden = false }
function progress (done, total, started, label) {
  const secs = (performance.now() - started) / 1000
  const rate = secs > 0 ? done / secs : 0
  const eta = rate > 0 && total > done ? Math.ceil((total - done) / rate) + ' s left' : ''
  $('progress').hidden = false
  $('bar').max = Math.max(total, 1)
  $('bar').value = done
  $('progress-text').textContent = label + ': ' + fmt(done) + ' of ' + fmt(total) + ' (' + fmt(rate) + '/s) ' + eta
}

/** Parsed complete NDJSON lines of a response so far (a last partial line is left for later). */
function lines (text) {
  const all = text.split('\\n')
  all.pop()
  return all.filter((l) => l !== '').map((l) => JSON.parse(l))
}

/**
 * POST one file to the API; resolves with its result. The node streams its progress back
 * (Accept: application/x-ndjson): onBlocks(n) as it inserts the file's blocks.
 */
function upload (file, onProgress, onBlocks, target) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    const q = '?name=' + encodeURIComponent(file.name) + (file.type ? '&mime=' + encodeURIComponent(file.type) : '')
    xhr.open('POST', '/api/v1/put' + q)
    xhr.setRequestHeader('content-type', 'application/octet-stream')
    xhr.setRequestHeader('accept', 'application/x-ndjson')
    for (const [k, v] of Object.entries(target || {})) xhr.setRequestHeader(k, v)
    xhr.upload.onprogress = (e) => onProgress(e.loaded)
    let seen = 0
    xhr.onprogress = () => {
      if (xhr.status !== 200) return
      const msgs = lines(xhr.responseText)
      for (const m of msgs.slice(seen)) if (m.type === 'warren:insert:block') onBlocks(m.detail.blocks)
      seen = msgs.length
    }
    xhr.onload = () => {
      if (xhr.status === 200 && (xhr.getResponseHeader('content-type') || '').startsWith('application/x-ndjson')) {
        const last = lines(xhr.responseText + '\\n').pop()
        if (last && last.type === 'result') resolve(last.result)
        else reject(new Error((last && last.error) || 'the node ended the upload without a result (did it stop?)'))
        return
      }
      let body
      try { body = JSON.parse(xhr.responseText) } catch { body = { error: xhr.responseText } }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body)
      else reject(new Error(body.error || ('HTTP ' + xhr.status)))
    }
    xhr.onerror = () => reject(new Error('the upload failed (is the node still running?)'))
    xhr.send(file)
  })
}

/** Headers naming the key to publish under (the insert URI never goes in a URL), or undefined for a plain CHK. */
function signedTarget () {
  const kind = $('target-kind').value
  const value = $('target').value.trim()
  if (kind === '') return undefined
  if (value === '') throw new Error('name the key to publish under (an insert URI with a name, or a keyword)')
  return { ['x-warren-' + kind]: value }
}

/** Show the inserted key; \`alone\`: no other node took a block of it (the result's minStored 1). */
function done (uri, href, alone) {
  $('result').hidden = false
  $('result-alone').hidden = alone !== true
  $('result-uri').textContent = uri
  $('result-link').href = href
  $('result-link').textContent = 'open ' + href.slice(0, 40) + '…'
}

$('file-form').addEventListener('submit', async (e) => {
  e.preventDefault()
  $('error').hidden = true
  const file = $('file').files[0]
  if (!file) return
  const started = performance.now()
  try {
    let sent = 0
    let blocks = 0
    const show = () => progress(sent, file.size, started, 'uploading ' + file.name + (blocks > 0 ? ', ' + blocks + ' blocks inserted' : ''))
    const r = await upload(file, (n) => { sent = n; show() }, (n) => { blocks = n; show() }, signedTarget())
    progress(file.size, file.size, started, 'inserted ' + r.blocks + ' blocks')
    const uri = r.namedUri || r.uri
    done(uri, gatewayPath(uri), r.minStored === 1)
  } catch (err) { showError(err.message) }
})

$('site-form').addEventListener('submit', async (e) => {
  e.preventDefault()
  $('error').hidden = true
  const files = [...$('folder').files]
  if (files.length === 0) return
  const total = files.reduce((n, f) => n + f.size, 0)
  const started = performance.now()
  let sent = 0
  const entries = []
  try {
    for (const f of files) {
      const rel = (f.webkitRelativePath || f.name).split('/')
      const path = rel.length > 1 ? rel.slice(1).join('/') : rel[0]
      let now = 0
      let blocks = 0
      const show = () => progress(sent + now, total, started, 'uploading ' + path + (blocks > 0 ? ', ' + blocks + ' blocks inserted' : ''))
      const r = await upload(f, (n) => { now = n; show() }, (n) => { blocks = n; show() })
      sent += f.size
      entries.push({ path, uri: r.uri, mime: f.type || '', size: f.size })
    }
    const res = await fetch('/api/v1/site', { method: 'POST', headers: { 'content-type': 'application/json', ...(signedTarget() || {}) }, body: JSON.stringify({ entries, index: $('index').value }) })
    const body = await res.json()
    if (!res.ok) throw new Error(body.error || ('HTTP ' + res.status))
    progress(total, total, started, 'site of ' + entries.length + ' files inserted')
    done(body.uri, gatewayPath(body.uri) + (body.target === undefined ? '/' : ''))
  } catch (err) { showError(err.message) }
})
`

/** Node page: polls the JSON API and draws the key spread and request stats. */
export const NODE_JS = `
'use strict'
const $ = (id) => document.getElementById(id)
const SVG = 'http://www.w3.org/2000/svg'
const fmt = (n) => { const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB']; let i = 0; while (n >= 1024 && i < 4) { n /= 1024; i++ } return n.toFixed(i ? 1 : 0) + ' ' + u[i] }

function el (name, attrs, text) {
  const e = document.createElementNS(SVG, name)
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v))
  if (text !== undefined) e.textContent = text
  return e
}

function bars (svg, values, labels, height) {
  svg.replaceChildren()
  const w = 640 / values.length
  const max = Math.max(1, ...values)
  values.forEach((v, i) => {
    const h = Math.round((v / max) * (height - 30))
    const bar = el('rect', { x: i * w + 2, y: height - 18 - h, width: w - 4, height: h, fill: '#3a7d44' })
    bar.appendChild(el('title', {}, labels[i] + ': ' + v))
    svg.appendChild(bar)
    svg.appendChild(el('text', { x: i * w + w / 2, y: height - 4, 'text-anchor': 'middle' }, labels[i]))
    if (v > 0) svg.appendChild(el('text', { x: i * w + w / 2, y: height - 22 - h, 'text-anchor': 'middle' }, String(v)))
  })
}

function row (tbody, cells) {
  const tr = document.createElement('tr')
  for (const c of cells) { const td = document.createElement('td'); td.textContent = c; tr.appendChild(td) }
  tbody.appendChild(tr)
}

function rate (s, f) { return s + f > 0 ? (100 * s / (s + f)).toFixed(0) + ' %' : '-' }

async function refresh () {
  try {
    const [status, recent, peers] = await Promise.all(['/api/v1/status', '/api/v1/stats/recent', '/api/v1/peers'].map((u) => fetch(u).then((r) => r.json())))
    const dl = $('summary')
    dl.replaceChildren()
    const an = status.announcement
    const location = an === null ? (status.peers === 0 ? 'none yet: a node announces itself through a bootstrap peer once connected' : 'none yet: this node announces itself through its bootstrap peers (a seed node started without -b never does; it takes its place as others join)') : an.key.slice(0, 16) + '… (' + an.participants + ' nodes on its walk' + (an.restored ? ', kept from an earlier run' : '') + ')'
    const h = status.healing
    const healing = h.healed + ' rebuilt blocks inserted again, ' + h.pending + ' pending, ' + h.failed + ' failed, ' + h.dropped + ' dropped'
    for (const [k, v] of [['peer ID', status.peerId], ['location', location], ['peers', status.peers + ' connected'], ['routing table', status.routingTable.size + ' / ' + status.routingTable.capacity + ' entries, ' + status.routingTable.peers + ' peers'], ['operations in progress', status.operations.active], ['healing', healing]]) {
      const dt = document.createElement('dt'); dt.textContent = k
      const dd = document.createElement('dd'); dd.textContent = String(v)
      dl.append(dt, dd)
    }
    const spread = status.routingTable.spread
    bars($('spread'), spread, spread.map((_, i) => '0x' + i.toString(16) + '…'), 160)
    $('store-fill').max = status.store.capacityBytes
    $('store-fill').value = status.store.usedBytes
    $('store-text').textContent = status.store.count + ' blocks, ' + fmt(status.store.usedBytes) + ' of ' + fmt(status.store.capacityBytes) + ' (' + (100 * status.store.usedBytes / status.store.capacityBytes).toFixed(1) + ' %)'
    const tb = $('recent').tBodies[0]
    tb.replaceChildren()
    const r = recent.requests
    const i = recent.inserts
    row(tb, ['requests (last ' + Math.round(recent.windowSeconds) + ' s)', r.success, r.failure, rate(r.success, r.failure), r.meanHops === null ? '-' : r.meanHops.toFixed(1)])
    row(tb, ['inserts (since start)', i.success + i.collision, i.failure, rate(i.success + i.collision, i.failure), '-'])
    const c = status.counters.local
    row(tb, ['requests (since start)', c.requests.success, c.requests.failure, rate(c.requests.success, c.requests.failure), c.requests.success > 0 ? (c.requests.hops / c.requests.success).toFixed(1) : '-'])
    $('recent-window').textContent = 'Hops per successful request, client fetches of the last ' + Math.round(recent.windowSeconds) + ' s:'
    bars($('hops'), recent.hopHistogram, recent.hopHistogram.map((_, i) => i === recent.hopHistogram.length - 1 ? i + '+' : String(i)), 120)
    const al = $('addresses')
    al.replaceChildren()
    for (const a of status.addresses) { const li = document.createElement('li'); const c = document.createElement('code'); c.textContent = a; li.appendChild(c); al.appendChild(li) }
    // One row per peer (a peer may hold several connections), so the count above matches.
    const byPeer = new Map()
    for (const p of peers) {
      const e = byPeer.get(p.peerId) || { dirs: new Set(), addrs: [] }
      e.dirs.add(p.direction); e.addrs.push(p.address); byPeer.set(p.peerId, e)
    }
    const pb = $('peers').tBodies[0]
    pb.replaceChildren()
    for (const [id, e] of byPeer) row(pb, [id, [...e.dirs].join(', '), e.addrs.join(' ')])
  } catch (err) {
    $('summary').textContent = 'cannot reach the node API: ' + err.message
  }
}
$('peer-form').addEventListener('submit', async (e) => {
  e.preventDefault()
  $('peer-result').textContent = 'connecting…'
  try {
    const res = await fetch('/api/v1/peers', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ address: $('peer-address').value.trim() }) })
    const body = await res.json()
    if (!res.ok) throw new Error(body.error || ('HTTP ' + res.status))
    $('peer-result').textContent = 'connected to ' + body.peerId
    refresh()
  } catch (err) { $('peer-result').textContent = 'could not connect: ' + err.message }
})
refresh()
setInterval(refresh, 2000)
`

/** The transfers page: this node's uploads and downloads, refreshed every second. */
export const TRANSFERS_JS = `
'use strict'
const $ = (id) => document.getElementById(id)
const fmt = (n) => { const u = ['B', 'KiB', 'MiB', 'GiB']; let i = 0; while (n >= 1024 && i < 3) { n /= 1024; i++ } return n.toFixed(i ? 1 : 0) + ' ' + u[i] }
const BLOCK = 32 * 1024

function cell (tr, child) { const td = document.createElement('td'); if (typeof child === 'string') td.textContent = child; else td.appendChild(child); tr.appendChild(td) }

async function refresh () {
  let list
  try { list = await (await fetch('/api/v1/transfers')).json() } catch { return }
  const tb = $('transfers').tBodies[0]
  tb.replaceChildren()
  $('transfers-empty').hidden = list.length > 0
  for (const t of list) {
    const tr = document.createElement('tr')
    tr.dataset.state = t.state
    cell(tr, t.kind === 'upload' ? 'upload' : 'download')
    cell(tr, t.name)
    const done = t.kind === 'upload' ? Math.min(t.blocks * BLOCK, t.size || 0) : t.bytes
    if (t.state === 'running') {
      const p = document.createElement('progress')
      p.max = Math.max(t.size || 1, 1)
      p.value = done
      const span = document.createElement('span')
      span.append(p, ' ' + (t.kind === 'upload' ? t.blocks + ' blocks' : fmt(done)) + (t.size ? ' of ' + fmt(t.size) : ''))
      cell(tr, span)
    } else cell(tr, t.state + (t.size !== undefined ? ', ' + fmt(t.size) : '') + (t.kind === 'upload' && t.blocks ? ', ' + t.blocks + ' blocks' : ''))
    if (t.uri) {
      const a = document.createElement('a')
      a.href = '/' + t.uri.replace(/^warren:/i, '')
      a.textContent = t.uri
      a.className = 'uri'
      cell(tr, a)
    } else cell(tr, t.error || '')
    tb.appendChild(tr)
  }
}
refresh()
setInterval(refresh, 1000)
`

/** The bookmarks page: each bookmark, resolved to what it leads to now. */
export const BOOKMARKS_JS = `
'use strict'
const $ = (id) => document.getElementById(id)
function cell (tr, child) { const td = document.createElement('td'); if (typeof child === 'string') td.textContent = child; else td.appendChild(child); tr.appendChild(td) }

async function refresh () {
  const list = await (await fetch('/api/v1/bookmarks')).json()
  const tb = $('bookmarks').tBodies[0]
  tb.replaceChildren()
  $('bookmarks-empty').hidden = list.length > 0
  for (const b of list) {
    const tr = document.createElement('tr')
    const a = document.createElement('a')
    a.href = b.path
    a.textContent = b.title
    a.className = 'bookmark'
    cell(tr, a)
    cell(tr, b.error ? 'not found now: ' + b.error : (b.edition !== undefined ? 'edition ' + b.edition : 'found'))
    const form = document.createElement('form')
    form.method = 'post'
    form.action = '/bookmarks'
    for (const [k, v] of [['uri', b.uri], ['remove', '1']]) { const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; form.appendChild(i) }
    const btn = document.createElement('button'); btn.type = 'submit'; btn.textContent = 'remove'; form.appendChild(btn)
    cell(tr, form)
    tb.appendChild(tr)
  }
}
refresh()
`

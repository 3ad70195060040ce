/**
 * The gateway's own HTML pages: home (fetch a key, upload a file or folder), node status,
 * site directory listings, the external-link warning and error pages. All markup is built
 * here with every interpolated value escaped; scripts and styles are separate files
 * (src/gateway/assets.ts) so the pages run under a CSP without 'unsafe-inline'.
 */
import { escapeHtml } from './security.js'
import type { SiteEntry } from '../client/site.js'
import type { Setting, SettingsView } from './settings.js'

function page (title: string, body: string, script?: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} - warren</title><link rel="stylesheet" href="/_/style.css"></head>
<body><header><a class="brand" href="/">warren</a><nav><a href="/">fetch &amp; upload</a><a href="/transfers">uploads &amp; downloads</a><a href="/bookmarks">bookmarks</a><a href="/node">node</a><a href="/settings">settings</a></nav></header>
<main>${body}</main>${script === undefined ? '' : `<script src="/_/${script}"></script>`}</body></html>
`
}

export function homePage (): string {
  return page('home', `
<h1>Anonymous storage</h1>
<section>
  <h2>Fetch a key</h2>
  <form id="fetch-form" method="post" action="/fetch">
    <input id="key" name="key" placeholder="warren:CHK@…, SSK@…, KSK@…, or a gateway link" required autocomplete="off" spellcheck="false">
    <button type="submit">Fetch</button>
  </form>
</section>
<section>
  <h2>Publish under a key</h2>
  <p class="hint">Uploads below go to a plain CHK unless you name a key here. An <em>insert URI</em> (<code>SSK-INSERT@…</code>) is secret: it is sent in the request body or headers, never in a link.</p>
  <form id="keygen-form" method="post" action="/keygen"><button type="submit">Create a signed key (SSK)</button></form>
  <p>
    <label>publish as <select id="target-kind">
      <option value="">a plain file or site (CHK)</option>
      <option value="update">the next edition of an updatable name (insert URI + name)</option>
      <option value="ssk">a signed document (insert URI + name)</option>
      <option value="ksk">a keyword (KSK: anyone who knows the word can read it)</option>
    </select></label>
    <input id="target" type="password" placeholder="warren:SSK-INSERT@…/mysite, or a keyword" autocomplete="off" spellcheck="false">
  </p>
</section>
<section>
  <h2>Upload a file</h2>
  <form id="file-form">
    <input id="file" type="file" required>
    <button type="submit">Upload</button>
  </form>
</section>
<section>
  <h2>Upload a folder as a site</h2>
  <form id="site-form">
    <input id="folder" type="file" webkitdirectory multiple required>
    <label>index file <input id="index" value="index.html"></label>
    <button type="submit">Upload site</button>
  </form>
</section>
<section id="progress" hidden>
  <progress id="bar" max="1" value="0"></progress>
  <p id="progress-text"></p>
</section>
<section id="result" hidden>
  <h2>Inserted</h2>
  <p><code id="result-uri"></code></p>
  <p><a id="result-link" href="/">open it</a></p>
  <p id="result-alone" class="error" hidden>No other node took this file: only this node holds it, in its own cache, which other nodes never read. Has this node any peers? Connect to one and insert the file again.</p>
</section>
<p id="error" class="error" hidden></p>
`, 'home.js')
}

/** The page a new signed key is shown on (the answer to POST /keygen: the insert URI never enters a URL). */
export function keygenPage (k: { insertUri: string, requestUri: string }): string {
  return page('new signed key', `
<h1>A new signed subspace (SSK)</h1>
<dl class="grid">
<dt>insert URI (secret: whoever has it can publish here)</dt><dd><code id="insert-uri">${escapeHtml(k.insertUri)}</code></dd>
<dt>request URI (share it)</dt><dd><code id="request-uri">${escapeHtml(k.requestUri)}</code></dd>
</dl>
<p>Append a name to both, e.g. <code>${escapeHtml(k.insertUri)}mysite</code> to publish and <code>${escapeHtml(k.requestUri)}mysite</code> to read.
Keep the insert URI somewhere safe: this page is the only place it is shown, and the node does not keep it.</p>
<p><a href="/">Back to upload and publish</a></p>`)
}

export function bookmarksPage (): string {
  return page('bookmarks', `
<h1>Bookmarks</h1>
<p class="hint">Sites and files you follow, each with what it leads to now: an updatable site shows its newest edition.</p>
<table id="bookmarks"><thead><tr><th>title</th><th>now</th><th></th></tr></thead><tbody></tbody></table>
<p id="bookmarks-empty" class="hint" hidden>No bookmarks yet.</p>
<h2>Add a bookmark</h2>
<form id="bookmark-form" method="post" action="/bookmarks">
  <input id="bookmark-uri" name="uri" placeholder="warren:SSK@…/mysite" required autocomplete="off" spellcheck="false">
  <input id="bookmark-title" name="title" placeholder="title (optional)">
  <button type="submit">Add</button>
</form>
`, 'bookmarks.js')
}

export function transfersPage (): string {
  return page('uploads and downloads', `
<h1>Uploads and downloads</h1>
<p class="hint">This node's transfers, newest first, kept across restarts (transfers.json in the data dir).</p>
<table id="transfers"><thead><tr><th></th><th>name</th><th>progress</th><th>result</th></tr></thead><tbody></tbody></table>
<p id="transfers-empty" class="hint" hidden>Nothing yet: upload or fetch something from the home page.</p>
`, 'transfers.js')
}

export function nodePage (): string {
  return page('node', `
<h1>This node</h1>
<dl id="summary" class="grid"></dl>
<section>
  <h2>Connect</h2>
  <p class="hint">Other nodes join this one with <code>warren start -b &lt;address&gt;</code>, using an address below that they can reach:</p>
  <ul id="addresses"></ul>
  <form id="peer-form">
    <input id="peer-address" placeholder="/ip4/…/tcp/7400/p2p/12D3KooW…" required autocomplete="off" spellcheck="false">
    <button type="submit">Add peer</button>
  </form>
  <p id="peer-result" class="hint"></p>
</section>
<section>
  <h2>Routing table: key spread</h2>
  <p class="hint">Where on the key circle (0x0… to 0xf…) this node's routing-table entries point: the peaks are the key regions this node specialises in.</p>
  <svg id="spread" viewBox="0 0 640 160" width="640" height="160" role="img" aria-label="key spread chart"></svg>
</section>
<section>
  <h2>Store</h2>
  <progress id="store-fill" max="1" value="0"></progress>
  <p id="store-text"></p>
</section>
<section>
  <h2>Recent requests</h2>
  <table id="recent"><thead><tr><th></th><th>succeeded</th><th>failed</th><th>success rate</th><th>mean hops</th></tr></thead><tbody></tbody></table>
  <p class="hint" id="recent-window"></p>
  <svg id="hops" viewBox="0 0 640 120" width="640" height="120" role="img" aria-label="hops per request chart"></svg>
</section>
<section>
  <h2>Peers</h2>
  <table id="peers"><thead><tr><th>peer</th><th>direction</th><th>addresses</th></tr></thead><tbody></tbody></table>
</section>
`, 'node.js')
}

export function listingPage (siteUri: string, path: string, items: Array<{ name: string, dir: boolean, entry?: SiteEntry }>): string {
  const rows = items.map((i) => {
    const href = encodeURIComponent(i.name) + (i.dir ? '/' : '')
    const size = i.entry === undefined ? '' : String(i.entry.size)
    return `<tr><td><a href="${escapeHtml(href)}">${escapeHtml(i.name)}${i.dir ? '/' : ''}</a></td><td>${escapeHtml(i.entry?.mime ?? '')}</td><td>${size}</td></tr>`
  }).join('\n')
  return page(`/${path}`, `
<h1>Index of /${escapeHtml(path)}</h1>
<p class="hint"><code>${escapeHtml(siteUri)}</code></p>
<table><thead><tr><th>name</th><th>type</th><th>bytes</th></tr></thead><tbody>
${path === '' ? '' : '<tr><td><a href="../">../</a></td><td></td><td></td></tr>'}
${rows}
</tbody></table>`)
}

export function externalLinkPage (url: string): string {
  return page('external link', `
<h1>This link leaves warren</h1>
<p>The page you came from links to an address outside warren:</p>
<p><code class="external">${escapeHtml(url)}</code></p>
<p>Opening it would connect your browser to that server directly, revealing your IP address to it and to anyone watching. The gateway does not follow it; copy it yourself only if you accept that.</p>
<p><a href="/">Back to the gateway</a></p>`)
}

export function errorPage (status: number, message: string, suggestion?: { href: string, text: string }): string {
  return page(`error ${status}`, `
<h1>${status === 404 ? 'Not found' : `Error ${status}`}</h1>
<p class="error">${escapeHtml(message)}</p>
${suggestion === undefined ? '' : `<p>Did you mean <a id="suggestion" href="${escapeHtml(suggestion.href)}">${escapeHtml(suggestion.text)}</a>?</p>
`}<p><a href="/">Try another key</a></p>`)
}

/**
 * Asked before fetching a key that another site sent the browser to (src/gateway/security.ts
 * foreignNavigation): the link repeats the request from the gateway's own page, so it counts as
 * the reader's. `path` is the gateway path asked for (it starts with "/", never "//").
 */
export function confirmFetchPage (path: string, key: string, from: string): string {
  return page('fetch this key?', `
<h1>Fetch this key?</h1>
<p>A page on <code id="from">${escapeHtml(from)}</code> sent your browser here, asking this node to fetch:</p>
<p><code id="asked">${escapeHtml(key)}</code></p>
<p>Another site can choose any key and learn nothing from the answer, but it can make your node request keys it picked, and it may be hoping you open this one. Fetch it only if you meant to.</p>
<p><a id="confirm" class="button" href="${escapeHtml(path)}">Fetch it</a> <a href="/">No, go to the gateway</a></p>`)
}

/**
 * The settings form (src/gateway/settings.ts): each setting with its value in config.json, the
 * value the node runs with when that differs, and after a save which ones changed (each takes
 * effect at the next start). On a refused save, what was typed stays in the form.
 */
export function settingsPage (settings: Setting[], view: SettingsView, outcome: { saved?: string[], error?: string, typed?: URLSearchParams } = {}): string {
  const field = (s: Setting): string => {
    const value = outcome.typed?.get(s.name) ?? (outcome.typed !== undefined && s.input === 'checkbox' ? '' : view.values[s.name].saved)
    const id = `setting-${s.name}`
    const attrs = `id="${id}" name="${s.name}"`
    switch (s.input) {
      case 'lines': return `<textarea ${attrs} rows="3" cols="70" spellcheck="false">${escapeHtml(value)}</textarea>`
      case 'checkbox': return `<input type="checkbox" ${attrs}${value === 'on' ? ' checked' : ''}>`
      case 'select': return `<select ${attrs}>${(s.options ?? []).map((o) => `<option${o === value ? ' selected' : ''}>${escapeHtml(o)}</option>`).join('')}</select>`
      default: return `<input ${attrs} value="${escapeHtml(value)}" spellcheck="false"${s.input === 'number' ? ' inputmode="numeric"' : ''}>`
    }
  }
  const rows = settings.map((s) => {
    const running = view.values[s.name].running
    return `<tr><th><label for="setting-${s.name}">${escapeHtml(s.label)}</label></th><td>${field(s)}
<p class="hint">${escapeHtml(s.help)}. Takes effect at the next start.${running === undefined ? '' : ` <span class="running" id="running-${s.name}">Running now with <code>${escapeHtml(running)}</code> (a flag or WARREN_* variable given at start wins over the file).</span>`}</p></td></tr>`
  }).join('\n')
  const saved = outcome.saved === undefined
    ? ''
    : outcome.saved.length === 0
      ? '<p id="saved" class="hint">Nothing changed.</p>'
      : `<p id="saved">Saved ${outcome.saved.map((l) => `<strong>${escapeHtml(l)}</strong>`).join(', ')} to <code>${escapeHtml(view.file)}</code>. <strong id="restart">Restart the node for ${outcome.saved.length === 1 ? 'it' : 'them'} to take effect</strong> (Ctrl-C and <code>warren start</code> again, or <code>systemctl restart warren</code>).</p>`
  return page('settings', `
<h1>Settings</h1>
<p class="hint">Kept in <code>${escapeHtml(view.file)}</code>, checked as <code>warren start</code> checks them. None changes in the running node: each takes effect at the next start.</p>
${saved}${outcome.error === undefined ? '' : `<p id="settings-error" class="error">${escapeHtml(outcome.error)}</p>`}
<form id="settings-form" method="post" action="/settings">
<table class="settings">${rows}</table>
<p><button type="submit">Save</button></p>
</form>`)
}

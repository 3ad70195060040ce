/**
 * The gateway through a trusted peer (its `via` setting, config gatewayVia; issue 13, item 3).
 * What a page needs besides a file's bytes - signed-key lookups, updatable editions (the
 * bookmarks' check for new ones), site manifests, directory listings - is resolved here, on
 * clients whose block network is the trusted peer's (src/tunnel/blocks.ts: each block one
 * sealed BLOCK_REQUEST tunnel), so the same code as without the setting decides what a path
 * means and nothing is looked up directly. The file's content then comes in bulk through one
 * GET tunnel, which the trusted peer streams back sealed.
 */
import { KeyClient } from '../client/key-client.js'
import { WarrenClient } from '../client/client.js'
import { tunnelBlockNetwork } from '../tunnel/blocks.js'
import type { OpenedContent } from '../client/open.js'
import type { TunnelService } from '../tunnel/service.js'

/** A key client and a content client on the trusted peer's block network. */
export interface ViaClients {
  name: string
  keys: KeyClient
  client: WarrenClient
  tunnels: TunnelService
}

/**
 * The clients of trusted peer `name`, made on first use (a node's tunnels start with it).
 * HTL 0: the trusted peer's own default.
 */
export function viaClients (node: { readonly tunnels?: TunnelService }, name: string): () => ViaClients {
  let made: ViaClients | undefined
  return () => {
    if (made !== undefined) return made
    const tunnels = node.tunnels
    if (tunnels === undefined) throw new Error('this node has no tunnels: clear the gateway\'s trusted peer setting')
    const network = tunnelBlockNetwork(tunnels, name)
    const keys = new KeyClient({ network }, { htl: 0 })
    made = { name, keys, client: new WarrenClient({ network, resolve: keys.resolveToChk }, { htl: 0 }), tunnels }
    return made
  }
}

/**
 * `opened` (what `uri` is, found on the trusted peer's blocks) with its content fetched in
 * bulk by the trusted peer, on the first read, and streamed back sealed. Once, in order: a
 * range skips to its start. A directory listing has no content and is returned as it is.
 */
export function streamedVia (via: ViaClients, uri: string, opened: OpenedContent, options: { htl?: number, signal: AbortSignal }): OpenedContent {
  if (opened.listing !== undefined) return opened
  let read = false
  return {
    ...opened,
    stream: async function * (range) {
      if (read) throw new Error('content fetched through a trusted peer is read once')
      read = true
      const f = await via.tunnels.get(via.name, uri, options)
      if (f.size !== opened.size) throw new Error(`the trusted peer sent ${f.size} bytes for a ${opened.size}-byte file`)
      const start = range?.start ?? 0
      const end = range?.end ?? f.size
      let at = 0
      for await (const chunk of f.stream) {
        const from = Math.max(0, start - at)
        const to = Math.min(chunk.length, end - at)
        if (to > from) yield chunk.subarray(from, to)
        at += chunk.length
        if (at >= end) break
      }
    }
  }
}

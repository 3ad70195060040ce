/**
 * A node's tunnel state (issue 13): its rotating tunnel keys and their signed card, the cards
 * of the peers it trusts, and the replay cache of the requests it accepted as a trusted peer.
 * The protocol driver (./service.ts) and the API use it; the state lives in ./files.ts.
 */
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { CardError, openCard, signCard } from './card.js'
import { TunnelFiles } from './files.js'
import { ReplayCache } from './replay.js'
import type { Card } from './card.js'
import type { TunnelKey, TunnelKeyRing } from './key-ring.js'
import type { TrustBook, TrustedPeer } from './trust.js'
import type { PrivateKey } from '@libp2p/interface'

export interface TunnelStateComponents {
  /** The node's libp2p identity: it signs the card. */
  identity: PrivateKey
  dataDir: string
  /** The addresses the card advertises (the node's advertised multiaddrs). */
  addresses: () => string[]
  now?: () => number
}

export interface TunnelStateInit {
  keyLifetimeMs?: number
  keyGraceMs?: number
}

export class TunnelState {
  private readonly c: TunnelStateComponents
  private readonly init: TunnelStateInit
  private readonly files: TunnelFiles
  private readonly now: () => number
  readonly replay = new ReplayCache()
  private ring?: TunnelKeyRing
  private book?: TrustBook
  /** Key-ring changes and trust-book saves, one at a time. */
  private queue: Promise<unknown> = Promise.resolve()

  constructor (components: TunnelStateComponents, init: TunnelStateInit = {}) {
    this.c = components
    this.init = init
    this.files = new TunnelFiles(components.dataDir)
    this.now = components.now ?? Date.now
  }

  async start (): Promise<void> {
    this.ring = await this.files.loadKeyRing(this.init.keyLifetimeMs, this.init.keyGraceMs)
    this.book = await this.files.loadTrust()
    await this.currentKey()
    await this.files.loadReplay(this.replay, this.ring.epochs())
  }

  private serial<T> (fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn)
    this.queue = p.catch(() => {})
    return p
  }

  private get keys (): TunnelKeyRing {
    if (this.ring === undefined) throw new Error('the tunnel state is not started')
    return this.ring
  }

  get trust (): TrustBook {
    if (this.book === undefined) throw new Error('the tunnel state is not started')
    return this.book
  }

  /** The key to publish now (rotating it when its lifetime is over; saved before it is used). */
  async currentKey (): Promise<TunnelKey> {
    return await this.serial(async () => {
      const { key, changed } = await this.keys.current(this.now())
      if (changed) {
        await this.files.saveKeyRing(this.keys)
        for (const e of this.replay.retain(this.keys.epochs())) await this.files.dropReplay(e)
      }
      return key
    })
  }

  /** Replace the current key now (the old one stays usable for its grace period). */
  async rotate (): Promise<TunnelKey> {
    return await this.serial(async () => {
      const key = await this.keys.rotate(this.now())
      await this.files.saveKeyRing(this.keys)
      return key
    })
  }

  /** The private key of `epoch`, if it is still usable. */
  keyOf (epoch: bigint): TunnelKey | undefined {
    return this.keys.find(epoch, this.now())
  }

  /** This node's card: its current tunnel key, signed by its identity. */
  async card (): Promise<Card> {
    const key = await this.currentKey()
    return await signCard(this.c.identity, { tunnelKey: key.publicKey, keyEpoch: key.epoch, expires: this.keys.expiresOf(key), multiaddrs: this.c.addresses() })
  }

  /**
   * Record a request accepted under `epoch` (its encapsulated key `enc`): false for a replay.
   * Persisted before it returns true, so a replay after a restart is refused too.
   */
  async accept (epoch: bigint, enc: Uint8Array): Promise<boolean> {
    if (!this.replay.add(epoch, enc)) return false
    await this.files.appendReplay(epoch, enc)
    return true
  }

  async trustAdd (name: string, text: string): Promise<Card> {
    const card = await openCard(text, this.now())
    if (card.peerId === peerIdFromPrivateKey(this.c.identity).toString()) throw new CardError('this is this node\'s own card')
    this.trust.add(name, card)
    await this.serial(async () => { await this.files.saveTrust(this.trust) })
    return card
  }

  async trustRemove (name: string): Promise<void> {
    if (!this.trust.remove(name)) throw new CardError(`no trusted peer named "${name}"`)
    await this.serial(async () => { await this.files.saveTrust(this.trust) })
  }

  trustList (): TrustedPeer[] {
    return this.trust.list()
  }

  /** The card of trusted peer `name` (CardError when there is none). */
  trusted (name: string): Card {
    return this.trust.get(name)
  }

  /** A card the trusted peer `name` sent back through a tunnel: kept if it is a newer key of the same peer. */
  async refreshed (name: string, text: string): Promise<boolean> {
    const card = await openCard(text, this.now())
    if (!this.trust.refresh(name, card)) return false
    await this.serial(async () => { await this.files.saveTrust(this.trust) })
    return true
  }
}

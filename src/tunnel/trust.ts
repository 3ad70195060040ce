/**
 * The requester's trusted peers: names the user chose for verified cards (pure; the node
 * keeps them in trusted-peers.json through ./files.ts).
 */
import { CardError, isNewer, openCard } from './card.js'
import { TRUSTED_NAME } from './constants.js'
import type { Card } from './card.js'

export interface TrustedPeer {
  name: string
  card: Card
}

export class TrustBook {
  private readonly peers = new Map<string, Card>()

  /** Add (or replace) `name` with a verified card. */
  add (name: string, card: Card): void {
    if (!TRUSTED_NAME.test(name)) throw new CardError(`"${name}" is not a valid name: 1-32 letters, digits, dots, dashes or underscores`)
    for (const [n, c] of this.peers) {
      if (n !== name && c.peerId === card.peerId) throw new CardError(`this card's peer is already trusted as "${n}"; remove that name first`)
    }
    this.peers.set(name, card)
  }

  get (name: string): Card {
    const c = this.peers.get(name)
    if (c === undefined) throw new CardError(`no trusted peer named "${name}" (see \`warren trust list\`; add one with \`warren trust add CARD --name ${name}\`)`)
    return c
  }

  remove (name: string): boolean {
    return this.peers.delete(name)
  }

  list (): TrustedPeer[] {
    return [...this.peers].map(([name, card]) => ({ name, card })).sort((a, b) => a.name.localeCompare(b.name))
  }

  /**
   * A card the trusted peer sent back (sealed) through a tunnel to `name`: kept when it is a
   * newer key of the same peer. Returns true when the stored card changed.
   */
  refresh (name: string, next: Card): boolean {
    const current = this.get(name)
    if (!isNewer(current, next)) return false
    this.peers.set(name, next)
    return true
  }

  toJSON (): Array<{ name: string, card: string }> {
    return this.list().map((p) => ({ name: p.name, card: p.card.text }))
  }

  /** Rebuild from `toJSON` output, re-checking every signature (expired cards are kept: a refresh may revive them). */
  static async fromJSON (entries: unknown[]): Promise<TrustBook> {
    const book = new TrustBook()
    for (const e of entries as Array<{ name?: unknown, card?: unknown }>) {
      if (typeof e?.name !== 'string' || typeof e.card !== 'string') throw new CardError('trusted-peers.json holds an entry without a name and a card')
      book.add(e.name, await openCard(e.card, 0))
    }
    return book
  }
}

/**
 * Trusted-peer cards (issue 13, item 1): a node's current X25519 tunnel key and how to reach
 * it, in a libp2p signed envelope (@libp2p/peer-record) made with the node's Ed25519 identity.
 *
 * The seed ("Trusting SSL in a distributed environment"): the trusted peer's key "must be
 * obtained through a channel that ensures authenticity". The card is that key, signed by the
 * identity whose peer ID the user obtained out of band; the signature ties a rotating tunnel
 * key to the stable identity, so a newer card (higher key epoch) signed by the same peer
 * replaces an older one without the user adding it again. Converting the Ed25519 identity to
 * X25519 would work too but gives a key that can never rotate (../shared/notes/tunnel.md).
 *
 * Pure: no file or network I/O. Text form: `warren-card:` + base64url(envelope).
 */
import { peerIdFromMultihash, peerIdFromPublicKey } from '@libp2p/peer-id'
import { RecordEnvelope } from '@libp2p/peer-record'
import { multiaddr } from '@multiformats/multiaddr'
import * as Digest from 'multiformats/hashes/digest'
import { TunnelKeyRecord } from '../../proto/tunnel.js'
import type { PrivateKey, Record } from '@libp2p/interface'

/** Signature domain of a card (libp2p signed envelopes sign domain || payload type || payload). */
export const TUNNEL_CARD_DOMAIN = 'warren-tunnel-card'
/** Envelope payload type of a card ("wt" 1): not a registered multicodec, only ours. */
export const CARD_CODEC = new Uint8Array([0x77, 0x74, 0x01])
export const CARD_PREFIX = 'warren-card:'
/** Longest card text accepted (8 addresses of 256 bytes plus keys and signature fit in 4 KiB). */
export const MAX_CARD_CHARS = 4096
const MAX_CARD_ADDRS = 8
export const X25519_KEY_BYTES = 32

/** A card whose signature has been checked. */
export interface Card {
  /** The signer's peer ID (string form). */
  peerId: string
  tunnelKey: Uint8Array
  keyEpoch: bigint
  /** ms since the Unix epoch. */
  expires: number
  multiaddrs: string[]
  /** The card as text, exactly as signed (what `trust export` prints and `trust add` takes). */
  text: string
}

/** Why a card was refused: the user's words. */
export class CardError extends Error {
  readonly statusCode = 400
  constructor (message: string) {
    super(message)
    this.name = 'CardError'
  }
}

class KeyRecord implements Record {
  readonly domain = TUNNEL_CARD_DOMAIN
  readonly codec = CARD_CODEC
  constructor (private readonly r: TunnelKeyRecord) {}
  marshal (): Uint8Array {
    return TunnelKeyRecord.encode(this.r)
  }

  equals (other: Record): boolean {
    return Buffer.from(this.marshal()).equals(Buffer.from(other.marshal()))
  }
}

export interface CardContent {
  tunnelKey: Uint8Array
  keyEpoch: bigint
  expires: number
  multiaddrs: string[]
}

/** Sign a card for `identity` (the node's libp2p private key). */
export async function signCard (identity: PrivateKey, c: CardContent): Promise<Card> {
  if (c.tunnelKey.length !== X25519_KEY_BYTES) throw new Error(`a tunnel key is ${X25519_KEY_BYTES} bytes, got ${c.tunnelKey.length}`)
  const peerId = peerIdFromPublicKey(identity.publicKey)
  const record = new KeyRecord({
    peerId: peerId.toMultihash().bytes,
    tunnelKey: new Uint8Array(c.tunnelKey),
    keyEpoch: c.keyEpoch,
    expires: BigInt(c.expires),
    multiaddrs: c.multiaddrs.slice(0, MAX_CARD_ADDRS).map((a) => multiaddr(a).bytes)
  })
  const env = await RecordEnvelope.seal(record, identity)
  return await openCard(CARD_PREFIX + Buffer.from(env.marshal()).toString('base64url'), 0)
}

/**
 * Check a card's text: well formed, signed by the peer it names, with a 32-byte X25519 key,
 * not expired at `now` (pass 0 to skip the expiry check). Throws CardError saying what is wrong.
 */
export async function openCard (text: string, now: number): Promise<Card> {
  const t = text.trim()
  if (t.length > MAX_CARD_CHARS) throw new CardError(`the card is too long (${t.length} characters, at most ${MAX_CARD_CHARS})`)
  if (!t.startsWith(CARD_PREFIX)) throw new CardError(`not a warren card: it must start with ${CARD_PREFIX} (get one with \`warren trust export\` on the trusted node)`)
  const bytes = Buffer.from(t.slice(CARD_PREFIX.length), 'base64url')
  let env: RecordEnvelope
  try {
    env = await RecordEnvelope.openAndCertify(bytes, TUNNEL_CARD_DOMAIN)
  } catch {
    throw new CardError('the card\'s signature does not verify (damaged or forged card): ask its owner for a fresh one')
  }
  // One encoding per card: protobuf decoders overlook some wire-type bits, and a card that
  // reads the same under many spellings would defeat comparing cards by their text.
  if (!Buffer.from(env.marshal()).equals(bytes)) throw new CardError('the card is not in its canonical encoding (damaged?): ask its owner for a fresh one')
  if (!Buffer.from(env.payloadType).equals(Buffer.from(CARD_CODEC))) throw new CardError('the envelope is not a warren tunnel card')
  let r: TunnelKeyRecord
  try {
    r = TunnelKeyRecord.decode(env.payload)
  } catch {
    throw new CardError('the card\'s record could not be decoded')
  }
  if (!Buffer.from(TunnelKeyRecord.encode(r)).equals(Buffer.from(env.payload))) throw new CardError('the card\'s record is not in its canonical encoding')
  const signer = peerIdFromPublicKey(env.publicKey)
  let named: string
  try {
    named = peerIdFromMultihash(Digest.decode(r.peerId)).toString()
  } catch {
    throw new CardError('the card names no valid peer ID')
  }
  if (named !== signer.toString()) throw new CardError('the card names a different peer than the one that signed it')
  if (r.tunnelKey.length !== X25519_KEY_BYTES) throw new CardError(`the card's tunnel key is not an X25519 key (${r.tunnelKey.length} bytes)`)
  if (r.multiaddrs.length > MAX_CARD_ADDRS) throw new CardError(`the card lists more than ${MAX_CARD_ADDRS} addresses`)
  const expires = Number(r.expires)
  if (now > 0 && expires <= now) throw new CardError(`the card expired on ${new Date(expires).toISOString()}: ask its owner for a fresh one`)
  let multiaddrs: string[]
  try {
    multiaddrs = r.multiaddrs.map((a) => multiaddr(a).toString())
  } catch {
    throw new CardError('the card lists an address that is not a multiaddr')
  }
  return { peerId: signer.toString(), tunnelKey: new Uint8Array(r.tunnelKey), keyEpoch: r.keyEpoch, expires, multiaddrs, text: t }
}

/**
 * `next` replaces `current` when both are signed by the same peer and `next` has a newer key
 * epoch (a rotation). Throws CardError when `next` is somebody else's card.
 */
export function isNewer (current: Card, next: Card): boolean {
  if (next.peerId !== current.peerId) throw new CardError(`the card is signed by ${next.peerId}, not by the trusted peer ${current.peerId}`)
  return next.keyEpoch > current.keyEpoch
}

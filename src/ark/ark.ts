/**
 * Address-resolution keys (ARK): a node publishes its current multiaddrs under an SSK derived
 * from its libp2p identity, one numbered edition per change ("ark/0", "ark/1", ...). Anyone who
 * knows the node's peer ID knows its Ed25519 public key (Ed25519 peer IDs embed it), so can
 * compute the ARK's request key, find the newest edition and read the addresses:
 *
 *   subspace key pair = the node's identity key (signatures are domain-separated by
 *                        "warren-ssk-sig-v1", so they cannot be confused with libp2p's)
 *   crypto key        = HKDF-SHA-256(public key, salt "warren-ark-v1", info "crypto key", 32)
 *   document name     = "ark", editions "ark/<n>" (src/client/updatable.ts)
 *
 * Freenet 0.5 used `SSK@<node key>/<node address>`. The crypto key is public on purpose: the
 * addresses are meant for anyone who already knows the peer ID; nodes relaying the ARK without
 * the peer ID still see only hashes. Only the node itself can sign a new edition.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { hkdfSync } from 'node:crypto'
import { editionName } from '../client/updatable.js'
import { SSK_MAX_PAYLOAD, sskPubKeyHash, sskPublicKey, SskType } from '../keys/ssk.js'
import { decodeJsonRecord } from '../util/files.js'
import type { KeyClient } from '../client/key-client.js'
import type { SskInsertRef, SskRef } from '../keys/ssk.js'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { PeerId, PrivateKey } from '@libp2p/interface'

export const ARK_NAME = 'ark'
const ARK_SALT = 'warren-ark-v1'
const VERSION = 1
/** Addresses kept in one record (the rest are dropped; the record must fit one SSK block). */
export const ARK_MAX_ADDRS = 16

export interface ArkRecord {
  /** Multiaddrs without the /p2p/<id> suffix. */
  addrs: string[]
  /** Unix seconds at publication. */
  time: number
}

function arkCryptoKey (publicKey: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', publicKey, ARK_SALT, 'crypto key', 32))
}

/** The ARK's request reference, from the node's raw Ed25519 public key. */
export function arkRef (publicKey: Uint8Array): SskRef {
  return { pubKeyHash: sskPubKeyHash(publicKey), cryptoKey: arkCryptoKey(publicKey), name: ARK_NAME }
}

/** The ARK's request reference of a peer ID (Ed25519 peer IDs only: they embed the public key). */
export function arkRefOfPeer (peer: PeerId | string): SskRef {
  const id = typeof peer === 'string' ? peerIdFromString(peer) : peer
  if (id.type !== 'Ed25519' || id.publicKey === undefined) throw new Error(`no ARK for a ${id.type} peer ID (Ed25519 only)`)
  return arkRef(id.publicKey.raw)
}

/** The ARK's insert reference, from the node's libp2p private key. */
export function arkInsertRef (key: PrivateKey): SskInsertRef {
  if (key.type !== 'Ed25519') throw new Error(`ARKs need an Ed25519 identity, not ${key.type}`)
  const seed = key.raw.subarray(0, 32)
  const pub = sskPublicKey(seed)
  if (!Buffer.from(pub).equals(key.publicKey.raw)) throw new Error('unexpected Ed25519 private key layout')
  return { privateKey: seed, cryptoKey: arkCryptoKey(pub), name: ARK_NAME }
}

/** Strip /p2p/<id>, drop duplicates and keep as many as fit. */
export function arkAddrs (addrs: Array<string | Multiaddr>): string[] {
  const out = [...new Set(addrs.map((a) => (typeof a === 'string' ? multiaddr(a) : a).decapsulateCode(421).toString()))]
  return out.slice(0, ARK_MAX_ADDRS)
}

export function encodeArk (r: ArkRecord): Uint8Array {
  const addrs = [...r.addrs]
  let bytes = new TextEncoder().encode(JSON.stringify({ v: VERSION, addrs, time: r.time }))
  while (bytes.length > SSK_MAX_PAYLOAD && addrs.length > 1) {
    addrs.pop()
    bytes = new TextEncoder().encode(JSON.stringify({ v: VERSION, addrs, time: r.time }))
  }
  return bytes
}

export function decodeArk (bytes: Uint8Array): ArkRecord {
  const o = decodeJsonRecord(bytes, 'ARK record')
  if (o?.v !== VERSION || !Array.isArray(o.addrs) || !Number.isSafeInteger(o.time)) throw new Error('malformed ARK record')
  const addrs = (o.addrs as unknown[]).slice(0, ARK_MAX_ADDRS).filter((a): a is string => typeof a === 'string').filter((a) => {
    try {
      multiaddr(a)
      return true
    } catch {
      return false
    }
  })
  return { addrs, time: o.time }
}

/**
 * Publish `addrs` as the next ARK edition: nothing when the newest edition already says so,
 * unless `force` (the newest edition never left this node, so a new one must be spread).
 */
export async function publishArk (keys: KeyClient, key: PrivateKey, addrs: string[], options: { now?: number, force?: boolean } = {}): Promise<{ edition: number, stored: number, unchanged: boolean }> {
  const ref = arkInsertRef(key)
  const base = arkRef(key.publicKey.raw)
  const wanted = arkAddrs(addrs)
  let { latest } = await keys.latestEdition(base)
  if (latest >= 0 && options.force !== true) {
    const cur = await keys.fetchSigned({ ...base, name: editionName(ARK_NAME, latest) })
    if (cur?.type === SskType.ARK && sameSet(decodeArk(cur.payload).addrs, wanted)) return { edition: latest, stored: 0, unchanged: true }
  }
  const record = encodeArk({ addrs: wanted, time: Math.floor((options.now ?? Date.now()) / 1000) })
  for (let tries = 0; ; tries++) {
    const n = latest + 1
    const r = await keys.insertSigned({ ...ref, name: editionName(ARK_NAME, n) }, SskType.ARK, record)
    if (r.existing === undefined) {
      keys.noteEdition(base, n)
      return { edition: n, stored: r.stored, unchanged: false }
    }
    if (tries >= 3) throw new Error(`ARK edition ${n} already exists`)
    latest = n
  }
}

/** The newest ARK record of a peer, or undefined when none is found. */
export async function resolveArk (keys: KeyClient, peer: PeerId | string): Promise<{ edition: number, record: ArkRecord } | undefined> {
  const base = arkRefOfPeer(peer)
  const { latest } = await keys.latestEdition(base)
  if (latest < 0) return undefined
  const doc = await keys.fetchSigned({ ...base, name: editionName(ARK_NAME, latest) })
  if (doc?.type !== SskType.ARK) return undefined
  return { edition: latest, record: decodeArk(doc.payload) }
}

function sameSet (a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x))
}

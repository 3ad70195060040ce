/**
 * The trusted peer's X25519 tunnel keys (issue 13, item 1): the current one (published in its
 * card) and the previous ones still inside their grace period, so that a request sealed just
 * before a rotation still opens. Each key is one epoch: the replay cache is kept per epoch
 * (./replay.ts) and dies with its key. Pure apart from key generation (WebCrypto, via @hpke).
 */
import { TUNNEL_KEY_GRACE_MS, TUNNEL_KEY_LIFETIME_MS } from './constants.js'
import { hpkeSuite } from './seal.js'

export interface TunnelKey {
  epoch: bigint
  publicKey: Uint8Array
  privateKey: Uint8Array
  /** ms since the Unix epoch */
  created: number
}

export interface KeyRingJson {
  keys: Array<{ epoch: string, publicKey: string, privateKey: string, created: number }>
}

export class TunnelKeyRing {
  private keys: TunnelKey[]

  constructor (keys: TunnelKey[] = [], private readonly lifetimeMs = TUNNEL_KEY_LIFETIME_MS, private readonly graceMs = TUNNEL_KEY_GRACE_MS) {
    this.keys = [...keys].sort((a, b) => Number(b.epoch - a.epoch))
  }

  /** When the current key's card stops being valid. */
  expiresOf (k: TunnelKey): number {
    return k.created + this.lifetimeMs + this.graceMs
  }

  /**
   * The key to publish at `now`; a new one when there is none or the newest is older than its
   * lifetime (a rotation: the old key stays usable for its grace period). `changed` says
   * whether the ring must be saved.
   */
  async current (now: number): Promise<{ key: TunnelKey, changed: boolean }> {
    const newest = this.keys[0]
    const dropped = this.prune(now)
    if (newest !== undefined && now - newest.created < this.lifetimeMs) return { key: newest, changed: dropped }
    return { key: await this.rotate(now), changed: true }
  }

  /** Make a new key now (its epoch above every earlier one). */
  async rotate (now: number): Promise<TunnelKey> {
    const kem = hpkeSuite().kem
    const kp = await kem.generateKeyPair()
    const epoch = BigInt(Math.max(now, Number(this.keys[0]?.epoch ?? 0n) + 1))
    const key: TunnelKey = {
      epoch,
      publicKey: new Uint8Array(await kem.serializePublicKey(kp.publicKey)),
      privateKey: new Uint8Array(await kem.serializePrivateKey(kp.privateKey)),
      created: now
    }
    this.keys.unshift(key)
    return key
  }

  /** The key of `epoch` if it is still usable at `now` (current, or retired within its grace). */
  find (epoch: bigint, now: number): TunnelKey | undefined {
    const k = this.keys.find((x) => x.epoch === epoch)
    return k !== undefined && now < this.expiresOf(k) ? k : undefined
  }

  epochs (): bigint[] {
    return this.keys.map((k) => k.epoch)
  }

  /** Forget keys past their grace period; true when one went. */
  private prune (now: number): boolean {
    const before = this.keys.length
    this.keys = this.keys.filter((k) => now < this.expiresOf(k))
    return this.keys.length !== before
  }

  toJSON (): KeyRingJson {
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
    return { keys: this.keys.map((k) => ({ epoch: k.epoch.toString(), publicKey: hex(k.publicKey), privateKey: hex(k.privateKey), created: k.created })) }
  }

  static fromJSON (j: KeyRingJson, lifetimeMs?: number, graceMs?: number): TunnelKeyRing {
    if (!Array.isArray(j?.keys)) throw new Error('tunnel-keys.json has no key list; move it away to make new tunnel keys')
    return new TunnelKeyRing(j.keys.map((k) => ({
      epoch: BigInt(k.epoch),
      publicKey: new Uint8Array(Buffer.from(k.publicKey, 'hex')),
      privateKey: new Uint8Array(Buffer.from(k.privateKey, 'hex')),
      created: k.created
    })), lifetimeMs, graceMs)
  }
}

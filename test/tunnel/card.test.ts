/**
 * Trusted-peer cards (issue 13, item 1): signed by the node's identity, refused when the
 * signature, the named peer, the key or the expiry is wrong; trusted peers by name; tunnel
 * keys that rotate and persist; the replay record surviving a restart.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { RecordEnvelope } from '@libp2p/peer-record'
import { TunnelKeyRecord } from '../../proto/tunnel.js'
import { CARD_CODEC, CARD_PREFIX, CardError, openCard, signCard, TUNNEL_CARD_DOMAIN } from '../../src/tunnel/card.js'
import { TrustBook } from '../../src/tunnel/trust.js'
import { TunnelState } from '../../src/tunnel/tunnel.js'
import { tempDir } from '../helpers/temp.js'
import type { PrivateKey } from '@libp2p/interface'

const DAY = 24 * 3600_000
const key32 = (b: number): Uint8Array => new Uint8Array(32).fill(b)
const content = (epoch: bigint, expires = Date.now() + DAY): { tunnelKey: Uint8Array, keyEpoch: bigint, expires: number, multiaddrs: string[] } =>
  ({ tunnelKey: key32(Number(epoch % 200n) + 1), keyEpoch: epoch, expires, multiaddrs: ['/ip4/127.0.0.1/tcp/7400'] })

function envelopeBytes (text: string): Buffer {
  return Buffer.from(text.slice(CARD_PREFIX.length), 'base64url')
}

async function refused (text: string, why: RegExp): Promise<void> {
  await assert.rejects(openCard(text, Date.now()), (err: Error) => err instanceof CardError && why.test(err.message))
}

describe('trusted-peer cards', () => {
  it('a signed card opens with the signer\'s peer ID, key, epoch and addresses', async () => {
    const id = await generateKeyPair('Ed25519')
    const c = await signCard(id, content(5n))
    const back = await openCard(c.text, Date.now())
    assert.equal(back.peerId, peerIdFromPrivateKey(id).toString())
    assert.deepEqual(back.tunnelKey, key32(6))
    assert.equal(back.keyEpoch, 5n)
    assert.deepEqual(back.multiaddrs, ['/ip4/127.0.0.1/tcp/7400'])
  })

  it('every single-byte change of the card is refused', async () => {
    const id = await generateKeyPair('Ed25519')
    const c = await signCard(id, content(1n))
    const bytes = envelopeBytes(c.text)
    let accepted = 0
    for (let i = 0; i < bytes.length; i++) {
      const b = Buffer.from(bytes)
      b[i] ^= 0x01
      try {
        await openCard(CARD_PREFIX + b.toString('base64url'), Date.now())
        accepted++
      } catch (err) {
        assert.ok(err instanceof CardError, `byte ${i}: ${(err as Error).message}`)
      }
    }
    assert.equal(accepted, 0)
  })

  it('a card signed by one peer that names another is refused', async () => {
    const signer = await generateKeyPair('Ed25519')
    const other = await generateKeyPair('Ed25519')
    const record = {
      domain: TUNNEL_CARD_DOMAIN,
      codec: CARD_CODEC,
      marshal: () => TunnelKeyRecord.encode({ peerId: peerIdFromPrivateKey(other).toMultihash().bytes, tunnelKey: new Uint8Array(key32(1)), keyEpoch: 1n, expires: BigInt(Date.now() + DAY), multiaddrs: [] }),
      equals: () => false
    }
    const env = await RecordEnvelope.seal(record, signer)
    await refused(CARD_PREFIX + Buffer.from(env.marshal()).toString('base64url'), /different peer/)
  })

  it('expired cards, other domains, non-cards and short keys are refused', async () => {
    const id = await generateKeyPair('Ed25519')
    await refused((await signCard(id, content(1n, Date.now() - 1))).text, /expired/)
    await refused('hello', /not a warren card/)
    await assert.rejects(signCard(id, { ...content(1n), tunnelKey: new Uint8Array(31) }), /32 bytes/)
    const foreign = { domain: 'libp2p-peer-record', codec: CARD_CODEC, marshal: () => new Uint8Array([1]), equals: () => false }
    const env = await RecordEnvelope.seal(foreign, id)
    await refused(CARD_PREFIX + Buffer.from(env.marshal()).toString('base64url'), /signature/)
  })
})

describe('trusted peers by name', () => {
  it('adds, refuses a second name for one peer, refreshes to a newer key only, removes', async () => {
    const t = await generateKeyPair('Ed25519')
    const e1 = await openCard((await signCard(t, content(1n))).text, 0)
    const e2 = await openCard((await signCard(t, content(2n))).text, 0)
    const book = new TrustBook()
    book.add('friend', e1)
    assert.throws(() => { book.add('again', e1) }, /already trusted as "friend"/)
    assert.throws(() => { book.add('bad name!', e1) }, /not a valid name/)
    assert.equal(book.refresh('friend', e2), true)
    assert.equal(book.get('friend').keyEpoch, 2n)
    assert.equal(book.refresh('friend', e1), false, 'an older card never replaces a newer one')
    assert.equal(book.get('friend').keyEpoch, 2n)
    const stranger = await openCard((await signCard(await generateKeyPair('Ed25519'), content(9n))).text, 0)
    assert.throws(() => book.refresh('friend', stranger), /not by the trusted peer/)
    const back = await TrustBook.fromJSON(JSON.parse(JSON.stringify(book.toJSON())))
    assert.equal(back.get('friend').keyEpoch, 2n)
    assert.equal(book.remove('friend'), true)
    assert.throws(() => book.get('friend'), /no trusted peer named "friend"/)
  })
})

describe('tunnel keys and state', () => {
  async function state (dir: string, id: PrivateKey, clock: { now: number }): Promise<TunnelState> {
    const s = new TunnelState({ identity: id, dataDir: dir, addresses: () => ['/ip4/127.0.0.1/tcp/1'], now: () => clock.now }, { keyLifetimeMs: 1000, keyGraceMs: 500 })
    await s.start()
    return s
  }

  it('rotates after the lifetime, keeps the old key for its grace period, and persists both', async () => {
    const dir = await tempDir()
    const id = await generateKeyPair('Ed25519')
    const clock = { now: 1_000_000 }
    const s = await state(dir, id, clock)
    const c1 = await s.card()
    clock.now += 999
    assert.equal((await s.card()).keyEpoch, c1.keyEpoch, 'no rotation inside the lifetime')
    clock.now += 2
    const c2 = await s.card()
    assert.ok(c2.keyEpoch > c1.keyEpoch, 'rotated')
    assert.notDeepEqual(c2.tunnelKey, c1.tunnelKey)
    assert.ok(s.keyOf(c1.keyEpoch) !== undefined, 'the old key opens requests in its grace period')
    const restarted = await state(dir, id, clock)
    assert.deepEqual(restarted.keyOf(c2.keyEpoch)?.publicKey, c2.tunnelKey, 'the key survives a restart')
    clock.now += 600
    assert.equal(restarted.keyOf(c1.keyEpoch), undefined, 'gone after its grace period')
  })

  it('an accepted request stays a replay after a restart', async () => {
    const dir = await tempDir()
    const id = await generateKeyPair('Ed25519')
    const clock = { now: Date.now() }
    const s = await state(dir, id, clock)
    const epoch = (await s.currentKey()).epoch
    assert.equal(await s.accept(epoch, key32(7)), true)
    assert.equal(await s.accept(epoch, key32(7)), false)
    const restarted = await state(dir, id, clock)
    assert.equal(await restarted.accept(epoch, key32(7)), false, 'replay refused after a restart')
    assert.equal(await restarted.accept(epoch, key32(8)), true)
    clock.now += 1001
    const next = await restarted.currentKey()
    assert.ok(next.epoch > epoch, 'rotated')
    assert.equal(await restarted.accept(epoch, key32(7)), false, 'replay refused after a rotation (the old key is in its grace period)')
    assert.equal(await restarted.accept(next.epoch, key32(7)), true, 'each epoch has its own record')
  })

  it('refuses the node\'s own card and a card with a bad signature, and keeps added cards', async () => {
    const dir = await tempDir()
    const id = await generateKeyPair('Ed25519')
    const clock = { now: Date.now() }
    const s = await state(dir, id, clock)
    await assert.rejects(s.trustAdd('me', (await s.card()).text), /own card/)
    const t = (await signCard(await generateKeyPair('Ed25519'), content(3n))).text
    const bad = Buffer.from(envelopeBytes(t))
    bad[bad.length - 1] ^= 0x80
    await assert.rejects(s.trustAdd('t', CARD_PREFIX + bad.toString('base64url')), /signature/)
    await s.trustAdd('t', t)
    const restarted = await state(dir, id, clock)
    assert.deepEqual(restarted.trustList().map((p) => p.name), ['t'])
  })
})

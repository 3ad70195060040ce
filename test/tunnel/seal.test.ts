/**
 * The tunnel's cryptography (src/tunnel/seal.ts): RFC 9180 Appendix A.2.1 through the HPKE
 * package the tunnel uses; sealed requests that fail closed, with the one generic error, on a
 * change to any byte of header or payload, on splicing between tunnels and on the wrong key;
 * chunks that fail on tampering, reflection, replay, reordering, truncation and splicing; and
 * every sealed size one of the declared classes.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { TunnelRequest } from '../../proto/tunnel.js'
import { CHUNK_SIZE_CLASSES, TAG_BYTES, TUNNEL_SIZE_CLASSES } from '../../src/tunnel/constants.js'
import { ChunkChannel, hpkeSuite, openRequest, sealRequest, TunnelRejected } from '../../src/tunnel/seal.js'
import type { TunnelHeader } from '../../proto/tunnel.js'
import type { TunnelKeys } from '../../src/tunnel/seal.js'

const hex = (s: string): Uint8Array<ArrayBuffer> => new Uint8Array(Buffer.from(s, 'hex'))
const toHex = (b: ArrayBuffer | Uint8Array): string => Buffer.from(b instanceof Uint8Array ? b : new Uint8Array(b)).toString('hex')

// RFC 9180 A.2.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305, mode base.
const A21 = {
  info: '4f6465206f6e2061204772656369616e2055726e',
  ikmE: '909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b',
  pkEm: '1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a',
  ikmR: '1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df',
  pkRm: '4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a',
  skRm: '8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb',
  pt: '4265617574792069732074727574682c20747275746820626561757479',
  aad0: '436f756e742d30',
  ct0: '1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28',
  // exporter_context "" (empty), L = 32
  export0: '4bbd6243b8bb54cec311fac9df81841b6fd61f56538a775e7c80a9f40160606e'
}

function req (target = 'warren:CHK@abc'): TunnelRequest {
  return { op: TunnelRequest.Op.GET, target, htl: 0, mime: '', insert: false, bodySize: 0n }
}

async function recipient (): Promise<{ pk: Uint8Array, sk: Uint8Array }> {
  const kem = hpkeSuite().kem
  const kp = await kem.generateKeyPair()
  return { pk: new Uint8Array(await kem.serializePublicKey(kp.publicKey)), sk: new Uint8Array(await kem.serializePrivateKey(kp.privateKey)) }
}

async function rejected (p: Promise<unknown>): Promise<boolean> {
  try {
    await p
    return false
  } catch (err) {
    assert.ok(err instanceof TunnelRejected, `expected the generic TunnelRejected, got ${(err as Error).message}`)
    assert.equal((err as Error).message, 'the tunnel rejected a message')
    return true
  }
}

const DEST = new Uint8Array(32).fill(9)

describe('RFC 9180 A.2.1 through @hpke/core + @hpke/chacha20poly1305', () => {
  it('derives the key pairs, encapsulates, seals, opens and exports as the RFC says', async () => {
    const s = hpkeSuite()
    const kpR = await s.kem.deriveKeyPair(hex(A21.ikmR).buffer)
    assert.equal(toHex(await s.kem.serializePublicKey(kpR.publicKey)), A21.pkRm)
    assert.equal(toHex(await s.kem.serializePrivateKey(kpR.privateKey)), A21.skRm)
    const kpE = await s.kem.deriveKeyPair(hex(A21.ikmE).buffer)
    const sender = await s.createSenderContext({ recipientPublicKey: kpR.publicKey, info: hex(A21.info), ekm: kpE })
    assert.equal(toHex(sender.enc), A21.pkEm)
    assert.equal(toHex(await sender.seal(hex(A21.pt), hex(A21.aad0))), A21.ct0)
    assert.equal(toHex(await sender.export(new Uint8Array(), 32)), A21.export0)
    const r = await s.createRecipientContext({ recipientKey: await s.kem.deserializePrivateKey(hex(A21.skRm)), enc: hex(A21.pkEm), info: hex(A21.info) })
    assert.equal(toHex(await r.open(hex(A21.ct0), hex(A21.aad0))), A21.pt)
    assert.equal(toHex(await r.export(new Uint8Array(), 32)), A21.export0)
  })
})

describe('sealed requests', () => {
  it('open with the right key and give both ends the same chunk keys; padded to a size class', async () => {
    const r = await recipient()
    const s = await sealRequest(r.pk, DEST, 42n, 7n, req())
    assert.equal(s.sealed.length, TUNNEL_SIZE_CLASSES[s.header.sizeClass] + TAG_BYTES)
    const o = await openRequest(r.sk, s.header, s.sealed)
    assert.equal(o.req.target, 'warren:CHK@abc')
    assert.deepEqual(o.keys, s.keys)
    const long = await sealRequest(r.pk, DEST, 43n, 7n, req('https://example.org/' + 'a'.repeat(2000)))
    assert.equal(long.header.sizeClass, 1)
    await assert.rejects(sealRequest(r.pk, DEST, 44n, 7n, req('x'.repeat(5000))), /too large/)
  })

  it('fail closed on a flipped byte anywhere in the sealed payload (start, every 13th byte, the tag)', async () => {
    const r = await recipient()
    const s = await sealRequest(r.pk, DEST, 1n, 1n, req())
    let opened = 0
    // Each try is a full HPKE open (an X25519 DH): every byte of the first 64 and of the tag,
    // and a stride through the padding between, keep it near a second on a loaded machine.
    const n = s.sealed.length
    const at = [...Array(n).keys()].filter((i) => i < 64 || i >= n - TAG_BYTES || i % 13 === 0)
    for (const i of at) {
      const bad = new Uint8Array(s.sealed)
      bad[i] ^= 1 << (i % 8)
      if (!await rejected(openRequest(r.sk, s.header, bad))) opened++
    }
    assert.equal(opened, 0)
  })

  it('fail closed on any change of the header: each byte of dest and enc, op, size class, key epoch', async () => {
    const r = await recipient()
    const s = await sealRequest(r.pk, DEST, 1n, 1n, req())
    const variants: TunnelHeader[] = []
    for (let i = 0; i < 32; i++) {
      const d = new Uint8Array(s.header.dest)
      d[i] ^= 0x80
      variants.push({ ...s.header, dest: d })
      const e = new Uint8Array(s.header.enc)
      e[i] ^= 0x01
      variants.push({ ...s.header, enc: e })
    }
    variants.push({ ...s.header, op: 2n }, { ...s.header, keyEpoch: 2n }, { ...s.header, sizeClass: 1 }, { ...s.header, sizeClass: 7 })
    for (const v of variants) assert.ok(await rejected(openRequest(r.sk, v, s.sealed)))
  })

  it('fail closed when spliced between tunnels or opened with another key', async () => {
    const r = await recipient()
    const x = await sealRequest(r.pk, DEST, 1n, 1n, req('warren:CHK@x'))
    const y = await sealRequest(r.pk, DEST, 2n, 1n, req('warren:CHK@y'))
    assert.ok(await rejected(openRequest(r.sk, y.header, x.sealed)), 'payload of one tunnel under the header of another')
    assert.ok(await rejected(openRequest(r.sk, { ...y.header, enc: x.header.enc }, x.sealed)), 'enc and payload moved, op of another')
    const other = await recipient()
    assert.ok(await rejected(openRequest(other.sk, x.header, x.sealed)))
  })
})

describe('sealed chunks', () => {
  async function pair (op = 5n): Promise<{ keys: TunnelKeys }> {
    const r = await recipient()
    return { keys: (await sealRequest(r.pk, DEST, op, 1n, req())).keys }
  }

  it('go through in order, padded to the chunk classes, the last one flagged', async () => {
    const { keys } = await pair()
    const tx = new ChunkChannel(keys.down, 5n)
    const rx = new ChunkChannel(keys.down, 5n)
    const a = tx.seal(new Uint8Array(10).fill(1), false)
    const b = tx.seal(new Uint8Array(5000).fill(2), true)
    assert.equal(a.length, CHUNK_SIZE_CLASSES[0] + TAG_BYTES)
    assert.equal(b.length, CHUNK_SIZE_CLASSES[1] + TAG_BYTES)
    assert.deepEqual(rx.open(a), { data: new Uint8Array(10).fill(1), last: false })
    const last = rx.open(b)
    assert.equal(last.last, true)
    assert.equal(last.data.length, 5000)
    assert.throws(() => rx.open(b), TunnelRejected, 'nothing after the last chunk')
  })

  it('fail closed on any flipped byte, replay, reordering, reflection and splicing', async () => {
    const { keys } = await pair()
    const tx = new ChunkChannel(keys.down, 5n)
    const c0 = tx.seal(new Uint8Array([1, 2, 3]), false)
    const c1 = tx.seal(new Uint8Array([4]), false)
    for (let i = 0; i < c0.length; i++) {
      const bad = new Uint8Array(c0)
      bad[i] ^= 0x04
      assert.throws(() => new ChunkChannel(keys.down, 5n).open(bad), TunnelRejected, `byte ${i}`)
    }
    assert.throws(() => new ChunkChannel(keys.down, 5n).open(c1), TunnelRejected, 'out of order')
    const rx = new ChunkChannel(keys.down, 5n)
    rx.open(c0)
    assert.throws(() => rx.open(c0), TunnelRejected, 'replayed')
    assert.throws(() => new ChunkChannel(keys.up, 5n).open(c0), TunnelRejected, 'reflected back to its sender')
    assert.throws(() => new ChunkChannel(keys.down, 6n).open(c0), TunnelRejected, 'under another operation ID')
    const other = await pair()
    assert.throws(() => new ChunkChannel(other.keys.down, 5n).open(c0), TunnelRejected, 'spliced into another tunnel')
  })
})

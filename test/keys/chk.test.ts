import assert from 'node:assert/strict'
import { createCipheriv } from 'node:crypto'
import { describe, it } from 'node:test'
import { BLOCK_SIZE } from '../../src/constants.js'
import {
  ChkType, CHK_ENVELOPE_BYTES, CHK_HEADER_BYTES, CHK_MAX_PAYLOAD, CHK_TAG_BYTES, chkDecryptKey,
  decodeChk, encodeChk, verifyChkBlock
} from '../../src/keys/chk.js'
import { RoutingKey, sha256, toHex } from '../../src/keys/routing-key.js'
import { randomBytes } from '../helpers/seed.js'

const text = (s: string): Uint8Array => new TextEncoder().encode(s)

/** Encrypt a hand-made envelope the way encodeChk does, to build non-canonical blocks. */
function sealEnvelope (envelope: Uint8Array, key: Uint8Array): Uint8Array {
  const cipher = createCipheriv('chacha20-poly1305', key, new Uint8Array(12), { authTagLength: CHK_TAG_BYTES })
  return new Uint8Array(Buffer.concat([cipher.update(envelope), cipher.final(), cipher.getAuthTag()]))
}

function envelopeOf (type: number, payload: Uint8Array, declaredLength = payload.length): Uint8Array {
  const envelope = new Uint8Array(CHK_ENVELOPE_BYTES)
  envelope[0] = type
  new DataView(envelope.buffer).setUint32(1, declaredLength)
  envelope.set(payload, CHK_HEADER_BYTES)
  return envelope
}

describe('CHK', () => {
  it('leaves room for exactly one envelope header and tag in a block', () => {
    assert.equal(CHK_MAX_PAYLOAD, BLOCK_SIZE - CHK_TAG_BYTES - CHK_HEADER_BYTES)
  })

  for (const [name, payload] of [
    ['empty', new Uint8Array(0)],
    ['one byte', Uint8Array.of(0x42)],
    ['text', text('hello warren')],
    ['maximal', randomBytes(CHK_MAX_PAYLOAD)]
  ] as const) {
    for (const type of [ChkType.DATA, ChkType.MANIFEST]) {
      it(`round-trips a ${name} ${ChkType[type]} payload`, () => {
        const chk = encodeChk(type, payload)
        assert.equal(chk.block.length, BLOCK_SIZE)
        assert.deepEqual(chk.routingKey.bytes, sha256(chk.block))
        assert.ok(verifyChkBlock(chk.routingKey, chk.block))
        const decoded = decodeChk(chk.block, chk.decryptKey)
        assert.equal(decoded.type, type)
        assert.deepEqual(decoded.payload, new Uint8Array(payload))
      })
    }
  }

  it('does not leave the plaintext visible in the block', () => {
    const payload = new Uint8Array(1024).fill(0x61)
    const { block } = encodeChk(ChkType.DATA, payload)
    assert.equal(Buffer.from(block).indexOf(Buffer.from(payload.subarray(0, 16))), -1)
  })

  it('is convergent: same content, same keys and block', () => {
    const a = encodeChk(ChkType.DATA, text('same content'))
    const b = encodeChk(ChkType.DATA, text('same content'))
    assert.ok(a.routingKey.equals(b.routingKey))
    assert.deepEqual(a.decryptKey, b.decryptKey)
    assert.deepEqual(a.block, b.block)
  })

  it('gives different keys for different content or a different type', () => {
    const a = encodeChk(ChkType.DATA, text('content a'))
    const b = encodeChk(ChkType.DATA, text('content b'))
    const m = encodeChk(ChkType.MANIFEST, text('content a'))
    assert.ok(!a.routingKey.equals(b.routingKey))
    assert.ok(!a.routingKey.equals(m.routingKey))
    assert.notDeepEqual(a.decryptKey, m.decryptKey)
  })

  it('keeps a stable test vector for "warren"', () => {
    // Guards the on-disk and wire format (envelope layout, key derivation, cipher, nonce):
    // if this changes, every stored block and published URI becomes unreadable.
    // Cross-checked against an independent implementation (Python `cryptography`).
    const chk = encodeChk(ChkType.DATA, text('warren'))
    assert.equal(chk.routingKey.hex, '5e74f89bbacf814d6cdb9b89652347dd19400bf6d41c1da52579c54023170220')
    assert.equal(toHex(chk.decryptKey), '18c772078dcfb8bcab68580b2ccfb0e700e14f6cbda52faca8f26c5eca68142c')
  })

  it('rejects oversized payloads and unknown types', () => {
    assert.throws(() => encodeChk(ChkType.DATA, new Uint8Array(CHK_MAX_PAYLOAD + 1)), /at most 32747 bytes, got 32748/)
    assert.throws(() => encodeChk(200 as ChkType, text('x')), /unknown CHK envelope type 200/)
  })

  describe('tampering', () => {
    const chk = encodeChk(ChkType.DATA, text('tamper with me'))
    // A byte of the header, of the padding, of the last ciphertext byte and of the tag.
    for (const position of [0, 1000, CHK_ENVELOPE_BYTES - 1, BLOCK_SIZE - 1]) {
      it(`detects a flipped byte at ${position}`, () => {
        const bad = new Uint8Array(chk.block)
        bad[position] ^= 0x01
        assert.equal(verifyChkBlock(chk.routingKey, bad), false)
        assert.throws(() => decodeChk(bad, chk.decryptKey), /failed authentication/)
      })
    }

    it('rejects a wrong decryption key', () => {
      const other = encodeChk(ChkType.DATA, text('another payload'))
      assert.throws(() => decodeChk(chk.block, other.decryptKey), /wrong decryption key or corrupted block/)
      assert.throws(() => decodeChk(chk.block, chk.decryptKey.subarray(1)), /decryption key is 32 bytes, got 31/)
    })

    it('rejects blocks of the wrong length', () => {
      const short = chk.block.subarray(0, BLOCK_SIZE - 1)
      const long = new Uint8Array(BLOCK_SIZE + 1)
      long.set(chk.block)
      for (const bad of [short, long]) {
        assert.equal(verifyChkBlock(RoutingKey.hash(bad), bad), false)
        assert.throws(() => decodeChk(bad, chk.decryptKey), /a CHK block is 32768 bytes/)
      }
    })

    it('rejects a block under another routing key', () => {
      const other = encodeChk(ChkType.DATA, text('another payload'))
      assert.equal(verifyChkBlock(other.routingKey, chk.block), false)
    })
  })

  describe('malformed envelopes that decrypt correctly', () => {
    const payload = text('payload')

    it('rejects a key that is not derived from the contents', () => {
      const key = randomBytes(32)
      assert.throws(() => decodeChk(sealEnvelope(envelopeOf(ChkType.DATA, payload), key), key), /not derived from its contents/)
    })

    it('rejects non-zero padding', () => {
      const envelope = envelopeOf(ChkType.DATA, payload)
      envelope[CHK_ENVELOPE_BYTES - 1] = 1
      const key = chkDecryptKey(ChkType.DATA, payload)
      assert.throws(() => decodeChk(sealEnvelope(envelope, key), key), /non-zero padding/)
    })

    it('rejects an impossible length', () => {
      const key = randomBytes(32)
      const envelope = envelopeOf(ChkType.DATA, payload, CHK_MAX_PAYLOAD + 1)
      assert.throws(() => decodeChk(sealEnvelope(envelope, key), key), /payload length 32748 exceeds 32747/)
    })

    it('rejects an unknown type', () => {
      const key = randomBytes(32)
      assert.throws(() => decodeChk(sealEnvelope(envelopeOf(99, payload), key), key), /unknown type 99/)
    })
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { base58btc } from 'multiformats/bases/base58'
import { verifyBlock } from '../../src/keys/block-verify.js'
import { deriveKsk } from '../../src/keys/ksk.js'
import { encodeSsk, sskRoutingKey, SskType } from '../../src/keys/ssk.js'

describe('KSK derivation', () => {
  it('matches a fixed test vector (stable across runs and machines)', () => {
    const k = deriveKsk('text/philosophy/sun-tzu/art-of-war')
    // Pinned: changing the KDF changes every KSK in the network. Update docs/keys.md with it.
    assert.deepEqual({
      privateKey: base58btc.baseEncode(k.insert.privateKey),
      publicKey: base58btc.baseEncode(k.publicKey),
      pubKeyHash: base58btc.baseEncode(k.request.pubKeyHash),
      cryptoKey: base58btc.baseEncode(k.request.cryptoKey),
      routingKey: sskRoutingKey(k.request).hex
    }, KSK_VECTOR)
  })

  it('normalises Unicode so that the same word names the same key', () => {
    const composed = deriveKsk('caf\u00e9')
    const decomposed = deriveKsk('cafe\u0301')
    assert.deepEqual(composed.request.pubKeyHash, decomposed.request.pubKeyHash)
    assert.notDeepEqual(deriveKsk('cafe').request.pubKeyHash, composed.request.pubKeyHash)
  })

  it('lets anyone who knows the word sign a valid block', () => {
    const k = deriveKsk('anyone-can-sign')
    const { routingKey, block } = encodeSsk(deriveKsk('anyone-can-sign').insert, SskType.REDIRECT, new Uint8Array(3))
    assert.ok(routingKey.equals(sskRoutingKey(k.request)))
    assert.equal(verifyBlock(routingKey, block), true)
  })

  it('rejects an empty keyword', () => {
    assert.throws(() => deriveKsk(''), /must not be empty/)
  })
})

/**
 * Reproduced independently with Python's hashlib.scrypt, an HMAC-SHA-256 HKDF and pyca/cryptography's
 * Ed25519 (see docs/keys.md), so it pins the KDF, not just this implementation's output.
 */
const KSK_VECTOR = {
  privateKey: '3mUf8Ncc5qjxmMJ1Cosx74mMgcxqrE8JmGcGBpMkAkbq',
  publicKey: '3QaDZq2XSYqsyULFkjR4Dy1TQggotnrPjcF4sbawyxMp',
  pubKeyHash: '9xKkcABw1QyD3ptPdqRjoqX8yHkVMWuqYdEs3mRcrQLN',
  cryptoKey: '68nNSFQE7hJjuupjD8tJyysx8m6EzidYK9cTfgtWZVPp',
  routingKey: 'b1486e030f563a7a947329c95dbec3c1238beff9bdfb554dbcc211a4d5fdf051'
}

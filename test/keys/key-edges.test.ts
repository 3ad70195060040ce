/**
 * The key code's refusals and boundaries, each with its exact message (issue 18: found by
 * mutation testing): what a CHK block may not carry, SSK header fields one by one, SSK
 * envelopes built by hand (unknown type, oversized length), the largest payloads, URI
 * parsing and formatting corner cases, the KSK keyword limit and cache.
 */
import assert from 'node:assert/strict'
import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { base58btc } from 'multiformats/bases/base58'
import { KeyType } from '../../proto/warren.js'
import { SskHeaders } from '../../proto/keys.js'
import { checkBlock } from '../../src/keys/block-verify.js'
import { ChkType, encodeChk } from '../../src/keys/chk.js'
import { deriveKsk, KSK_MAX_KEYWORD_BYTES, normaliseKeyword } from '../../src/keys/ksk.js'
import {
  decodeSsk, encodeSsk, generateCryptoKey, generateSskKeyPair, SSK_ENVELOPE_BYTES, SSK_MAX_PAYLOAD, sskNameHash, sskPubKeyHash,
  sskPublicKey, sskRefOf, sskRoutingKey, SskType
} from '../../src/keys/ssk.js'
import { formatSignedKeys, sskRefOfUri, subspaceUris } from '../../src/keys/ssk-uri.js'
import { formatUri, parseUri } from '../../src/keys/uri.js'
import type { Block } from '../../proto/warren.js'
import type { BlockCheck } from '../../src/keys/block-verify.js'
import type { RoutingKey } from '../../src/keys/routing-key.js'

const enc = new TextEncoder()
const reason = (r: BlockCheck): string => r.ok ? 'ok' : r.reason

describe('key edges', () => {
  const pair = generateSskKeyPair()
  const cryptoKey = generateCryptoKey()
  const ref = { privateKey: pair.privateKey, cryptoKey, name: 'doc' }
  const { routingKey, block } = encodeSsk(ref, SskType.REDIRECT, enc.encode('warren:CHK@x'))
  const headers = SskHeaders.decode(block.headers)

  describe('block verification', () => {
    it('a CHK block carries no pubkey, no signature and no headers', () => {
      const c = encodeChk(ChkType.DATA, enc.encode('x'))
      const chk: Block = { type: KeyType.CHK, data: c.block, pubkey: new Uint8Array(), signature: new Uint8Array(), headers: new Uint8Array() }
      assert.equal(reason(checkBlock(c.routingKey, chk)), 'ok')
      for (const field of ['pubkey', 'signature', 'headers'] as const) {
        assert.equal(reason(checkBlock(c.routingKey, { ...chk, [field]: Uint8Array.of(1) })), 'a CHK block carries no pubkey, signature or headers', field)
      }
      assert.equal(reason(checkBlock(routingKey, chk)), `CHK block does not match key ${routingKey.hex} (wrong size or hash)`)
    })

    it('an unknown key type never verifies', () => {
      assert.equal(reason(checkBlock(routingKey, { ...block, type: 7 as unknown as KeyType })), 'unsupported key type 7')
    })

    it('SSK headers are checked field by field, each with its reason', () => {
      const withHeaders = (h: Partial<SskHeaders>): Block => ({ ...block, headers: SskHeaders.encode({ ...headers, ...h }) })
      assert.equal(reason(checkBlock(routingKey, withHeaders({ version: 2 }))), 'unsupported SSK headers version 2')
      assert.equal(reason(checkBlock(routingKey, withHeaders({ nameHash: new Uint8Array(31) }))), 'SSK name hash is 31 bytes, not 32')
      assert.equal(reason(checkBlock(routingKey, withHeaders({ nonce: new Uint8Array(11) }))), 'SSK nonce is 11 bytes, not 12')
      assert.equal(reason(checkBlock(routingKey, { ...block, headers: Uint8Array.of(0x0a, 0xff) })), 'SSK headers are not a valid SskHeaders message')
      // Exactly at the 128-byte limit the headers are read (and their nonce judged); one byte more is refused unread.
      const at = (n: number): Block => withHeaders({ nonce: new Uint8Array(n - 2 - 34 - 2) })
      assert.equal(SskHeaders.encode(SskHeaders.decode(at(128).headers)).length, 128)
      assert.equal(reason(checkBlock(routingKey, at(128))), 'SSK nonce is 90 bytes, not 12')
      assert.equal(reason(checkBlock(routingKey, at(129))), 'SSK headers are 129 bytes (max 128)')
    })

    it('a bad signature is refused after the binding is checked', () => {
      const signature = Uint8Array.from(block.signature)
      signature[0] ^= 1
      assert.equal(reason(checkBlock(routingKey, { ...block, signature })), `SSK block for key ${routingKey.hex} has a bad signature`)
      const other = encodeSsk({ ...ref, name: 'other' }, SskType.REDIRECT, enc.encode('x')).routingKey
      assert.equal(reason(checkBlock(other, block)), `SSK block is not bound to key ${other.hex} (wrong public key or document name)`)
    })
  })

  describe('SSK envelopes', () => {
    /** Encrypt a hand-made envelope the way encodeSsk does (module header of src/keys/ssk.ts). */
    function handMade (type: number, length: number): { key: RoutingKey, block: Block } {
      const envelope = new Uint8Array(SSK_ENVELOPE_BYTES)
      envelope[0] = type
      new DataView(envelope.buffer).setUint32(1, length)
      const nonce = new Uint8Array(randomBytes(12))
      const contentKey = new Uint8Array(hkdfSync('sha256', cryptoKey, enc.encode('warren-ssk-v1'), enc.encode('content\0doc'), 32))
      const cipher = createCipheriv('chacha20-poly1305', contentKey, nonce, { authTagLength: 16 })
      cipher.setAAD(routingKey.bytes, { plaintextLength: SSK_ENVELOPE_BYTES })
      const data = new Uint8Array(Buffer.concat([cipher.update(envelope), cipher.final(), cipher.getAuthTag()]))
      return { key: routingKey, block: { ...block, data, headers: SskHeaders.encode({ ...headers, nonce }) } }
    }

    it('the hand-made envelope reads like an encoded one', () => {
      const h = handMade(SskType.UPDATABLE, 3)
      assert.deepEqual(decodeSsk(h.key, h.block, ref), { type: SskType.UPDATABLE, payload: new Uint8Array(3) })
    })

    it('refuses an envelope of unknown type or with a length beyond the largest payload', () => {
      const zero = handMade(0, 3)
      assert.throws(() => decodeSsk(zero.key, zero.block, ref), /^Error: malformed SSK envelope: unknown type 0$/)
      const long = handMade(SskType.REDIRECT, SSK_MAX_PAYLOAD + 1)
      assert.throws(() => decodeSsk(long.key, long.block, ref), new RegExp(`^Error: malformed SSK envelope: payload length ${SSK_MAX_PAYLOAD + 1} exceeds ${SSK_MAX_PAYLOAD}$`))
    })

    it('carries exactly SSK_MAX_PAYLOAD bytes, and refuses one more or an unknown type', () => {
      const payload = new Uint8Array(randomBytes(SSK_MAX_PAYLOAD))
      const max = encodeSsk(ref, SskType.ARK, payload)
      assert.deepEqual(decodeSsk(max.routingKey, max.block, ref), { type: SskType.ARK, payload })
      assert.throws(() => encodeSsk(ref, SskType.ARK, new Uint8Array(SSK_MAX_PAYLOAD + 1)), new RegExp(`an SSK payload is at most ${SSK_MAX_PAYLOAD} bytes, got ${SSK_MAX_PAYLOAD + 1}`))
      assert.throws(() => encodeSsk(ref, 0 as SskType, payload.subarray(0, 1)), /^Error: unknown SSK envelope type 0$/)
      assert.throws(() => encodeSsk(ref, 9 as SskType, payload.subarray(0, 1)), /^Error: unknown SSK envelope type 9$/)
    })

    it('decoding checks the headers and the data size first', () => {
      assert.throws(() => decodeSsk(routingKey, { ...block, headers: SskHeaders.encode({ ...headers, version: 3 }) }, ref), /^Error: unsupported SSK headers version 3$/)
      assert.throws(() => decodeSsk(routingKey, { ...block, data: new Uint8Array(10) }, ref), /^Error: SSK data is 10 bytes, not 1040$/)
      assert.throws(() => decodeSsk(routingKey, block, { ...ref, name: 'other' }), /^Error: SSK block failed authentication: wrong crypto key or document name$/)
    })

    it('keys of the wrong length are refused with what was expected', () => {
      assert.throws(() => sskNameHash(new Uint8Array(31), 'x'), /^Error: an SSK crypto key is 32 bytes, got 31$/)
      assert.throws(() => sskPublicKey(new Uint8Array(31)), /^Error: an SSK private key is 32 bytes, got 31$/)
    })
  })

  describe('signed URIs', () => {
    const pkh = base58btc.baseEncode(sskPubKeyHash(pair.publicKey))
    const ck = base58btc.baseEncode(cryptoKey)

    it('a KSK keyword is the text after @, exactly', () => {
      assert.deepEqual(parseUri('warren:KSK@word'), { type: 'KSK', keyword: 'word' })
      assert.deepEqual(parseUri('KSK@a/b'), { type: 'KSK', keyword: 'a/b' })
      assert.deepEqual(parseUri('KSK@a/b//c'), { type: 'KSK', keyword: 'a/b', path: 'c' })
    })

    it('an empty path after // is no path', () => {
      assert.deepEqual(parseUri(`SSK@${pkh},${ck}/doc//`), { type: 'SSK', pubKeyHash: sskPubKeyHash(pair.publicKey), cryptoKey, name: 'doc' })
      assert.deepEqual(parseUri('KSK@word//'), { type: 'KSK', keyword: 'word' })
      assert.equal(formatSignedKeys({ type: 'SSK', pubKeyHash: sskPubKeyHash(pair.publicKey), cryptoKey, name: 'doc', path: '' }), `SSK@${pkh},${ck}/doc`)
      assert.equal(formatSignedKeys({ type: 'KSK', keyword: 'w', path: '' }), 'KSK@w')
      assert.equal(formatSignedKeys({ type: 'KSK', keyword: 'w', path: 'p' }), 'KSK@w//p')
    })

    it('says which key is wrong', () => {
      assert.throws(() => parseUri(`SSK@${pkh},/doc`), /: the crypto key is empty;/)
      assert.throws(() => parseUri(`SSK@,${ck}/doc`), /: the public key hash is empty;/)
      assert.throws(() => parseUri(`SSK@${pkh},0OIl/doc`), /: the crypto key is not valid base58btc;/)
      assert.throws(() => parseUri(`SSK-INSERT@0OIl,${ck}/doc`), /: the private key is not valid base58btc; expected warren:SSK-INSERT@/)
      assert.throws(() => parseUri(`SSK@${pkh},${ck},x/doc`), /: an SSK URI has 2 comma-separated keys, found 3;/)
      assert.throws(() => parseUri(`SSK@${pkh},${base58btc.baseEncode(new Uint8Array(31).fill(1))}/doc`), /: the crypto key decodes to 31 bytes, not 32;/)
    })

    it('the reader\'s reference of a request or an insert URI', () => {
      const { insert, request } = subspaceUris(pair.privateKey, cryptoKey)
      const expected = { pubKeyHash: sskPubKeyHash(pair.publicKey), cryptoKey, name: '' }
      assert.deepEqual(sskRefOfUri(request), expected)
      assert.deepEqual(sskRefOfUri(insert), expected)
      assert.deepEqual(sskRefOfUri({ ...insert, name: 'n' }), sskRefOf({ ...ref, name: 'n' }))
      assert.ok(sskRoutingKey(sskRefOfUri({ ...request, name: 'doc' })).equals(routingKey))
    })

    it('subspace keys are 32 bytes each', () => {
      for (const [p, c] of [[new Uint8Array(31), cryptoKey], [pair.privateKey, new Uint8Array(33)]]) {
        assert.throws(() => subspaceUris(p, c), /^Error: subspace keys are 32 bytes each$/)
      }
    })
  })

  describe('CHK URIs', () => {
    const c = encodeChk(ChkType.DATA, enc.encode('x'))
    const keys = `${base58btc.baseEncode(c.routingKey.bytes)},${base58btc.baseEncode(c.decryptKey)}`

    it('formats an empty path as none', () => {
      assert.equal(formatUri({ type: 'CHK', routingKey: c.routingKey, decryptKey: c.decryptKey, path: '' }), `warren:CHK@${keys}`)
    })

    it('quotes at most 120 characters of a bad URI in its error', () => {
      const at = 'CHK@' + 'x'.repeat(116)
      assert.throws(() => parseUri(at), (err: Error) => err.message.startsWith(`invalid warren URI "${at}": `))
      const over = at + 'y'
      assert.throws(() => parseUri(over), (err: Error) => err.message.startsWith(`invalid warren URI "${at}...": `))
    })
  })

  describe('KSK keywords', () => {
    it(`accept up to ${KSK_MAX_KEYWORD_BYTES} bytes of UTF-8`, () => {
      assert.equal(normaliseKeyword('é'.repeat(KSK_MAX_KEYWORD_BYTES / 2)).length, KSK_MAX_KEYWORD_BYTES / 2)
      assert.throws(() => normaliseKeyword('é'.repeat(KSK_MAX_KEYWORD_BYTES / 2) + 'x'), /^Error: a KSK keyword is at most 1024 bytes$/)
      assert.throws(() => parseUri('KSK@' + 'x'.repeat(KSK_MAX_KEYWORD_BYTES + 1)), /a KSK keyword is at most 1024 bytes; expected warren:KSK@<keyword>$/)
    })

    it('derive once per keyword (scrypt is deliberately slow): the same word gives the same keys object', () => {
      const first = deriveKsk('cached-keyword')
      assert.equal(deriveKsk('cached-keyword'), first)
      assert.equal(deriveKsk('cached-keywor\u0064'), first)
    })
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ed25519 } from '@noble/curves/ed25519.js'
import { base58btc } from 'multiformats/bases/base58'
import { generateCryptoKey, generateSskKeyPair, sskPubKeyHash, sskPublicKey } from '../../src/keys/ssk.js'
import { sskRefOfUri, subspaceUris } from '../../src/keys/ssk-uri.js'
import { formatUri, parseUri } from '../../src/keys/uri.js'

describe('signed warren URIs', () => {
  const pair = generateSskKeyPair()
  const cryptoKey = generateCryptoKey()
  const { insert, request } = subspaceUris(pair.privateKey, cryptoKey)

  it('derives the Ed25519 public key like an independent implementation (@noble/curves)', () => {
    assert.deepEqual(sskPublicKey(pair.privateKey), ed25519.getPublicKey(pair.privateKey))
  })

  it('formats the subspace root with a trailing slash, so a name can be appended', () => {
    const i = formatUri(insert)
    const r = formatUri(request)
    assert.equal(i, `warren:SSK-INSERT@${base58btc.baseEncode(pair.privateKey)},${base58btc.baseEncode(cryptoKey)}/`)
    assert.equal(r, `warren:SSK@${base58btc.baseEncode(sskPubKeyHash(pair.publicKey))},${base58btc.baseEncode(cryptoKey)}/`)
    const named = parseUri(`${r}music/song1.mp3`)
    assert.equal(named.type, 'SSK')
    assert.equal(named.type === 'SSK' ? named.name : '', 'music/song1.mp3')
  })

  it('round-trips names and paths after //', () => {
    for (const text of [`${formatUri(request)}blog`, `${formatUri(request)}blog/12//img/a.png`, `${formatUri(request)}/index.html`.replace('///', '//'),
      'warren:KSK@text/philosophy/art-of-war', 'warren:KSK@site//index.html']) {
      assert.equal(formatUri(parseUri(text)), text)
    }
    const u = parseUri(`${formatUri(request)}blog/12//img/a.png`)
    assert.ok(u.type === 'SSK')
    assert.equal(u.name, 'blog/12')
    assert.equal(u.path, 'img/a.png')
    const root = parseUri(`${formatUri(request)}/index.html`.replace('///', '//'))
    assert.ok(root.type === 'SSK')
    assert.equal(root.name, '')
    assert.equal(root.path, 'index.html')
    const k = parseUri('ksk@text/philosophy/art-of-war')
    assert.deepEqual(k, { type: 'KSK', keyword: 'text/philosophy/art-of-war' })
  })

  it('gives the same reader reference from the insert and the request URI', () => {
    const a = sskRefOfUri({ ...insert, name: 'x' })
    const b = sskRefOfUri({ ...request, name: 'x' })
    assert.deepEqual(a, b)
  })

  for (const [input, problem] of [
    ['warren:SSK@abc', /2 comma-separated keys, found 1/],
    [`warren:SSK@${base58btc.baseEncode(new Uint8Array(31).fill(1))},${base58btc.baseEncode(cryptoKey)}/x`, /public key hash decodes to 31 bytes/],
    [`warren:SSK-INSERT@,${base58btc.baseEncode(cryptoKey)}/x`, /private key is empty/],
    ['warren:KSK@', /must not be empty/]
  ] as const) {
    it(`rejects ${JSON.stringify(input.slice(0, 24))} saying what is wrong`, () => {
      assert.throws(() => parseUri(input), (err: Error) => {
        assert.match(err.message, /^invalid warren URI/)
        assert.match(err.message, problem)
        assert.match(err.message, /expected warren:(SSK|SSK-INSERT|KSK)@/)
        return true
      })
    })
  }
})

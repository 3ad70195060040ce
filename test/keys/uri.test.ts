import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { base58btc } from 'multiformats/bases/base58'
import { ChkType, encodeChk } from '../../src/keys/chk.js'
import { formatUri, parseUri } from '../../src/keys/uri.js'
import type { ChkUri, WarrenUri } from '../../src/keys/uri.js'

const chk = encodeChk(ChkType.DATA, new TextEncoder().encode('uri test'))
const uri: ChkUri = { type: 'CHK', routingKey: chk.routingKey, decryptKey: chk.decryptKey }
const routing58 = base58btc.baseEncode(chk.routingKey.bytes)
const decrypt58 = base58btc.baseEncode(chk.decryptKey)
const EXPECTED_FORM = /expected warren:CHK@<routing key>,<decryption key>/

function assertSameUri (actual: WarrenUri, expected: ChkUri): void {
  assert.equal(actual.type, expected.type)
  assert.ok(actual.type === 'CHK')
  assert.ok(actual.routingKey.equals(expected.routingKey))
  assert.deepEqual(actual.decryptKey, expected.decryptKey)
  assert.equal(actual.path, expected.path)
}

describe('warren URIs', () => {
  it('formats a CHK as warren:CHK@<routing>,<decrypt> in base58btc', () => {
    assert.equal(formatUri(uri), `warren:CHK@${routing58},${decrypt58}`)
  })

  it('round-trips', () => {
    assertSameUri(parseUri(formatUri(uri)), uri)
    const withPath = { ...uri, path: 'docs/index.html' }
    assert.equal(formatUri(withPath), `warren:CHK@${routing58},${decrypt58}/docs/index.html`)
    assertSameUri(parseUri(formatUri(withPath)), withPath)
  })

  it('round-trips keys with leading zero bytes', () => {
    const zeros = { ...uri, decryptKey: new Uint8Array(32) }
    assertSameUri(parseUri(formatUri(zeros)), zeros)
  })

  for (const variant of [
    `CHK@${routing58},${decrypt58}`,
    `  warren:CHK@${routing58},${decrypt58}\n`,
    `WARREN:chk@${routing58},${decrypt58}`,
    `warren:CHK@${routing58},${decrypt58}/`
  ]) {
    it(`accepts ${JSON.stringify(variant.slice(0, 18))}...`, () => {
      assertSameUri(parseUri(variant), uri)
    })
  }

  const short = base58btc.baseEncode(chk.decryptKey.subarray(0, 31))
  const long = base58btc.baseEncode(new Uint8Array([...chk.routingKey.bytes, ...chk.decryptKey]))
  for (const [input, problem] of [
    ['', /missing "@"/],
    ['warren:', /missing "@"/],
    [`warren:${routing58},${decrypt58}`, /missing "@" after the key type/],
    [`warren:@${routing58},${decrypt58}`, /missing key type/],
    [`warren:XSK@${routing58},${decrypt58}`, /unsupported key type "XSK"/],
    [`http:CHK@${routing58},${decrypt58}`, /unsupported key type "HTTP:CHK"/],
    ['warren:CHK@', /2 comma-separated keys, found 1/],
    [`warren:CHK@${routing58}`, /2 comma-separated keys, found 1/],
    [`warren:CHK@${routing58},${decrypt58},${decrypt58}`, /found 3/],
    [`warren:CHK@,${decrypt58}`, /routing key is empty/],
    [`warren:CHK@${routing58},`, /decryption key is empty/],
    [`warren:CHK@${routing58}0,${decrypt58}`, /routing key is not valid base58btc/],
    [`warren:CHK@${routing58},${decrypt58.slice(0, 10)}l${decrypt58.slice(11)}`, /decryption key is not valid base58btc/],
    [`warren:CHK@${routing58},${short}`, /decryption key decodes to 31 bytes, not 32/],
    [`warren:CHK@${long},${decrypt58}`, /routing key decodes to 64 bytes, not 32/],
    [`warren:CHK@ ${routing58},${decrypt58}`, /routing key is not valid base58btc/]
  ] as const) {
    it(`rejects ${JSON.stringify(input.slice(0, 24))} saying what is wrong`, () => {
      assert.throws(() => parseUri(input), (err: Error) => {
        assert.match(err.message, /^invalid warren URI/)
        assert.match(err.message, problem)
        assert.match(err.message, EXPECTED_FORM)
        return true
      })
    })
  }

  it('shortens a huge input in the error', () => {
    assert.throws(() => parseUri('x'.repeat(10_000)), (err: Error) => err.message.length < 400)
  })
})

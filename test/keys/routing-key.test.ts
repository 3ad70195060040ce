/**
 * Routing keys: the location on the circle (the first 52 bits), circular distance, SHA-256,
 * hex. Locations decide where every key is routed, so each bit's weight is pinned here.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import { distance, fromHex, locationOf, locationOfHex, RoutingKey, sha256, toHex } from '../../src/keys/routing-key.js'

const enc = new TextEncoder()

/** 32 zero bytes with `byte` set at `at`. */
function withByte (at: number, byte: number): Uint8Array {
  const b = new Uint8Array(32)
  b[at] = byte
  return b
}

describe('routing keys', () => {
  it('a location is the first 52 bits as a fraction, each bit at its weight', () => {
    assert.equal(locationOf(new Uint8Array(32)), 0)
    assert.equal(locationOf(withByte(0, 0x80)), 0.5)
    assert.equal(locationOf(withByte(0, 0x01)), 2 ** -8)
    assert.equal(locationOf(withByte(1, 0x01)), 2 ** -16)
    assert.equal(locationOf(withByte(2, 0x01)), 2 ** -24)
    assert.equal(locationOf(withByte(3, 0x01)), 2 ** -32)
    assert.equal(locationOf(withByte(4, 0x01)), 2 ** -40)
    assert.equal(locationOf(withByte(5, 0x01)), 2 ** -48)
    assert.equal(locationOf(withByte(6, 0x10)), 2 ** -52)
    assert.equal(locationOf(withByte(6, 0x0f)), 0, 'bits after the 52nd do not count')
    assert.equal(locationOf(withByte(31, 0xff)), 0)
    assert.equal(locationOf(new Uint8Array(32).fill(0xff)), 1 - 2 ** -52)
    assert.equal(locationOf(Uint8Array.from([0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, ...new Uint8Array(25)])), 0x123456789abcd / 2 ** 52)
  })

  it('the location of hex agrees with the location of the bytes, in either case', () => {
    for (const text of ['a', 'b', 'warren', '']) {
      const k = RoutingKey.hash(enc.encode(text))
      assert.equal(locationOfHex(k.hex), k.loc)
      assert.equal(locationOfHex(k.hex.toUpperCase()), k.loc)
    }
    assert.equal(locationOfHex('8' + '0'.repeat(63)), 0.5)
    assert.equal(locationOfHex('0000000000001' + 'f'.repeat(51)), 2 ** -52)
  })

  it('distance is circular and symmetric, at most one half', () => {
    const near = (a: number, b: number): void => { assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`) }
    near(distance(0.1, 0.3), 0.2)
    near(distance(0.3, 0.1), 0.2)
    near(distance(0.9, 0.1), 0.2)
    near(distance(0.1, 0.9), 0.2)
    assert.equal(distance(0, 0.5), 0.5)
    assert.equal(distance(0.25, 0.75), 0.5)
    assert.equal(distance(0.75, 0.25), 0.5)
    assert.equal(distance(0.2, 0.2), 0)
    assert.equal(distance(0, 0.75), 0.25)
  })

  it('sha256 hashes the concatenation of its parts', () => {
    assert.equal(toHex(sha256(enc.encode('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    assert.deepEqual(sha256(enc.encode('a'), enc.encode('bc')), sha256(enc.encode('abc')))
    assert.equal(toHex(sha256()), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
  })

  it('sha256 gives OpenSSL\'s digest on both sides of its short-input path, in one part or several', () => {
    // Short inputs are hashed in JavaScript, long ones by node:crypto (routing-key.ts).
    for (const n of [0, 1, 55, 56, 63, 64, 80, 1023, 1024, 1025, 4096, 32768]) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 131 + n) & 0xff)
      const want = createHash('sha256').update(data).digest('hex')
      assert.equal(toHex(sha256(data)), want, `${n} bytes in one part`)
      const cut = n >> 1
      assert.equal(toHex(sha256(data.subarray(0, cut), new Uint8Array(0), data.subarray(cut))), want, `${n} bytes in three parts`)
    }
  })

  it('hex of a view reads only the view', () => {
    const whole = Uint8Array.from([1, 2, 3, 4, 5, 6])
    assert.equal(toHex(whole.subarray(2, 4)), '0304')
  })

  it('hex is lower case both ways, and anything else is refused', () => {
    assert.equal(toHex(Uint8Array.from([0, 1, 0xab, 0xff])), '0001abff')
    assert.deepEqual(fromHex('0001abff'), Uint8Array.from([0, 1, 0xab, 0xff]))
    assert.deepEqual(fromHex('ABCD'), Uint8Array.from([0xab, 0xcd]))
    assert.deepEqual(fromHex(''), new Uint8Array(0))
    const bytes = sha256(enc.encode('every byte differs'))
    assert.deepEqual(fromHex(toHex(bytes)), bytes)
    for (const bad of ['abc', 'zz00', '00zz', '0g', ' 00', '0x00']) assert.throws(() => fromHex(bad), /invalid hex string/, bad)
  })

  it('a routing key is 32 bytes with its location, hex identity and equality', () => {
    assert.throws(() => new RoutingKey(new Uint8Array(31)), /a routing key is 32 bytes, got 31/)
    assert.throws(() => new RoutingKey(new Uint8Array(33)), /a routing key is 32 bytes, got 33/)
    const bytes = withByte(0, 0x80)
    const k = new RoutingKey(bytes)
    assert.equal(k.loc, 0.5)
    assert.equal(k.hex, '80' + '0'.repeat(62))
    assert.equal(k.toString(), k.hex)
    assert.equal(k.equals(new RoutingKey(Uint8Array.from(bytes))), true)
    assert.equal(k.equals(new RoutingKey(withByte(31, 1))), false)
    assert.equal(RoutingKey.fromHex(k.hex).equals(k), true)
    assert.equal(RoutingKey.hash(enc.encode('a'), enc.encode('bc')).hex, toHex(sha256(enc.encode('abc'))))
  })
})

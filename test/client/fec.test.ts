/**
 * The Reed-Solomon codec: fixed test vectors (check blocks are a stored format: a library
 * upgrade that changed them would make every stored check block useless) and rebuilding a
 * segment from every kind of k-of-n subset.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { encoderMemoryBytes, fecEncode, fecReconstruct } from '../../src/client/fec.js'
import { randomBytes } from '../helpers/seed.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

function pattern (count: number, size: number, a: number, b: number, c: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => Uint8Array.from({ length: size }, (_, j) => (i * a + j * b + c) & 255))
}

describe('FEC codec', () => {
  it('matches the recorded test vector for k=4, m=2', () => {
    const parity = fecEncode(pattern(4, 16, 16, 7, 1), 2)
    assert.deepEqual(parity.map(hex), ['41484f2229f9f6a1aa00070eb3ba9990', '51585f8f84e9e64c4710171e39308980'])
  })

  it('matches the recorded test vector for a full 128 + 128 segment', () => {
    const h = createHash('sha256')
    for (const p of fecEncode(pattern(128, 1024, 31, 17, 3), 128)) h.update(p)
    assert.equal(h.digest('hex'), '8fae14fe14b76f52187b2fa93f3f8f3c7e0e1cbb9f8c3f626076d22d5c76bdfb')
  })

  it('rebuilds the data from any k of n blocks, with fresh erasure patterns each time', () => {
    const k = 10
    const m = 6
    const data = Array.from({ length: k }, () => new Uint8Array(randomBytes(512)))
    const all = [...data, ...fecEncode(data, m)]
    const patterns = [
      [0, 1, 2, 3, 4, 5], // the first m data blocks
      [10, 11, 12, 13, 14, 15], // every check block
      [1, 3, 5, 11, 13, 15], // mixed
      [9], // one
      [0, 2, 4, 6, 8, 10]
    ]
    for (const lost of patterns) {
      const got = fecReconstruct(all.map((b, i) => lost.includes(i) ? undefined : b), k, m)
      assert.deepEqual(got.map(hex), data.map(hex), `lost ${lost.join(',')}`)
    }
  })

  it('refuses to rebuild from fewer than k blocks', () => {
    const data = Array.from({ length: 4 }, () => new Uint8Array(randomBytes(64)))
    const all = [...data, ...fecEncode(data, 2)]
    assert.throws(() => fecReconstruct(all.map((b, i) => i < 3 ? undefined : b), 4, 2), /3 of 6 blocks present, 4 needed/)
  })

  it('does not grow memory over many segments (the wasm allocator keeps what it took)', () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const data = pattern(128, 1024, 3, 5, 7)
    const want = fecEncode(data, 128)
    gc()
    const before = process.memoryUsage().external
    for (let i = 0; i < 160; i++) fecEncode(data, 128)
    // Twice: the first collection's dead buffers are freed by a sweeper that the second waits for.
    gc()
    gc()
    const grown = process.memoryUsage().external - before
    // The package's own encode leaked its 256 KiB working copy each time (40 MiB by now), and
    // the crate leaks ~70 KiB an encode of its own (11 MiB) unless the instance is renewed.
    assert.ok(grown < 6 * 2 ** 20, `external memory grew ${(grown / 2 ** 20).toFixed(1)} MiB over 160 encodes`)
    // The instance: a working buffer of 256 blocks (256 KiB) and ~1 MiB of its own, plus at
    // most 4 MiB of leaks before it is renewed.
    assert.ok(encoderMemoryBytes() < 6 * 2 ** 20, `the encoder holds ${(encoderMemoryBytes() / 2 ** 20).toFixed(1)} MiB`)
    assert.deepEqual(fecEncode(data, 128), want, 'the same check blocks from a renewed instance')
  })

  it('rejects segments over 256 blocks and mismatched sizes', () => {
    assert.throws(() => fecEncode(pattern(200, 8, 1, 1, 1), 57), /at most 256/)
    assert.throws(() => fecEncode([new Uint8Array(8), new Uint8Array(9)], 1), /expected 8/)
  })
})

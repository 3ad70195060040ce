/**
 * Replayable randomness for tests. Every random choice a test makes (a kill point, random
 * bytes, a random topology) comes from one seed per test process: `WARREN_TEST_SEED` when set,
 * otherwise a fresh one. If the process ends in failure the seed is printed with the command
 * that replays it:
 *
 *   WARREN_TEST_SEED=123456789 node --test dist/test/store/crash.test.js
 *
 * Randomness inside the code under test (libp2p peer keys, the node's own cryptoRng) is not
 * covered: it stays cryptographic on purpose.
 */
import { createCipheriv, createHash, randomInt } from 'node:crypto'
import { relative } from 'node:path'
import { seededRng } from '../../src/routing/random.js'
import type { Rng } from '../../src/routing/random.js'

function readSeed (): number {
  const raw = process.env.WARREN_TEST_SEED
  if (raw === undefined || raw === '') return randomInt(2 ** 32)
  const seed = Number(raw)
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
    throw new Error(`WARREN_TEST_SEED must be an integer in [0, 2^32), got "${raw}"`)
  }
  return seed
}

/** This process's seed. */
export const TEST_SEED = readSeed()

process.on('exit', (code) => {
  if (code === 0) return
  const file = process.argv[1] === undefined ? '<test file>' : relative(process.cwd(), process.argv[1])
  process.stderr.write(`\nrandomized test failed with WARREN_TEST_SEED=${TEST_SEED}; replay: WARREN_TEST_SEED=${TEST_SEED} node --test ${file}\n`)
})

/** 32-bit seed of a named stream: independent streams per purpose, all from TEST_SEED. */
function streamSeed (stream: string): number {
  return createHash('sha256').update(`${TEST_SEED}/${stream}`).digest().readUInt32BE(0)
}

/** A seeded PRNG (floats in [0, 1)) for one purpose of a test, e.g. `testRng('kill point')`. */
export function testRng (stream: string): Rng {
  return seededRng(streamSeed(stream))
}

// One ChaCha20 keystream per process for bulk bytes: fast, and the same sequence every replay.
const bytesStream = createCipheriv('chacha20', createHash('sha256').update(`${TEST_SEED}/bytes`).digest(), Buffer.alloc(16))

/**
 * `n` pseudo-random bytes from this process's seeded stream: a drop-in for node:crypto's
 * randomBytes in tests (the same calls in the same order give the same bytes under a seed).
 */
export function randomBytes (n: number): Buffer<ArrayBuffer> {
  // A cipher's output is a fresh, unshared buffer (typed more loosely by @types/node).
  return bytesStream.update(Buffer.alloc(n))
}

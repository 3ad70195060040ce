/**
 * Randomness for the routing core. The core never calls Math.random: every node gets an
 * `Rng` (a function returning a float in [0, 1)). The libp2p node uses `cryptoRng`; the
 * simulator and tests use `seededRng` so that a run is reproducible from its seed.
 */
import { randomBytes } from 'node:crypto'

export type Rng = () => number

/** A seeded Rng whose state can be read and set again (simulation checkpoints, src/sim/checkpoint.ts). */
export interface SeededRng extends Rng {
  state: () => number[]
  setState: (state: number[]) => void
}

/** sfc32 seeded from a 32-bit integer via splitmix32: fast, good statistical quality. */
export function seededRng (seed: number): SeededRng {
  let s = seed >>> 0
  const split = (): number => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
  let a = split()
  let b = split()
  let c = split()
  let d = split()
  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0
    d = (d + 1) >>> 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) >>> 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) >>> 0
    return t / 4294967296
  }
  for (let i = 0; i < 12; i++) next()
  return Object.assign(next, {
    state: () => [a, b, c, d],
    setState: (st: number[]) => {
      // Words as the generator holds them: unsigned, but `c` as a signed 32-bit integer.
      if (st.length !== 4 || !st.every((x) => Number.isInteger(x) && x >= -(2 ** 31) && x < 2 ** 32)) throw new Error('an sfc32 state is four 32-bit words')
      ;[a, b, c, d] = st
    }
  })
}

/** Cryptographically random floats (for the real node, where routing noise must be unpredictable). */
export function cryptoRng (): Rng {
  let pool = randomBytes(0)
  let off = 0
  return () => {
    if (off + 8 > pool.length) {
      pool = randomBytes(4096)
      off = 0
    }
    const hi = pool.readUInt32BE(off) >>> 11 // 21 bits
    const lo = pool.readUInt32BE(off + 4) // 32 bits
    off += 8
    return (hi * 4294967296 + lo) / 9007199254740992
  }
}

/** A random 64-bit transaction ID drawn from `rng` (two 32-bit halves). */
export function randomId (rng: Rng): bigint {
  const hi = BigInt(Math.floor(rng() * 4294967296))
  const lo = BigInt(Math.floor(rng() * 4294967296))
  return (hi << 32n) | lo
}

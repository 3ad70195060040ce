/**
 * Benchmark: the cost of one Noise transport message, sealed and opened, with @libp2p/noise's
 * own ciphers (`defaultCrypto`) and with a warren node's (src/protocol/noise-crypto.ts), side by
 * side in one run, rounds alternating. Prints JSON: microseconds per message (seal + open) and
 * MB/s per size, and the ratio default / warren (> 1: warren's is cheaper).
 *
 * Usage: npm run build && npx node dist/bench/noise-crypto.js [--messages 4000] [--rounds 3]
 *
 * Sizes: a window update or credit grant (the library's WebAssembly cipher in both), two small
 * link writes (either side of the library's 1,200-byte switch to node:crypto), a 32 KiB block's
 * link frame, and Noise's largest message.
 */
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { defaultCrypto } from '@libp2p/noise/crypto'
import { noiseCrypto } from '../src/protocol/noise-crypto.js'
import type { ICryptoInterface } from '@libp2p/noise'

const { values } = parseArgs({ options: { messages: { type: 'string', default: '4000' }, rounds: { type: 'string', default: '3' } } })
const messages = Number(values.messages)
const rounds = Number(values.rounds)
if (!(messages > 0) || !(rounds > 0)) throw new Error('--messages and --rounds take positive numbers')

const SIZES = [28, 800, 1200, 34_816, 65_519]

/** Microseconds per message: seal and open `messages` messages of `size` bytes under one session key. */
function perMessage (crypto: ICryptoInterface, size: number): number {
  const k = randomBytes(32)
  const ad = new Uint8Array(0)
  const nonce = new Uint8Array(12)
  const view = new DataView(nonce.buffer)
  const plain = randomBytes(size)
  const start = performance.now()
  for (let i = 0; i < messages; i++) {
    view.setUint32(4, i, true)
    const sealed = crypto.chaCha20Poly1305Encrypt(plain, nonce, ad, k)
    crypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, k)
  }
  return (performance.now() - start) * 1000 / messages
}

const results = SIZES.map((size) => {
  const best = { default: Infinity, warren: Infinity }
  // Alternating, best of the rounds: the machine is shared, the minimum is the least disturbed.
  for (let r = 0; r < rounds; r++) {
    best.default = Math.min(best.default, perMessage(defaultCrypto, size))
    best.warren = Math.min(best.warren, perMessage(noiseCrypto, size))
  }
  const round = (x: number): number => Math.round(x * 10) / 10
  const mbps = (us: number): number => Math.round(size / us)
  return {
    bytes: size,
    usPerMessage: { default: round(best.default), warren: round(best.warren) },
    MBps: { default: mbps(best.default), warren: mbps(best.warren) },
    defaultOverWarren: Math.round(best.default / best.warren * 100) / 100
  }
})

console.log(JSON.stringify({ setup: { messages, rounds, measure: 'seal + open of one message, best of the rounds', node: process.version }, sizes: results }, null, 2))

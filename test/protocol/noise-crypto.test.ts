/**
 * The Noise ciphers of a warren node (src/protocol/noise-crypto.ts): the same bytes as
 * @libp2p/noise's own implementation for every message size and input shape, tampering refused,
 * a key array written over never encrypted to under its old key, and a warren node talking to a
 * stock libp2p peer (the library's default ciphers) over a real connection, both ways.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { defaultCrypto } from '@libp2p/noise/crypto'
import { Uint8ArrayList } from 'uint8arraylist'
import { noiseCrypto, sessionKey } from '../../src/protocol/noise-crypto.js'
import { createRawPeer } from '../helpers/raw-peer.js'
import { createNode } from '../helpers/network.js'
import { removeTempDir } from '../helpers/temp.js'
import type { RawPeer } from '../helpers/raw-peer.js'
import type { WarrenNode } from '../../src/node.js'

/** As a plain Uint8Array (not a Buffer), for strict comparison. */
const bytesOf = (x: Uint8Array | Uint8ArrayList): Uint8Array => new Uint8Array(x instanceof Uint8Array ? x : x.subarray())
const nonce = (n: number): Uint8Array => { const b = new Uint8Array(12); new DataView(b.buffer).setUint32(4, n, true); return b }

/** Sizes either side of both switches to node:crypto (640 bytes here, 1,200 in the library), and Noise's largest payload. */
const SIZES = [0, 1, 100, 639, 640, 641, 1199, 1200, 1201, 4096, 32768 + 40, 65519]

describe('noise ciphers', () => {
  it('encrypt to the bytes of the library\'s own ciphers, and each side opens the other\'s', () => {
    const k = randomBytes(32)
    const ad = randomBytes(32)
    let n = 0
    for (const size of SIZES) {
      const plain = new Uint8Array(randomBytes(size))
      // As one array, and as a list of pieces (how yamux hands Noise a frame and its header).
      const cut = Math.floor(size / 3)
      for (const input of [plain, new Uint8ArrayList(plain.subarray(0, cut), plain.subarray(cut))]) {
        n++
        const ours = bytesOf(noiseCrypto.chaCha20Poly1305Encrypt(input, nonce(n), ad, k))
        const theirs = bytesOf(defaultCrypto.chaCha20Poly1305Encrypt(input, nonce(n), ad, k))
        assert.deepEqual(ours, theirs, `size ${size}`)
        assert.equal(ours.byteLength, size + 16)
        assert.deepEqual(bytesOf(defaultCrypto.chaCha20Poly1305Decrypt(ours, nonce(n), ad, k)), plain)
        assert.deepEqual(bytesOf(noiseCrypto.chaCha20Poly1305Decrypt(theirs, nonce(n), ad, k)), plain)
        const list = new Uint8ArrayList(theirs.subarray(0, cut), theirs.subarray(cut))
        assert.deepEqual(bytesOf(noiseCrypto.chaCha20Poly1305Decrypt(list, nonce(n), ad, k)), plain)
      }
    }
  })

  it('refuses a message with a flipped bit, the wrong nonce or the wrong associated data', () => {
    const k = randomBytes(32)
    const ad = randomBytes(32)
    for (const size of [100, 4096, 65519]) {
      const sealed = bytesOf(noiseCrypto.chaCha20Poly1305Encrypt(randomBytes(size), nonce(1), ad, k))
      for (const at of [0, size - 1, size, size + 15]) {
        const bad = Uint8Array.from(sealed)
        bad[at] ^= 1
        assert.throws(() => noiseCrypto.chaCha20Poly1305Decrypt(bad, nonce(1), ad, k), Error, `size ${size}, bit at ${at}`)
      }
      assert.throws(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce(2), ad, k))
      assert.throws(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce(1), randomBytes(32), k))
    }
  })

  it('makes one key object per session key, and a new one when the key array is written over', () => {
    const k = randomBytes(32)
    assert.equal(sessionKey(k), sessionKey(k))
    const plain = new Uint8Array(randomBytes(4096))
    const ad = new Uint8Array(0)
    const first = bytesOf(noiseCrypto.chaCha20Poly1305Encrypt(plain, nonce(0), ad, k))
    const oldKey = Uint8Array.from(k)
    k.set(randomBytes(32))
    const second = bytesOf(noiseCrypto.chaCha20Poly1305Encrypt(plain, nonce(0), ad, k))
    assert.notDeepEqual(second, first)
    assert.deepEqual(second, bytesOf(defaultCrypto.chaCha20Poly1305Encrypt(plain, nonce(0), ad, k)))
    assert.throws(() => defaultCrypto.chaCha20Poly1305Decrypt(second, nonce(0), ad, oldKey))
  })

  describe('on a real connection with a stock libp2p peer', () => {
    let node: WarrenNode
    let dir: string
    let peer: RawPeer
    const ECHO = '/warren-test/echo/1.0.0'

    before(async () => {
      ;({ node, dir } = await createNode())
      peer = await createRawPeer()
      // The stock peer echoes what it is sent: every byte crosses the connection both ways.
      await peer.handle(ECHO, (stream) => {
        stream.addEventListener('message', (evt) => { stream.send(evt.data) })
        stream.addEventListener('remoteCloseWrite', () => { void stream.close() })
      })
    })

    after(async () => {
      await peer.stop()
      await node.stop()
      await removeTempDir(dir)
    })

    it('moves 4 MiB in large and small messages to the peer and back, unchanged', async () => {
      const sent = new Uint8Array(randomBytes(4 * 1024 * 1024))
      const stream = await node.libp2p.dialProtocol(peer.getMultiaddrs()[0], ECHO)
      const got = new Uint8ArrayList()
      const done = new Promise<void>((resolve, reject) => {
        stream.addEventListener('message', (evt) => {
          got.append(evt.data)
          if (got.byteLength >= sent.byteLength) resolve()
        })
        stream.addEventListener('close', (evt) => { if (evt.error !== undefined) reject(evt.error) })
      })
      // Pieces from 1 byte to 100 KiB: Noise messages under and over the small-message threshold.
      for (let at = 0, size = 1; at < sent.byteLength; at += size, size = Math.min(size * 3, 100_000)) {
        if (!stream.send(sent.subarray(at, at + size))) await stream.onDrain()
      }
      await done
      assert.deepEqual(bytesOf(got), sent)
      await stream.close()
    })
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Block, KeyType } from '../../proto/warren.js'
import { SskHeaders } from '../../proto/keys.js'
import { checkBlock, verifyBlock } from '../../src/keys/block-verify.js'
import {
  decodeSsk, encodeSsk, generateCryptoKey, generateSskKeyPair, SSK_DATA_BYTES, SSK_MAX_PAYLOAD, sskPubKeyHash,
  sskRefOf, sskRoutingKey, SskType
} from '../../src/keys/ssk.js'
import type { SskInsertRef } from '../../src/keys/ssk.js'

const enc = new TextEncoder()
const dec = new TextDecoder()

/** Through the wire codec, as a node receives it. */
function wire (block: Block): Block {
  return Block.decode(Block.encode(block))
}

function reason (r: ReturnType<typeof checkBlock>): string {
  return r.ok ? '' : r.reason
}

describe('SSK blocks', () => {
  const pair = generateSskKeyPair()
  const cryptoKey = generateCryptoKey()
  const ref: SskInsertRef = { privateKey: pair.privateKey, cryptoKey, name: 'music/song1' }
  const payload = enc.encode('warren:CHK@somewhere')
  const { routingKey, block } = encodeSsk(ref, SskType.REDIRECT, payload)

  it('derives the same routing key on the insert and the request side', () => {
    const req = sskRefOf(ref)
    assert.deepEqual(req.pubKeyHash, sskPubKeyHash(pair.publicKey))
    assert.ok(sskRoutingKey(req).equals(routingKey))
    assert.equal(block.type, KeyType.SSK)
    assert.equal(block.data.length, SSK_DATA_BYTES)
  })

  it('verifies at a node and decrypts with the crypto key and name', () => {
    assert.deepEqual(checkBlock(routingKey, wire(block)), { ok: true })
    const d = decodeSsk(routingKey, wire(block), { cryptoKey, name: 'music/song1' })
    assert.equal(d.type, SskType.REDIRECT)
    assert.equal(dec.decode(d.payload), 'warren:CHK@somewhere')
  })

  it('does not reveal the document name or the payload to nodes', () => {
    const all = Buffer.concat([block.data, block.headers, block.pubkey, block.signature])
    assert.equal(all.includes(Buffer.from('song1')), false)
    assert.equal(all.includes(Buffer.from('somewhere')), false)
  })

  it('fails to decrypt with the wrong crypto key or name', () => {
    assert.throws(() => decodeSsk(routingKey, block, { cryptoKey: generateCryptoKey(), name: 'music/song1' }), /failed authentication/)
    assert.throws(() => decodeSsk(routingKey, block, { cryptoKey, name: 'music/song2' }), /failed authentication/)
  })

  it('rejects a forged signature', () => {
    const sig = new Uint8Array(block.signature)
    sig[10] ^= 1
    assert.match(reason(checkBlock(routingKey, wire({ ...block, signature: sig }))), /bad signature/)
    assert.match(reason(checkBlock(routingKey, wire({ ...block, signature: new Uint8Array(64) }))), /bad signature/)
  })

  it('rejects a block signed by another key pair for the same name (wrong public key)', () => {
    const other = encodeSsk({ ...ref, privateKey: generateSskKeyPair().privateKey }, SskType.REDIRECT, payload)
    assert.match(reason(checkBlock(routingKey, wire(other.block))), /not bound to key .*wrong public key or document name/)
    // Swapping only the public key breaks the binding too.
    assert.match(reason(checkBlock(routingKey, wire({ ...block, pubkey: other.block.pubkey }))), /not bound/)
  })

  it('rejects a genuine block for another document name (and a replayed older edition)', () => {
    const v1 = encodeSsk({ ...ref, name: 'blog/1' }, SskType.REDIRECT, payload)
    const v2Key = sskRoutingKey(sskRefOf({ ...ref, name: 'blog/2' }))
    assert.equal(verifyBlock(v1.routingKey, wire(v1.block)), true)
    assert.match(reason(checkBlock(v2Key, wire(v1.block))), /not bound/)
    // Rewriting the headers to claim the other name breaks the signature instead.
    const h = SskHeaders.decode(v1.block.headers)
    const forgedHeaders = SskHeaders.encode({ ...h, nameHash: SskHeaders.decode(encodeSsk({ ...ref, name: 'blog/2' }, SskType.REDIRECT, payload).block.headers).nameHash })
    assert.match(reason(checkBlock(v2Key, wire({ ...v1.block, headers: forgedHeaders }))), /bad signature/)
  })

  it('rejects tampered data, headers and malformed fields', () => {
    const data = new Uint8Array(block.data)
    data[100] ^= 0x40
    assert.match(reason(checkBlock(routingKey, wire({ ...block, data }))), /bad signature/)
    assert.match(reason(checkBlock(routingKey, wire({ ...block, data: block.data.slice(1) }))), /SSK data is/)
    assert.match(reason(checkBlock(routingKey, wire({ ...block, headers: Uint8Array.from([0xff, 0xff]) }))), /not a valid SskHeaders|version/)
    assert.match(reason(checkBlock(routingKey, wire({ ...block, headers: new Uint8Array(1000) }))), /headers are 1000 bytes/)
    assert.match(reason(checkBlock(routingKey, wire({ ...block, pubkey: block.pubkey.slice(1) }))), /public key is 31 bytes/)
    assert.match(reason(checkBlock(routingKey, wire({ ...block, signature: new Uint8Array() }))), /signature is 0 bytes/)
  })

  it('caps the payload and names the remedy', () => {
    assert.doesNotThrow(() => encodeSsk(ref, SskType.REDIRECT, new Uint8Array(SSK_MAX_PAYLOAD)))
    assert.throws(() => encodeSsk(ref, SskType.REDIRECT, new Uint8Array(SSK_MAX_PAYLOAD + 1)), /redirect/)
  })

  it('encrypts each insert under a fresh nonce', () => {
    const again = encodeSsk(ref, SskType.REDIRECT, payload)
    assert.ok(again.routingKey.equals(routingKey))
    assert.notDeepEqual(again.block.data, block.data)
    assert.equal(verifyBlock(routingKey, again.block), true)
  })
})

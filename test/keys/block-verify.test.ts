import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Block, KeyType } from '../../proto/warren.js'
import { checkBlock, verifyBlock } from '../../src/keys/block-verify.js'
import { ChkType, encodeChk } from '../../src/keys/chk.js'

const chk = encodeChk(ChkType.DATA, new TextEncoder().encode('verify me'))
const other = encodeChk(ChkType.DATA, new TextEncoder().encode('someone else'))

function chkBlock (data: Uint8Array<ArrayBuffer>, extra: Partial<Block> = {}): Block {
  // Through the wire codec, as a node receives it.
  return Block.decode(Block.encode({ type: KeyType.CHK, data, ...extra }))
}

describe('verifyBlock', () => {
  it('accepts a CHK block under its own key', () => {
    assert.deepEqual(checkBlock(chk.routingKey, chkBlock(chk.block)), { ok: true })
    assert.equal(verifyBlock(chk.routingKey, chkBlock(chk.block)), true)
  })

  it('rejects a CHK block under another key', () => {
    const result = checkBlock(other.routingKey, chkBlock(chk.block))
    assert.equal(result.ok, false)
    assert.match(!result.ok ? result.reason : '', new RegExp(`does not match key ${other.routingKey.hex}`))
    assert.equal(verifyBlock(other.routingKey, chkBlock(chk.block)), false)
  })

  it('rejects a tampered or truncated CHK block', () => {
    const bad = new Uint8Array(chk.block)
    bad[7] ^= 0x80
    assert.equal(verifyBlock(chk.routingKey, chkBlock(bad)), false)
    assert.equal(verifyBlock(chk.routingKey, chkBlock(chk.block.slice(1))), false)
  })

  it('rejects a CHK block carrying SSK fields', () => {
    const result = checkBlock(chk.routingKey, chkBlock(chk.block, { pubkey: new Uint8Array(32) }))
    assert.deepEqual(result, { ok: false, reason: 'a CHK block carries no pubkey, signature or headers' })
  })

  it('rejects a CHK block dressed up as an SSK block (no public key or signature)', () => {
    const block = Block.decode(Block.encode({ type: KeyType.SSK, data: chk.block }))
    assert.deepEqual(checkBlock(chk.routingKey, block), { ok: false, reason: 'SSK public key is 0 bytes, not 32' })
    assert.equal(verifyBlock(chk.routingKey, block), false)
  })
})

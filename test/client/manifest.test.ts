import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Manifest } from '../../proto/manifest.js'
import { decodeManifest, encodeManifest, MANIFEST_FANOUT, MAX_MANIFEST_HEIGHT, REF_BYTES } from '../../src/client/manifest.js'
import { ChkType, CHK_MAX_PAYLOAD, decodeChk, encodeChk } from '../../src/keys/chk.js'
import type { ChkRef } from '../../src/keys/chk.js'

function refs (count: number): ChkRef[] {
  return Array.from({ length: count }, (_, i) => {
    const { routingKey, decryptKey } = encodeChk(ChkType.DATA, Uint8Array.of(i & 0xff, i >> 8))
    return { routingKey, decryptKey }
  })
}

describe('manifests', () => {
  it('round-trips through a CHK block', () => {
    const manifest = { size: 3 * CHK_MAX_PAYLOAD - 5, height: 0, refs: refs(3) }
    const chk = encodeChk(ChkType.MANIFEST, encodeManifest(manifest))
    const decoded = decodeManifest(decodeChk(chk.block, chk.decryptKey).payload)
    assert.equal(decoded.size, manifest.size)
    assert.equal(decoded.height, 0)
    assert.equal(decoded.refs.length, 3)
    decoded.refs.forEach((ref, i) => {
      assert.ok(ref.routingKey.equals(manifest.refs[i].routingKey))
      assert.deepEqual(ref.decryptKey, manifest.refs[i].decryptKey)
    })
  })

  it('fits a full manifest of the largest size and height in one block, and not one more ref', () => {
    // About 500 refs of 64 bytes per 32 KiB block.
    assert.ok(MANIFEST_FANOUT * REF_BYTES <= CHK_MAX_PAYLOAD && (MANIFEST_FANOUT + 1) * REF_BYTES > CHK_MAX_PAYLOAD - REF_BYTES)
    const full = refs(MANIFEST_FANOUT)
    const payload = encodeManifest({ size: Number.MAX_SAFE_INTEGER, height: MAX_MANIFEST_HEIGHT, refs: full })
    assert.ok(payload.length <= CHK_MAX_PAYLOAD)
    assert.equal(decodeManifest(payload).refs.length, MANIFEST_FANOUT)
    assert.throws(() => encodeManifest({ size: 1, height: 1, refs: [...full, full[0]] }), /1\.\.511 refs, got 512/)
  })

  it('refuses to encode nonsense', () => {
    assert.throws(() => encodeManifest({ size: 1, height: 0, refs: [] }), /got 0/)
    assert.throws(() => encodeManifest({ size: -1, height: 0, refs: refs(1) }), /invalid manifest size/)
    assert.throws(() => encodeManifest({ size: 1, height: MAX_MANIFEST_HEIGHT + 1, refs: refs(1) }), /height must be/)
  })

  for (const [name, payload, problem] of [
    ['garbage', Uint8Array.of(0xff, 0xff, 0xff), /malformed manifest/],
    ['no refs', Manifest.encode({ size: 0, height: 0 }), /refs are 0 bytes/],
    ['a partial ref', Manifest.encode({ size: 1, height: 0, refs: new Uint8Array(REF_BYTES + 1) }), /refs are 65 bytes/],
    ['too deep a tree', Manifest.encode({ size: 1, height: MAX_MANIFEST_HEIGHT + 1, refs: new Uint8Array(REF_BYTES) }), /height 5 exceeds 4/],
    ['more data than its blocks hold', Manifest.encode({ size: CHK_MAX_PAYLOAD + 1, height: 0, refs: new Uint8Array(REF_BYTES) }), /1 data blocks cannot hold 32748 bytes/]
  ] as const) {
    it(`rejects ${name}`, () => {
      assert.throws(() => decodeManifest(payload), problem)
    })
  }
})

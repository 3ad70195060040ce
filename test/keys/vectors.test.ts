/**
 * Known-answer vectors (test/vectors/*.json): the code must reproduce every key, URI, block
 * key and manifest from the files' fixed inputs. The values were made once by
 * test/vectors/make.ts and checked independently (Python, test/vectors/check.py); a change that
 * fails here changes the format every existing node speaks — see each file's "compatibility".
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { KeyType } from '../../proto/warren.js'
import { checkBlock } from '../../src/keys/block-verify.js'
import { RoutingKey } from '../../src/keys/routing-key.js'
import { decodeSsk } from '../../src/keys/ssk.js'
import { deriveChk, deriveKskVector, deriveSplit, deriveSskDoc, deriveSskPublic, fromHex } from '../vectors/derive.js'
import type { ChkCase, ChkResult, KskResult, SplitCase, SplitResult, SskDoc, SskSubspace } from '../vectors/derive.js'
import type { Block } from '../../proto/warren.js'

// The vector files' shapes are the call sites' to state (JSON.parse gives no type to infer).
// oxlint-disable-next-line typescript/no-unnecessary-type-parameters
const load = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../../../test/vectors/${name}`, import.meta.url), 'utf8')) as T

describe('known-answer vectors', () => {
  it('CHK: payload bytes -> decryption key, routing key and URI', () => {
    const { cases } = load<{ cases: Array<ChkCase & { expect: ChkResult }> }>('chk.json')
    assert.ok(cases.length >= 5)
    for (const c of cases) assert.deepEqual(deriveChk(c), c.expect, `CHK vector "${c.name}"`)
  })

  describe('SSK', () => {
    const v = load<{
      subspace: SskSubspace & { expect: { publicKey: string, pubKeyHash: string } }
      documents: SskDoc[]
      signedBlock: { name: string, type: number, payload: string, routingKey: string, block: Record<'pubkey' | 'headers' | 'data' | 'signature', string> }
    }>('ssk.json')
    const key = new RoutingKey(fromHex(v.signedBlock.routingKey))
    const block = (): Block => ({ type: KeyType.SSK, ...Object.fromEntries(Object.entries(v.signedBlock.block).map(([k, hex]) => [k, fromHex(hex)])) } as unknown as Block)

    it('fixed private key -> public key (RFC 8032 7.1 TEST 1) and its hash', () => {
      assert.equal(v.subspace.expect.publicKey, 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')
      assert.deepEqual(deriveSskPublic(v.subspace), v.subspace.expect)
    })

    it('document name -> name hash, routing key and request URI', () => {
      assert.ok(v.documents.length >= 3)
      for (const d of v.documents) assert.deepEqual(deriveSskDoc(v.subspace, d.name), d, `SSK document "${d.name}"`)
    })

    it('the stored signed block verifies under its routing key and decrypts to its payload', () => {
      assert.deepEqual(checkBlock(key, block()), { ok: true })
      assert.equal(key.hex, deriveSskDoc(v.subspace, v.signedBlock.name).routingKey)
      const opened = decodeSsk(key, block(), { cryptoKey: fromHex(v.subspace.cryptoKey), name: v.signedBlock.name })
      assert.equal(opened.type, v.signedBlock.type)
      assert.equal(new TextDecoder().decode(opened.payload), v.signedBlock.payload)
    })

    it('one flipped bit anywhere in the block, or another document\'s key, fails verification', () => {
      for (const field of ['signature', 'data', 'headers', 'pubkey'] as const) {
        for (const at of [0, 17, -1]) {
          const b = block()
          const bytes = b[field]
          bytes[(at + bytes.length) % bytes.length] ^= 0x01
          assert.equal(checkBlock(key, b).ok, false, `bit flipped in ${field}[${at}] still verifies`)
        }
      }
      const other = new RoutingKey(fromHex(v.documents.find((d) => d.name !== v.signedBlock.name)!.routingKey))
      assert.equal(checkBlock(other, block()).ok, false)
    })
  })

  it('KSK: keyword -> key pair, crypto key and routing key; NFC forms agree', () => {
    const { cases, sameAs } = load<{ cases: KskResult[], sameAs: Array<{ keyword: string, as: string }> }>('ksk.json')
    assert.ok(cases.length >= 3)
    for (const c of cases) assert.deepEqual(deriveKskVector(c.keyword), c, `KSK "${c.keyword}"`)
    for (const s of sameAs) {
      assert.notEqual(s.keyword, s.as)
      assert.deepEqual({ ...deriveKskVector(s.keyword), keyword: s.as }, cases.find((c) => c.keyword === s.as))
    }
  })

  it('split file: fixed input -> every block key, the manifest and the URI', async () => {
    const { cases } = load<{ cases: Array<SplitCase & { expect: SplitResult }> }>('splitfile.json')
    assert.ok(cases.some((c) => c.expect.segments > 1 && c.expect.checkBlocks > 0), 'a vector with FEC segments')
    for (const c of cases) assert.deepEqual(await deriveSplit(c), c.expect, `split file "${c.name}"`)
  })
})

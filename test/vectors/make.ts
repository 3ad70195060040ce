/**
 * Writes the known-answer vectors test/vectors/{chk,ssk,ksk,splitfile}.json from fixed inputs
 * with the current code. NOT run by the suite: run it only for a deliberate format change,
 *   npm run build && node dist/test/vectors/make.js && python3 test/vectors/check.py
 * and say in the commit why every existing node's keys change (see "compatibility" below).
 */
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ChkType, CHK_MAX_PAYLOAD } from '../../src/keys/chk.js'
import { toHex } from '../../src/keys/routing-key.js'
import { encodeSsk, SskType } from '../../src/keys/ssk.js'
import { deriveChk, deriveKskVector, deriveSplit, deriveSskDoc, deriveSskPublic, fromHex } from './derive.js'
import type { ChkCase, SplitCase, SskSubspace } from './derive.js'

const dir = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..', 'test', 'vectors')
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim()
const date = new Date().toISOString().slice(0, 10)

function header (what: string): Record<string, string> {
  return {
    about: `Known-answer vectors: ${what}`,
    howMade: `node dist/test/vectors/make.js (test/vectors/make.ts), code at commit ${commit}, ${date}. Inputs are fixed; "pattern": N means N bytes with byte i = i % 251.`,
    compatibility: 'These values ARE the network format. If the code stops reproducing any of them, it derives different keys or blocks than every existing node: content inserted before can no longer be found or verified, and the new node cannot interoperate. Never regenerate this file to make a test pass; a deliberate format change needs a new domain tag (e.g. warren-chk-v2), a migration note in docs/keys.md, and new vectors.',
    independentCheck: 'python3 test/vectors/check.py recomputes every deterministic value here with Python hashlib/hmac and pyca/cryptography (ChaCha20-Poly1305, Ed25519, HKDF), independently of this code.'
  }
}

const write = (name: string, body: unknown): void => {
  writeFileSync(join(dir, name), JSON.stringify(body, null, 2) + '\n')
  console.log(`wrote test/vectors/${name}`)
}

// CHK: payload bytes -> decryption key, routing key, URI.
const chkCases: ChkCase[] = [
  { name: 'empty data', type: ChkType.DATA, payload: { hex: '' } },
  { name: 'hello', type: ChkType.DATA, payload: { hex: Buffer.from('hello, warren\n').toString('hex') } },
  { name: 'same bytes, other type', type: ChkType.MANIFEST, payload: { hex: Buffer.from('hello, warren\n').toString('hex') } },
  { name: 'redirect', type: ChkType.REDIRECT, payload: { hex: Buffer.from('warren:KSK@example').toString('hex') } },
  { name: '1000 pattern bytes', type: ChkType.DATA, payload: { pattern: 1000 } },
  { name: 'largest payload', type: ChkType.DATA, payload: { pattern: CHK_MAX_PAYLOAD } }
]
write('chk.json', { ...header('content-hash keys (src/keys/chk.ts). type is the ChkType envelope byte.'), cases: chkCases.map((c) => ({ ...c, expect: deriveChk(c) })) })

// SSK: the RFC 8032 section 7.1 TEST 1 secret key, so the public key is a published value too.
const subspace: SskSubspace = {
  privateKey: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
  cryptoKey: toHex(Uint8Array.from({ length: 32 }, (_, i) => i))
}
const names = ['', 'index.html', 'blog-5', 'ünïcode/名前']
const redirectTo = deriveChk(chkCases[1]).uri
const signed = encodeSsk({ privateKey: fromHex(subspace.privateKey), cryptoKey: fromHex(subspace.cryptoKey), name: 'index.html' }, SskType.REDIRECT, new TextEncoder().encode(redirectTo))
write('ssk.json', {
  ...header('signed-subspace keys (src/keys/ssk.ts, ssk-uri.ts). privateKey is the RFC 8032 7.1 TEST 1 Ed25519 secret key; its publicKey is the RFC\'s.'),
  subspace: { ...subspace, expect: deriveSskPublic(subspace) },
  documents: names.map((name) => deriveSskDoc(subspace, name)),
  signedBlock: {
    about: 'One block encodeSsk made (its nonce is random, so it is stored, not recomputed): it must verify under routingKey, decrypt to payload, and fail with any bit flipped.',
    name: 'index.html',
    type: SskType.REDIRECT,
    payload: redirectTo,
    routingKey: signed.routingKey.hex,
    block: { pubkey: toHex(signed.block.pubkey), headers: toHex(signed.block.headers), data: toHex(signed.block.data), signature: toHex(signed.block.signature) }
  }
})

// KSK: keyword -> subspace (scrypt + HKDF + Ed25519); "cafe\u0301" normalises to the NFC "caf\u00e9".
write('ksk.json', {
  ...header('keyword-signed keys (src/keys/ksk.ts). A keyword and its NFC form name the same key.'),
  cases: ['text/philosophy/sun-tzu/art-of-war', 'caf\u00e9', 'warren'].map(deriveKskVector),
  sameAs: [{ keyword: 'cafe\u0301', as: 'caf\u00e9' }]
})

// Split files: fixed input -> every block's routing key, the metadata payload and the URI.
const splitCases: SplitCase[] = [
  { name: 'inline (fits the metadata block)', input: { pattern: 1000 }, mime: 'text/plain' },
  { name: 'two data blocks, default k and m', input: { pattern: CHK_MAX_PAYLOAD + 1 }, mime: 'application/octet-stream' },
  { name: 'six data blocks in two balanced segments (k=4, m=2)', input: { pattern: 5 * CHK_MAX_PAYLOAD + 12345 }, mime: 'image/png', segmentData: 4, segmentCheck: 2 }
]
const splits = []
for (const c of splitCases) splits.push({ ...c, expect: await deriveSplit(c) })
write('splitfile.json', { ...header('split files with FEC (src/client/splitfile.ts; Reed-Solomon check blocks over the encrypted data blocks). blocks are sorted routing keys; manifest is the metadata block\'s payload.'), cases: splits })

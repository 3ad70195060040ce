/**
 * Interop: examples/third-party-client, a stock js-libp2p node that knows warren only through
 * proto/warren.proto (its own protons output) and docs/protocol.md, fetches a CHK block from a
 * real warren node on 127.0.0.1 over /warren/request/1.0.0, verifies it against its routing key
 * and decrypts it. Also: a node's identity file is a plain libp2p protobuf private key that
 * @libp2p/crypto reads.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { base58btc } from 'multiformats/bases/base58'
import { Block, KeyType } from '../../proto/warren.js'
import { IDENTITY_FILE } from '../../src/identity.js'
import { ChkType, encodeChk } from '../../src/keys/chk.js'
import { createNode } from '../helpers/network.js'
import { randomBytes } from '../helpers/seed.js'
import { removeTempDir } from '../helpers/temp.js'
import type { WarrenNode } from '../../src/node.js'

const here = dirname(fileURLToPath(import.meta.url))
/** The compiled example (dist/examples/...) and its TypeScript source (examples/...). */
const EXAMPLE = join(here, '../../examples/third-party-client/fetch-block.js')
const EXAMPLE_SRC = join(here, '../../../examples/third-party-client/fetch-block.ts')

interface Run { code: number, out: any, stderr: string }

async function runExample (...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [EXAMPLE, ...args], { timeout: 60_000 })
    return { code: 0, out: JSON.parse(stdout), stderr }
  } catch (err: any) {
    if (typeof err.code !== 'number') throw err
    return { code: err.code, out: err.stdout === '' ? undefined : JSON.parse(err.stdout), stderr: err.stderr }
  }
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

describe('third-party libp2p client (examples/third-party-client)', () => {
  let node: WarrenNode
  let dir: string
  let addr: string

  before(async () => {
    ({ node, dir } = await createNode())
    addr = node.libp2p.getMultiaddrs()[0].toString()
  })
  after(async () => {
    await node.stop()
    await removeTempDir(dir)
  })

  it('imports no warren code: only npm packages and its own protons output', async () => {
    const src = await readFile(EXAMPLE_SRC, 'utf8')
    const specifiers = [...src.matchAll(/^import .* from '([^']+)'/gm)].map((m) => m[1])
    assert.ok(specifiers.includes('./generated/warren.js'), 'uses its own generated codec')
    for (const s of specifiers) {
      assert.ok(s === './generated/warren.js' || !s.startsWith('.'), `import ${s} reaches outside the example`)
    }
  })

  it('fetches a CHK block inserted at a warren node, verifies it against its key and decrypts it', async () => {
    const payload = randomBytes(20_000)
    const chk = encodeChk(ChkType.DATA, payload)
    // Held as relayed data: the node's own insert would stay in its client cache, which serves no peer.
    await node.store.put(chk.routingKey, Block.encode({ type: KeyType.CHK, data: chk.block, pubkey: new Uint8Array(), signature: new Uint8Array(), headers: new Uint8Array() }))
    const uri = `warren:CHK@${base58btc.baseEncode(chk.routingKey.bytes)},${base58btc.baseEncode(chk.decryptKey)}`

    const r = await runExample(addr, uri, '1')
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.out.outcome, 'found')
    assert.equal(r.out.reply, 'DATA_FOUND')
    assert.equal(r.out.blockSha256, hex(chk.routingKey.bytes), 'the block hashes to its routing key')
    assert.equal(r.out.payloadBytes, payload.length)
    assert.equal(r.out.payloadSha256, sha256(payload), 'decrypted with the URI key, it is the inserted payload')

    // By routing key alone (hex), as a node relaying for someone else would ask.
    const byKey = await runExample(addr, hex(chk.routingKey.bytes), '1')
    assert.equal(byKey.code, 0, byKey.stderr)
    assert.equal(byKey.out.blockSha256, hex(chk.routingKey.bytes))
  })

  it('reports a key the network does not hold as not found (exit status 2)', async () => {
    const missing = encodeChk(ChkType.DATA, randomBytes(100)).routingKey
    const r = await runExample(addr, hex(missing.bytes), '1')
    assert.equal(r.code, 2, r.stderr)
    assert.equal(r.out.outcome, 'not-found')
    assert.ok(['DATA_NOT_FOUND', 'ROUTE_NOT_FOUND'].includes(r.out.reply), r.out.reply)
  })

  it('keeps its identity in a file that @libp2p/crypto reads (privateKeyFromProtobuf)', async () => {
    const key = privateKeyFromProtobuf(await readFile(join(dir, IDENTITY_FILE)))
    assert.equal(key.type, 'Ed25519')
    assert.equal(peerIdFromPrivateKey(key).toString(), node.peerId, 'the file is the running node\'s identity')
  })
})

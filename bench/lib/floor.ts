/**
 * What a get through a chain must do beside moving the bytes, timed in the chain bench's run
 * (bench/chain.ts `floor`): the parts of a warren get that the plain byte forwarder skips,
 * each as CPU seconds of this process (all its threads) over the same file.
 *
 *   check:  SHA-256 of every 32 KiB block against its key: what each node that receives a
 *           block does (architecture rule 3, a hash check at every hop);
 *   store:  the blocks written into a fresh BlockStore, as many at once as a get has in
 *           flight: what each relay does for caching on the return path (paper section 3.2),
 *           LevelDB's own threads included;
 *   decode: CHK decryption of every block and the check of its contents: what the requester
 *           does to turn blocks back into the file;
 *   cipher: ChaCha20-Poly1305 both ways in 65,519-byte messages, as @libp2p/noise does for
 *           each hop (already inside the forwarder's figures: reported to show how much of a
 *           hop is encryption).
 *
 * Approximate both ways: with all nodes in the bench's process, their background work while
 * the passes run counts too; LevelDB's compactions after the store pass's last put do not.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BLOCK_SIZE, CLIENT_CONCURRENCY } from '../../src/constants.js'
import { ChkType, CHK_MAX_PAYLOAD, decodeChk, encodeChk, verifyChkBlock } from '../../src/keys/chk.js'
import { BlockStore } from '../../src/store/block-store.js'

/** CPU seconds of each pass over the file (see the file comment). */
export interface Floor { checkCpuS: number, storeCpuS: number, decodeCpuS: number, cipherCpuS: number }

/** Noise's largest message payload (65,535 bytes less its 16-byte tag). */
const NOISE_PAYLOAD = 65535 - 16

async function cpuOf (fn: () => unknown): Promise<number> {
  const c0 = process.cpuUsage()
  await fn()
  const c = process.cpuUsage(c0)
  return Math.round((c.user + c.system) / 1000) / 1000
}

/** Time each pass over `bytes` of CHK blocks (see the file comment). */
export async function measureFloor (bytes: number): Promise<Floor> {
  const n = Math.ceil(bytes / CHK_MAX_PAYLOAD)
  const blocks = Array.from({ length: n }, () => encodeChk(ChkType.DATA, new Uint8Array(randomBytes(CHK_MAX_PAYLOAD))))
  const checkCpuS = await cpuOf(() => {
    for (const b of blocks) if (!verifyChkBlock(b.routingKey, b.block)) throw new Error('a block failed its check')
  })
  const decodeCpuS = await cpuOf(() => { for (const b of blocks) decodeChk(b.block, b.decryptKey) })
  const dir = await mkdtemp(join(tmpdir(), 'warren-bench-floor-'))
  const store = await BlockStore.open(dir, { capacityBytes: 2 * n * BLOCK_SIZE })
  let storeCpuS: number
  try {
    let next = 0
    storeCpuS = await cpuOf(async () => {
      await Promise.all(Array.from({ length: CLIENT_CONCURRENCY }, async () => {
        while (next < blocks.length) {
          const b = blocks[next++]
          await store.put(b.routingKey, b.block)
        }
      }))
    })
  } finally {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
  const key = randomBytes(32)
  const nonce = Buffer.alloc(12)
  const message = randomBytes(NOISE_PAYLOAD)
  const cipherCpuS = await cpuOf(() => {
    for (let done = 0; done < bytes; done += NOISE_PAYLOAD) {
      const enc = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 })
      const sealed = enc.update(message)
      enc.final()
      const dec = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 })
      dec.setAuthTag(enc.getAuthTag())
      dec.update(sealed)
      dec.final()
    }
  })
  return { checkCpuS, storeCpuS, decodeCpuS, cipherCpuS }
}

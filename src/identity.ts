/**
 * The node's persistent libp2p identity: an Ed25519 private key stored in libp2p's
 * protobuf PrivateKey encoding (the bytes go-libp2p, rust-libp2p and js-libp2p all read),
 * written once with mode 0600 and atomically (temp file + rename).
 */
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { PrivateKey } from '@libp2p/interface'

export const IDENTITY_FILE = 'identity.key'

export async function loadOrCreateIdentity (dataDir: string): Promise<{ key: PrivateKey, created: boolean }> {
  const file = join(dataDir, IDENTITY_FILE)
  try {
    const bytes = await readFile(file)
    try {
      return { key: privateKeyFromProtobuf(bytes), created: false }
    } catch (err: any) {
      throw new Error(`${file} is not a libp2p protobuf private key (${err.message}); move it away to create a new identity`, { cause: err })
    }
  } catch (err: any) {
    if (err.code !== 'ENOENT') throw err
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const key = await generateKeyPair('Ed25519')
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, privateKeyToProtobuf(key), { mode: 0o600 })
  await rename(tmp, file)
  return { key, created: true }
}

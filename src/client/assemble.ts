/**
 * Reassembling a file from its URI: fetch the root, walk the manifest tree depth-first and
 * yield the plaintext in order, with a bounded window of data-block fetches in flight.
 *
 * Every block is checked against its routing key (verifyChkBlock) before it is decrypted, and
 * the tree is checked for shape (children one level lower, sizes adding up), so a corrupt or
 * hostile block fails the download with an error naming it instead of yielding wrong data.
 * The network is injected as `fetchBlock`, so this is pure code.
 */
import { CLIENT_CONCURRENCY } from '../constants.js'
import { ChkType, decodeChk, verifyChkBlock } from '../keys/chk.js'
import { parseUri } from '../keys/uri.js'
import { decodeManifest } from './manifest.js'
import type { DecodedManifest } from './manifest.js'
import type { ChkRef, DecodedChk } from '../keys/chk.js'
import type { FetchBlock } from './types.js'
import type { WarrenUri } from '../keys/uri.js'

export interface AssembleOptions {
  /** Data-block fetches in flight at once (one manifest fetch may run alongside). */
  concurrency?: number
  signal?: AbortSignal
  /** Called once with the file size as soon as the root block is read (before any data). */
  onSize?: (size: number) => void
}

/** Yield the plaintext of the file at `uri`, in order. */
export async function * assembleFile (uri: WarrenUri | string, fetchBlock: FetchBlock, options: AssembleOptions = {}): AsyncGenerator<Uint8Array, void, undefined> {
  const target = typeof uri === 'string' ? parseUri(uri) : uri
  if (target.type !== 'CHK') throw new Error(`a ${target.type} URI must be resolved to a CHK first (src/client/key-client.ts)`)
  if (target.path != null && target.path !== '') {
    throw new Error(`a path ("/${target.path}") is not supported on a CHK file URI`)
  }
  const concurrency = options.concurrency ?? CLIENT_CONCURRENCY
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new Error(`concurrency must be a positive integer, got ${concurrency}`)
  }
  options.signal?.throwIfAborted()

  // Aborted when we finish, fail or the consumer stops early, so no fetch outlives us.
  const controller = new AbortController()
  const signal = options.signal == null ? controller.signal : AbortSignal.any([controller.signal, options.signal])
  const fetchChk = async (ref: ChkRef, what: string, expected?: ChkType): Promise<DecodedChk> => {
    const name = `${what} ${ref.routingKey.hex}`
    let block: Uint8Array
    try {
      block = await fetchBlock(ref.routingKey, { signal })
    } catch (err) {
      throw new Error(`could not fetch ${name}: ${(err as Error).message}`, { cause: err })
    }
    if (!verifyChkBlock(ref.routingKey, block)) {
      throw new Error(`${name} failed verification: wrong size or does not hash to its key`)
    }
    let chk: DecodedChk
    try {
      chk = decodeChk(block, ref.decryptKey)
    } catch (err) {
      throw new Error(`${name}: ${(err as Error).message}`, { cause: err })
    }
    if (expected != null && chk.type !== expected) {
      throw new Error(`${name} is a ${ChkType[chk.type]} block where a ${ChkType[expected]} block was expected`)
    }
    return chk
  }
  const readManifest = (ref: ChkRef, what: string, payload: Uint8Array): DecodedManifest => {
    try {
      return decodeManifest(payload)
    } catch (err) {
      throw new Error(`${what} ${ref.routingKey.hex}: ${(err as Error).message}`, { cause: err })
    }
  }

  try {
    const root = await fetchChk(target, 'root block')
    if (root.type === ChkType.DATA) {
      options.onSize?.(root.payload.length)
      yield root.payload
      return
    }
    if (root.type !== ChkType.MANIFEST) {
      throw new Error(`root block ${target.routingKey.hex} is a ${ChkType[root.type]} block, not a file`)
    }
    const manifest = readManifest(target, 'root block', root.payload)
    options.onSize?.(manifest.size)

    const refs = dataRefs(manifest, async (ref, height) => {
      const what = `manifest block (height ${height})`
      return readManifest(ref, what, (await fetchChk(ref, what, ChkType.MANIFEST)).payload)
    })
    const window: Array<Promise<Uint8Array>> = []
    let index = 0
    let exhausted = false
    let total = 0
    try {
      for (;;) {
        while (!exhausted && window.length < concurrency) {
          const next = await refs.next()
          if (next.done === true) {
            exhausted = true
            break
          }
          const fetching = fetchChk(next.value, `data block ${index++}`, ChkType.DATA).then((chk) => chk.payload)
          // Rejections surface when the block reaches the head of the window.
          fetching.catch(() => {})
          window.push(fetching)
        }
        const head = window.shift()
        if (head == null) break
        const payload = await head
        // In case fetchBlock ignores the signal and finished anyway.
        options.signal?.throwIfAborted()
        total += payload.length
        if (total > manifest.size) throw new Error(`file has more data than the ${manifest.size} bytes its manifest declares`)
        yield payload
      }
    } finally {
      await refs.return()
    }
    if (total !== manifest.size) throw new Error(`file has ${total} bytes, its manifest declares ${manifest.size}`)
  } finally {
    controller.abort()
  }
}

/** The data-block refs below a manifest, in file order, fetching child manifests as needed. */
async function * dataRefs (manifest: DecodedManifest, fetchManifest: (ref: ChkRef, height: number) => Promise<DecodedManifest>): AsyncGenerator<ChkRef, void, undefined> {
  if (manifest.height === 0) {
    yield * manifest.refs
    return
  }
  let size = 0
  for (const ref of manifest.refs) {
    const child = await fetchManifest(ref, manifest.height - 1)
    if (child.height !== manifest.height - 1) {
      throw new Error(`manifest block ${ref.routingKey.hex} has height ${child.height}, expected ${manifest.height - 1}`)
    }
    size += child.size
    if (size > manifest.size) {
      throw new Error(`manifest block ${ref.routingKey.hex}: children exceed the parent's ${manifest.size} bytes`)
    }
    yield * dataRefs(child, fetchManifest)
  }
  if (size !== manifest.size) {
    throw new Error(`children of a height-${manifest.height} manifest hold ${size} bytes, it declares ${manifest.size}`)
  }
}

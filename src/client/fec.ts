/**
 * Reed-Solomon erasure coding of equal-sized blocks, over GF(2^8), so a segment of k data
 * blocks plus m check blocks (k + m <= 256) can be rebuilt from any k of them.
 *
 * Backed by @digitaldefiance/reed-solomon-erasure.wasm (the Rust reed-solomon-erasure crate
 * compiled to WebAssembly: no native build, same bytes on every platform; see docs/fec.md
 * for the evaluation). The module is compiled once.
 *
 * A rebuild gets a fresh instance: the crate's cached inversion tree returns wrong answers (or
 * panics) when one instance rebuilds several different erasure patterns in a row. A fresh
 * instance costs ~0.1 ms; its memory goes when the garbage collector takes it.
 *
 * Encoding keeps one instance per thread and one working buffer inside its memory. The
 * package's wrapper allocates a segment's working copy in the instance for each call and frees
 * it, but the crate's allocator never reuses it: a long-lived instance grew by 8 MiB per
 * 128 + 128 encode of 32 KiB blocks. With a fresh instance per call instead, each encode left
 * ~9.5 MiB of WebAssembly memory for the garbage collector, which a FEC worker (a 16 MiB heap
 * that barely grows) runs seldom: dead instances piled up in the put node's RSS (docs/
 * benchmarks.md, "Peak RSS: the codec's memory and the layout's keys": 203-228 MiB at
 * 256 MiB before, 177-188 after). Here the buffer is allocated once and every encode writes
 * into it; the crate still leaks ~70 KiB per encode of its own, so the instance is renewed
 * once its memory has grown ENCODER_SLACK past the buffer.
 * Callers still verify every rebuilt block against its key.
 */
import { ReedSolomonErasure } from '@digitaldefiance/reed-solomon-erasure.wasm'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

/** GF(2^8): at most 256 blocks per segment. */
export const MAX_SEGMENT_BLOCKS = 256

const RESULT_NAMES: Record<number, string> = {
  1: 'too few shards', 2: 'too many shards', 3: 'too few data shards', 4: 'too many data shards',
  5: 'too few parity shards', 6: 'too many parity shards', 9: 'incorrect shard size',
  10: 'too few shards present', 11: 'empty shard', 12: 'invalid shard flags', 13: 'invalid index'
}

let wasmModule: WebAssembly.Module | undefined

function module (): WebAssembly.Module {
  if (wasmModule === undefined) {
    const require = createRequire(import.meta.url)
    wasmModule = new WebAssembly.Module(readFileSync(require.resolve('@digitaldefiance/reed-solomon-erasure.wasm/wasm')))
  }
  return wasmModule
}

/** A new instance of the compiled module (what `fromBytes` does, without recompiling). */
function instance (): ReedSolomonErasure {
  const Ctor = ReedSolomonErasure as unknown as new (exports: WebAssembly.Exports) => ReedSolomonErasure
  return new Ctor(new WebAssembly.Instance(module()).exports)
}

interface CodecExports {
  memory: WebAssembly.Memory
  encode: (ptr: number, len: number, k: number, m: number) => number
  __wbindgen_malloc: (len: number) => number
}

/** How far an encoder's memory may grow past its working buffer before it is renewed. */
const ENCODER_SLACK = 4 * 2 ** 20

let encoder: { exports: CodecExports, ptr: number, capacity: number } | undefined

/** This thread's encoder, with a working buffer of at least `len` bytes. */
function encoderFor (len: number): { exports: CodecExports, ptr: number } {
  if (encoder === undefined || encoder.capacity < len || encoder.exports.memory.buffer.byteLength > encoder.capacity + ENCODER_SLACK) {
    const exports = new WebAssembly.Instance(module()).exports as unknown as CodecExports
    const capacity = Math.max(len, encoder?.capacity ?? 0)
    encoder = { exports, ptr: exports.__wbindgen_malloc(capacity), capacity }
  }
  return encoder
}

/** WebAssembly memory this thread's encoder holds now, in bytes (0 before its first encode). */
export function encoderMemoryBytes (): number {
  return encoder?.exports.memory.buffer.byteLength ?? 0
}

function check (k: number, m: number, size: number): void {
  if (!Number.isInteger(k) || k < 1) throw new Error(`FEC: need at least one data block, got ${k}`)
  if (!Number.isInteger(m) || m < 1) throw new Error(`FEC: need at least one check block, got ${m}`)
  if (k + m > MAX_SEGMENT_BLOCKS) throw new Error(`FEC: a segment has at most ${MAX_SEGMENT_BLOCKS} blocks, got ${k} + ${m}`)
  if (size < 1) throw new Error('FEC: blocks must not be empty')
}

function fail (what: string, code: number): never {
  throw new Error(`FEC ${what} failed: ${RESULT_NAMES[code] ?? `error ${code}`}`)
}

/** The m check blocks of k equal-sized data blocks. */
export function fecEncode (data: Uint8Array[], m: number): Uint8Array[] {
  const k = data.length
  const size = data[0]?.length ?? 0
  check(k, m, size)
  const packed = new Uint8Array(size * k)
  data.forEach((d, i) => {
    if (d.length !== size) throw new Error(`FEC: data block ${i} is ${d.length} bytes, expected ${size}`)
    packed.set(d, i * size)
  })
  const out = new Uint8Array(size * m)
  fecEncodePacked(packed, k, m, size, out)
  return Array.from({ length: m }, (_, j) => out.subarray(j * size, (j + 1) * size))
}

/**
 * The m check blocks of k data blocks of `size` bytes packed in `data`, written packed into
 * the first m * size bytes of `out` (which may be `data` itself: the data is read first).
 */
export function fecEncodePacked (data: Uint8Array, k: number, m: number, size: number, out: Uint8Array): void {
  check(k, m, size)
  if (data.length !== k * size) throw new Error(`FEC: ${data.length} bytes of data blocks, expected ${k} x ${size}`)
  if (out.length < m * size) throw new Error(`FEC: room for ${out.length} bytes of check blocks, ${m} x ${size} needed`)
  const len = (k + m) * size
  const { exports, ptr } = encoderFor(len)
  new Uint8Array(exports.memory.buffer, ptr, k * size).set(data)
  const r = exports.encode(ptr, len, k, m)
  if (r !== ReedSolomonErasure.RESULT_OK) fail('encode', r)
  // The memory's buffer is read again: the call may have grown (and so replaced) it.
  out.set(new Uint8Array(exports.memory.buffer, ptr + k * size, m * size))
}

/**
 * Rebuild the k data blocks of a segment from any k of its k + m blocks. `blocks` has
 * k + m entries (data blocks first, then check blocks), `undefined` where missing.
 */
export function fecReconstruct (blocks: Array<Uint8Array | undefined>, k: number, m: number): Uint8Array[] {
  if (blocks.length !== k + m) throw new Error(`FEC: expected ${k + m} block slots, got ${blocks.length}`)
  // Array.from, not map: a sparse array's holes must read as missing, not be skipped.
  const present = Array.from(blocks, (b) => b !== undefined)
  const size = blocks.find((b) => b !== undefined)?.length ?? 0
  check(k, m, size)
  const have = present.filter(Boolean).length
  if (have < k) throw new Error(`FEC: ${have} of ${k + m} blocks present, ${k} needed`)
  if (present.slice(0, k).every(Boolean)) return blocks.slice(0, k) as Uint8Array[]
  const shards = new Uint8Array(size * (k + m))
  blocks.forEach((b, i) => {
    if (b === undefined) return
    if (b.length !== size) throw new Error(`FEC: block ${i} is ${b.length} bytes, expected ${size}`)
    shards.set(b, i * size)
  })
  const r = instance().reconstruct(shards, k, m, present)
  if (r !== ReedSolomonErasure.RESULT_OK) fail('reconstruct', r)
  return Array.from({ length: k }, (_, i) => shards.subarray(i * size, (i + 1) * size))
}

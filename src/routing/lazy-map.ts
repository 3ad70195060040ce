/**
 * A Map created on first insertion and dropped again when it empties: same semantics as a
 * Map (insertion order included) for the operations below. A simulated network holds one
 * routing core per node, and most of a core's maps are empty most of the time (operations run
 * one at a time); an empty Map is ~180 bytes (object and hash table, measured in a heap snapshot),
 * this wrapper 32 (docs/simulation.md, "A million nodes").
 */
export class LazyMap<K, V> {
  private map?: Map<K, V>

  get size (): number {
    return this.map?.size ?? 0
  }

  get (key: K): V | undefined {
    return this.map?.get(key)
  }

  has (key: K): boolean {
    return this.map?.has(key) === true
  }

  set (key: K, value: V): this {
    this.map ??= new Map()
    this.map.set(key, value)
    return this
  }

  delete (key: K): boolean {
    if (this.map?.delete(key) !== true) return false
    if (this.map.size === 0) this.map = undefined
    return true
  }

  /** The key inserted longest ago (undefined if empty): bounded caches evict it first. */
  oldestKey (): K | undefined {
    return this.map?.keys().next().value
  }

  * entries (): Generator<[K, V]> {
    if (this.map !== undefined) yield * this.map
  }
}

/**
 * The node's routing location: the key its announcement walk agreed on (NaN before), kept
 * across restarts (src/announcement.ts). One object, made before anything that reads or sets
 * it: the block store reads it (it keeps the keys nearest it), the announcement driver sets it,
 * and whoever must follow a move listens for `change` (the node re-chooses its store's kept
 * share). So nothing has to be re-pointed after construction to break a cycle.
 */
import { TypedEventEmitter } from 'main-event'

export interface NodeLocationEvents {
  /** The location changed (a new announcement agreed on it). */
  change: CustomEvent<number>
}

export class NodeLocation extends TypedEventEmitter<NodeLocationEvents> {
  private loc = NaN

  /** `loc`: a location agreed earlier (restored after a restart), or none (NaN). */
  constructor (loc = NaN) {
    super()
    if (!Number.isNaN(loc)) this.set(loc)
  }

  get value (): number {
    return this.loc
  }

  set (loc: number): void {
    if (!Number.isFinite(loc) || loc < 0 || loc >= 1) throw new RangeError(`not a routing location: ${loc}`)
    if (loc === this.loc) return
    this.loc = loc
    this.safeDispatchEvent('change', { detail: loc })
  }
}

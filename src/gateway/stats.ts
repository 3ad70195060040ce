/**
 * Recent request outcomes of this node's client (success rate, hops), for the node page:
 * lifetime counters hide a network that just went bad, a sliding window shows it.
 */
import { RECENT_STATS_WINDOW_MS } from '../constants.js'

const MAX_SAMPLES = 10_000
/** Hop histogram buckets 0..HOP_BUCKETS-2, the last one is "that many or more". */
export const HOP_BUCKETS = 12

export interface RequestSample { t: number, ok: boolean, hops: number }

export interface RecentStats {
  windowSeconds: number
  requests: { success: number, failure: number, successRate: number | null, meanHops: number | null }
  hopHistogram: number[]
}

export class RecentRequests {
  private readonly samples: RequestSample[] = []

  constructor (private readonly now: () => number = Date.now, private readonly windowMs = RECENT_STATS_WINDOW_MS) {}

  record (ok: boolean, hops: number): void {
    this.samples.push({ t: this.now(), ok, hops })
    if (this.samples.length > MAX_SAMPLES) this.samples.splice(0, this.samples.length - MAX_SAMPLES)
  }

  summary (): RecentStats {
    const since = this.now() - this.windowMs
    while (this.samples.length > 0 && this.samples[0].t < since) this.samples.shift()
    let success = 0
    let hops = 0
    const hist = new Array<number>(HOP_BUCKETS).fill(0)
    for (const s of this.samples) {
      if (!s.ok) continue
      success++
      hops += s.hops
      hist[Math.min(HOP_BUCKETS - 1, s.hops)]++
    }
    const failure = this.samples.length - success
    return {
      windowSeconds: this.windowMs / 1000,
      requests: { success, failure, successRate: success + failure > 0 ? success / (success + failure) : null, meanHops: success > 0 ? hops / success : null },
      hopHistogram: hist
    }
  }
}

/**
 * The simulator's event queue: a binary min-heap ordered by virtual time, ties broken by
 * insertion order so that a run is a pure function of its seed.
 */
export interface SimEvent {
  /** Virtual time at which the event fires. */
  t: number
  /** Insertion sequence number: FIFO among events of the same time. */
  seq: number
}

export class EventQueue<E extends SimEvent> {
  private readonly heap: E[] = []
  private nextSeq = 0

  get size (): number {
    return this.heap.length
  }

  /** Schedule `e` (its `seq` is assigned here). */
  push (e: E): void {
    e.seq = this.nextSeq++
    const h = this.heap
    let i = h.length
    h.push(e)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(e, h[parent])) break
      h[i] = h[parent]
      i = parent
    }
    h[i] = e
  }

  /** Remove and return the earliest event, or undefined when the queue is empty. */
  pop (): E | undefined {
    const h = this.heap
    if (h.length === 0) return undefined
    const top = h[0]
    const last = h.pop() as E
    if (h.length > 0) {
      let i = 0
      const n = h.length
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const r = l + 1
        const c = r < n && before(h[r], h[l]) ? r : l
        if (!before(h[c], last)) break
        h[i] = h[c]
        i = c
      }
      h[i] = last
    }
    return top
  }

  peek (): E | undefined {
    return this.heap[0]
  }

  clear (): void {
    this.heap.length = 0
  }
}

function before (a: SimEvent, b: SimEvent): boolean {
  return a.t < b.t || (a.t === b.t && a.seq < b.seq)
}

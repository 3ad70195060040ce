/** A one-shot wake-up list: waiters resolve on `wake`, reject on `fail`, leave on abort. */
export class Waiters {
  private list: Array<{ resolve: () => void, reject: (err: unknown) => void }> = []

  get length (): number {
    return this.list.length
  }

  async wait (signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted()
    await new Promise<void>((resolve, reject) => {
      const entry = {
        resolve: () => { cleanup(); resolve() },
        reject: (err: unknown) => { cleanup(); reject(err) }
      }
      const onAbort = (): void => {
        this.list = this.list.filter((e) => e !== entry)
        entry.reject(signal?.reason)
      }
      const cleanup = (): void => { signal?.removeEventListener('abort', onAbort) }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.list.push(entry)
    })
  }

  wake (): void {
    const list = this.list
    this.list = []
    for (const e of list) e.resolve()
  }

  fail (err: unknown): void {
    const list = this.list
    this.list = []
    for (const e of list) e.reject(err)
  }
}

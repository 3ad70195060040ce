/**
 * The home page's upload script (src/gateway/assets.ts) reads the node's streamed put answer:
 * the blocks inserted as they come (a partial last line waits for the rest), then the result
 * or the error. Run in a VM with a scripted XMLHttpRequest; the browser tests run it for real.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createContext, runInContext, Script } from 'node:vm'
import { HOME_JS } from '../../src/gateway/assets.js'

type Upload = (file: { name: string, type: string }, onProgress: (n: number) => void, onBlocks: (n: number) => void) => Promise<unknown>

/** HOME_JS's `upload`, with an XMLHttpRequest that answers 200 with `chunks` of NDJSON, one progress event each. */
function loadUpload (chunks: string[]): { upload: Upload, headers: Record<string, string> } {
  const headers: Record<string, string> = {}
  const element = (): object => ({ addEventListener: () => {}, hidden: true, textContent: '', value: '' })
  const ctx = createContext({ document: { getElementById: element }, performance })
  ctx.XMLHttpRequest = class {
    upload = {}
    status = 0
    responseText = ''
    onprogress?: () => void
    onload?: () => void
    open (): void {}
    setRequestHeader (k: string, v: string): void { headers[k] = v }
    getResponseHeader (): string { return 'application/x-ndjson' }
    send (): void {
      this.status = 200
      for (const c of chunks) {
        this.responseText += c
        this.onprogress?.()
      }
      this.onload?.()
    }
  }
  runInContext(`${HOME_JS}\nglobalThis.upload = upload`, ctx)
  return { upload: ctx.upload as Upload, headers }
}

const block = (n: number): string => JSON.stringify({ type: 'warren:insert:block', detail: { blocks: n, bytes: n * 32768 } }) + '\n'

describe('home page upload script', () => {
  it('parses', () => {
    assert.doesNotThrow(() => new Script(HOME_JS))
  })

  it('reports each block inserted once, across partial lines, and resolves with the result', async () => {
    const result = { uri: 'warren:CHK@abc,def', blocks: 3 }
    const all = block(1) + block(2) + block(3) + JSON.stringify({ type: 'result', result }) + '\n'
    const { upload, headers } = loadUpload([all.slice(0, 10), all.slice(10, 100), all.slice(100)])
    const seen: number[] = []
    // The result comes from the VM's realm: compare its JSON.
    assert.equal(JSON.stringify(await upload({ name: 'a.txt', type: '' }, () => {}, (n) => { seen.push(n) })), JSON.stringify(result))
    assert.deepEqual(seen, [1, 2, 3])
    assert.equal(headers.accept, 'application/x-ndjson')
  })

  it('rejects with the error line, or when the stream ends without a result', async () => {
    const failed = loadUpload([block(1) + JSON.stringify({ type: 'error', error: 'no route', statusCode: 500 }) + '\n'])
    await assert.rejects(failed.upload({ name: 'a', type: '' }, () => {}, () => {}), /no route/)
    const cut = loadUpload([block(1)])
    await assert.rejects(cut.upload({ name: 'a', type: '' }, () => {}, () => {}), /without a result/)
  })
})

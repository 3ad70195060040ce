/**
 * Save a checkpoint of a scalability run that is already running, started without
 * `--checkpoint-every` (`warren sim capture`): through the inspector protocol (the process is
 * sent SIGUSR1, which opens its inspector on 127.0.0.1:9229), it pauses the run at the top of
 * its growth loop, where no operation is in flight, reads the few values that live only in
 * local variables and closures (the experiment's counters, the PRNG's four state words), and
 * arms `saveCheckpoint` to run inside that process as soon as it goes on. Once the save is
 * done the run goes on, or ends with `--kill`. `warren sim scalability --resume DIR` continues from there.
 *
 * The paused frames are those of `grow` and `runScalability` in src/sim/scalability.ts, as
 * built since the growth loop has had `onOp` (commit 0cf0616 and later); in a run built before
 * they moved there from src/sim/experiments.ts, they are found in that file's script.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { saveCheckpoint } from './checkpoint.js'

interface CdpMessage { id?: number, method?: string, params?: any, result?: any, error?: { message: string } }

class Cdp {
  private id = 0
  private readonly waiting = new Map<number, { resolve: (r: any) => void, reject: (e: Error) => void }>()
  private readonly listeners: Array<(m: CdpMessage) => void> = []

  private constructor (private readonly ws: WebSocket) {
    ws.addEventListener('message', (ev) => {
      const m = JSON.parse(String(ev.data)) as CdpMessage
      if (m.id !== undefined) {
        const w = this.waiting.get(m.id)
        this.waiting.delete(m.id)
        if (m.error !== undefined) w?.reject(new Error(m.error.message))
        else w?.resolve(m.result)
      } else {
        for (const l of this.listeners) l(m)
      }
    })
  }

  static async connect (port: number): Promise<Cdp> {
    const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as Array<{ webSocketDebuggerUrl: string }>
    if (list.length === 0) throw new Error(`no inspector target on 127.0.0.1:${port}`)
    const ws = new WebSocket(list[0].webSocketDebuggerUrl)
    await new Promise((resolve, reject) => {
      ws.addEventListener('open', resolve)
      ws.addEventListener('error', () => { reject(new Error(`cannot connect to the inspector on 127.0.0.1:${port}`)) })
    })
    return new Cdp(ws)
  }

  async send (method: string, params: Record<string, unknown> = {}): Promise<any> {
    const id = ++this.id
    return await new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject })
      this.ws.send(JSON.stringify({ id, method, params }))
    })
  }

  on (l: (m: CdpMessage) => void): void {
    this.listeners.push(l)
  }

  close (): void {
    this.ws.close()
  }
}

/** Evaluate `expr` in a paused frame; throws with the exception's text if it threw. */
async function evalIn (cdp: Cdp, frameId: string, expr: string, byValue = true): Promise<any> {
  const r = await cdp.send('Debugger.evaluateOnCallFrame', { callFrameId: frameId, expression: expr, returnByValue: byValue, timeout: 3_600_000 })
  if (r.exceptionDetails !== undefined) throw new Error(`in the paused process: ${String(r.exceptionDetails.exception?.description ?? r.exceptionDetails.text)}`)
  return byValue ? r.result.value : r.result
}

/** Whether `pid` catches SIGUSR1 (true where /proc cannot tell). */
function catchesUsr1 (pid: number): boolean {
  let status: string
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch {
    if (!alive(pid)) throw new Error(`no process ${pid}`)
    return true
  }
  const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status)
  return m === null || (BigInt(`0x${m[1]}`) & (1n << 9n)) !== 0n
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

export interface CaptureOptions {
  pid: number
  dir: string
  port?: number
  /** Wait until the run has at least this many live nodes. */
  minNodes?: number
  /** End the process after saving (a resumed run takes its place). */
  kill?: boolean
  log?: (m: string) => void
}

export async function capture (o: CaptureOptions): Promise<{ nodes: number, bytes: number }> {
  const log = o.log ?? (() => {})
  const port = o.port ?? 9229
  // SIGUSR1 ends a process that has not installed Node's handler yet (one just started):
  // wait for the handler (Linux: the SigCgt mask in /proc/PID/status).
  for (let i = 0; !catchesUsr1(o.pid); i++) {
    if (i >= 100) throw new Error(`process ${o.pid} does not handle SIGUSR1: is it a Node process?`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  let cdp: Cdp | undefined
  for (let i = 0; cdp === undefined; i++) {
    if (i % 10 === 0) process.kill(o.pid, 'SIGUSR1')
    try {
      cdp = await Cdp.connect(port)
    } catch (err) {
      if (i >= 100) throw new Error(`process ${o.pid} opened no inspector on 127.0.0.1:${port} within 10 s of SIGUSR1`, { cause: err })
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  const scripts = new Map<string, string>()
  cdp.on((m) => { if (m.method === 'Debugger.scriptParsed') scripts.set(m.params.url as string, m.params.scriptId as string) })
  const paused = new Promise<any>((resolve) => { cdp.on((m) => { if (m.method === 'Debugger.paused') resolve(m.params) }) })
  await cdp.send('Debugger.enable')
  // The script that defines the growth loop: scalability.js, or experiments.js in a run built
  // before the loop moved out of it (that build loads no scalability.js; this one loads both).
  const find = (): { url: string, lines: string[], growAt: number } | undefined => {
    for (const name of ['/dist/src/sim/scalability.js', '/dist/src/sim/experiments.js']) {
      const url = [...scripts.keys()].find((u) => u.endsWith(name))
      if (url === undefined) continue
      const lines = readFileSync(new URL(url), 'utf8').split('\n')
      const growAt = lines.findIndex((l) => /^export function grow\b/.test(l))
      if (growAt >= 0) return { url, lines, growAt }
    }
    return undefined
  }
  // A process still starting may not have loaded it yet.
  for (let i = 0; find() === undefined && i < 100; i++) await new Promise((resolve) => setTimeout(resolve, 100))
  const found = find()
  if (found === undefined) throw new Error(`process ${o.pid} has loaded no dist/src/sim/scalability.js (or experiments.js) with the growth loop: is it a warren simulation?`)
  const { url, lines, growAt } = found
  const line = lines.findIndex((l, i) => i > growAt && l.trim() === 'w.step();')
  if (line < 0) throw new Error(`cannot find the growth loop in ${url}`)
  const { breakpointId } = await cdp.send('Debugger.setBreakpointByUrl', { url, lineNumber: line, condition: `sim.liveCount >= ${o.minNodes ?? 0}` })
  log(`waiting for the run to reach the top of its growth loop${o.minNodes === undefined ? '' : ` with ${o.minNodes} nodes`}`)
  const p = await paused
  await cdp.send('Debugger.removeBreakpoint', { breakpointId })
  const [growFrame, runFrame] = p.callFrames as Array<{ callFrameId: string, functionName: string }>
  if (growFrame.functionName !== 'grow' || runFrame.functionName !== 'runScalability') {
    throw new Error(`paused in ${growFrame.functionName} called by ${runFrame.functionName}, not grow called by runScalability`)
  }
  try {
    // Kept in the process (a copy through the protocol would turn Infinity into null).
    await evalIn(cdp, runFrame.callFrameId,
      "globalThis.__warrenCheckpoint = { experiment: { trial, growth, buckets: [...buckets], ops, peakHeap, nextSnapshot, elapsedMs: performance.now() - started, peakRssBytes: Math.max(typeof priorRss === 'number' ? priorRss : 0, process.resourceUsage().maxRSS * 1024) } }; 0")
    // The PRNG's state lives in its closure: read it from the function's scopes.
    const rngFn = await evalIn(cdp, growFrame.callFrameId, 'sim.rng', false)
    const props = await cdp.send('Runtime.getProperties', { objectId: rngFn.objectId, ownProperties: false })
    const scopes = props.internalProperties.find((x: any) => x.name === '[[Scopes]]')
    const scopeList = await cdp.send('Runtime.getProperties', { objectId: scopes.value.objectId, ownProperties: true })
    let rng: number[] | undefined
    for (const s of scopeList.result) {
      if (s.value?.objectId === undefined) continue
      const vars = await cdp.send('Runtime.getProperties', { objectId: s.value.objectId, ownProperties: true })
      const v = new Map<string, number>(vars.result.map((x: any) => [x.name, x.value?.value]))
      if (['a', 'b', 'c', 'd'].every((k) => typeof v.get(k) === 'number')) rng = ['a', 'b', 'c', 'd'].map((k) => v.get(k) as number)
    }
    if (rng === undefined) throw new Error('cannot read the PRNG state (sim.rng is not a seededRng closure)')
    // Since checkpoints the loop keeps its state in `g`; before, in three locals.
    await evalIn(cdp, growFrame.callFrameId, "globalThis.__warrenCheckpoint.experiment.grow = typeof g === 'object' ? { s: { ...g.s }, pathSum: g.pathSum, rejoins: g.rejoins } : { s: { ...s }, pathSum, rejoins }; 0")
    log(`paused at ${String(await evalIn(cdp, growFrame.callFrameId, 'sim.liveCount'))} live nodes; saving to ${o.dir}`)
    // The save is armed here and runs once the process goes on: the growth loop's next call of
    // `w.step()`, its first statement, saves first, in a state identical to this one. The save
    // function is compiled as a script of its own: compiled by the debugger's evaluation, it
    // ran ~100x slower (11 MiB in 47 s against 0.5 s), run while paused or not.
    const started = Date.now()
    await evalIn(cdp, growFrame.callFrameId, `(() => {
      const save = process.getBuiltinModule('node:vm').runInThisContext(${JSON.stringify(`(${saveCheckpoint.toString()})`)})
      const args = { sim, w, rng: ${JSON.stringify(rng)}, params: p, experiment: globalThis.__warrenCheckpoint.experiment }
      delete globalThis.__warrenCheckpoint
      const wl = w
      wl.step = function () {
        delete wl.step
        const t = performance.now()
        const r = save(${JSON.stringify(o.dir)}, args)
        process.stderr.write('checkpoint of ' + r.nodes + ' nodes (' + Math.round(r.bytes / 1048576) + ' MiB) in ' + Math.round((performance.now() - t) / 1000) + ' s\\n')
        ${o.kill === true ? "process.kill(process.pid, 'SIGKILL')" : ''}
        return wl.step()
      }
    })()`)
    await cdp.send('Debugger.resume')
    await cdp.send('Debugger.disable')
    cdp.close()
    const meta = join(o.dir, 'meta.json')
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 1000))
      if (existsSync(meta) && Date.parse((JSON.parse(readFileSync(meta, 'utf8')) as { savedAt: string }).savedAt) >= started - 1000) break
      if (!alive(o.pid)) throw new Error(`process ${o.pid} ended before its checkpoint was saved`)
    }
    const saved = JSON.parse(readFileSync(meta, 'utf8')) as { nodes: number }
    log(`saved ${saved.nodes} nodes in ${((Date.now() - started) / 1000).toFixed(0)} s`)
    return { nodes: saved.nodes, bytes: readdirSync(o.dir).reduce((n, f) => n + statSync(join(o.dir, f)).size, 0) }
  } catch (err) {
    await cdp.send('Debugger.resume').catch(() => {})
    cdp.close()
    throw err
  }
}

/**
 * One process per data dir. `warren start` and `warren verify` take `<dataDir>/node.lock`, a
 * file holding the owner's pid, so a second one answers "a node is already running on this data
 * dir (pid N)" instead of LevelDB's "Database failed to open". A lock whose pid no longer runs
 * (a node killed with SIGKILL, a machine that lost power) is stale and taken over.
 */
import { unlinkSync } from 'node:fs'
import { mkdir, open, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { readTextIfExists } from '../util/files.js'

export const LOCK_FILE = 'node.lock'

export class DataDirLockedError extends Error {
  constructor (readonly dataDir: string, readonly pid: number) {
    super(`a node is already running on this data dir (pid ${pid}): ${dataDir}. Stop it first (kill ${pid}), or use another data dir with -d`)
    this.name = 'DataDirLockedError'
  }
}

export interface DataDirLock {
  readonly file: string
  /** Remove the lock (idempotent; also done at process exit). */
  release: () => Promise<void>
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err: any) {
    // EPERM: the process exists but belongs to another user.
    return err.code === 'EPERM'
  }
}

/** The pid in a lock file, or undefined when it is unreadable or does not name a live process. */
async function holder (file: string): Promise<number | undefined> {
  const text = await readTextIfExists(file)
  if (text === undefined) return undefined
  const pid = Number.parseInt(text.trim(), 10)
  return Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && alive(pid) ? pid : undefined
}

/** Take the data dir's lock (creating the dir), or throw DataDirLockedError naming the running node's pid. */
export async function lockDataDir (dataDir: string): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const file = join(dataDir, LOCK_FILE)
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(file, 'wx', 0o600)
      await fh.writeFile(`${process.pid}\n`)
      await fh.close()
      break
    } catch (err: any) {
      if (err.code !== 'EEXIST' || attempt > 0) {
        if (err.code === 'EEXIST') {
          const pid = await holder(file)
          if (pid !== undefined) throw new DataDirLockedError(dataDir, pid)
        }
        throw err
      }
      const pid = await holder(file)
      if (pid !== undefined) throw new DataDirLockedError(dataDir, pid)
      // Stale: its process is gone. Remove it and try once more (a racing starter wins cleanly).
      await unlink(file).catch((e: any) => { if (e.code !== 'ENOENT') throw e })
    }
  }
  let held = true
  const onExit = (): void => {
    if (held) try { unlinkSync(file) } catch {}
  }
  process.once('exit', onExit)
  return {
    file,
    release: async () => {
      if (!held) return
      held = false
      process.removeListener('exit', onExit)
      await unlink(file).catch(() => {})
    }
  }
}

/**
 * The node's announcement, kept across restarts. The key its announcement walk agreed on is
 * its routing location: its neighbours route to it by that key and its store keeps the blocks
 * nearest it (STORE_KEEP_FRACTION). A node that announced anew on every start would move on
 * the circle each time, leave stale entries in the walk's routing tables and throw its
 * specialised store away; like a Freenet node, a warren node keeps its location for life and
 * on a restart only routes a join toward it again. Written atomically (temp file + rename).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export const ANNOUNCEMENT_FILE = 'announcement.json'

export interface Announcement {
  /** The agreed routing key, 64 hex digits. */
  key: string
  /** Nodes on the walk that recorded this node under the key. */
  participants: number
  /** When the walk agreed on it (ms since the epoch). */
  at: number
}

/** This node's earlier announcement, or undefined if it never announced; throws if the file is damaged. */
export async function loadAnnouncement (dataDir: string): Promise<Announcement | undefined> {
  const file = join(dataDir, ANNOUNCEMENT_FILE)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err: any) {
    if (err.code === 'ENOENT') return undefined
    throw err
  }
  let a: Partial<Announcement>
  try {
    a = JSON.parse(text)
  } catch (err: any) {
    throw new Error(`${file} is not JSON (${err.message as string})`, { cause: err })
  }
  if (typeof a?.key !== 'string' || !/^[0-9a-f]{64}$/.test(a.key) || !Number.isSafeInteger(a.participants) ||
      (a.participants as number) < 0 || !Number.isFinite(a.at)) {
    throw new Error(`${file} does not hold an announcement ({ key: 64 hex digits, participants, at })`)
  }
  return { key: a.key, participants: a.participants as number, at: a.at as number }
}

export async function saveAnnouncement (dataDir: string, a: Announcement): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const file = join(dataDir, ANNOUNCEMENT_FILE)
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, JSON.stringify(a) + '\n', { mode: 0o600, flush: true })
  await rename(tmp, file)
}

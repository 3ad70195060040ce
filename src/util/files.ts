/** Small file helpers shared by the CLI, the config and the gateway's saved state. */
import { readFile, rename, writeFile } from 'node:fs/promises'

/** A text file's contents, or undefined when it does not exist (other errors are thrown). */
export async function readTextIfExists (file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8')
  } catch (err: any) {
    if (err.code === 'ENOENT') return undefined
    throw err
  }
}

/** A saved JSON list (the gateway's bookmarks and transfers): [] when it is missing or damaged. */
export async function readJsonList (file: string): Promise<unknown[]> {
  try {
    const parsed: unknown = JSON.parse(await readTextIfExists(file) ?? '[]')
    return Array.isArray(parsed) ? parsed : []
  } catch {
    return []
  }
}

/** The JSON object in a record's bytes, or an error naming `what` when they are not UTF-8 JSON. */
export function decodeJsonRecord (bytes: Uint8Array, what: string): any {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (err) {
    throw new Error(`malformed ${what}: not UTF-8 JSON`, { cause: err })
  }
}

/** Replace `file` with `text` atomically (a temporary file renamed over it): readers see the old or the new, never half. */
export async function writeFileAtomic (file: string, text: string, mode = 0o600): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, text, { mode })
  await rename(tmp, file)
}

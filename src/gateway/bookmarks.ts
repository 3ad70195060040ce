/**
 * Bookmarks of sites and files (fred's bookmarks): request URIs with a title, kept in the data
 * dir's bookmarks.json (written atomically). The bookmarks page shows each with the edition it
 * leads to now, so a followed updatable site shows when it has a new one.
 */
import { join } from 'node:path'
import { readJsonList, writeFileAtomic } from '../util/files.js'

export const BOOKMARKS_FILE = 'bookmarks.json'

export interface Bookmark {
  uri: string
  title: string
  added: number
}

export class Bookmarks {
  private constructor (private readonly file: string | undefined, private items: Bookmark[]) {}

  static async open (dataDir?: string): Promise<Bookmarks> {
    if (dataDir === undefined) return new Bookmarks(undefined, [])
    const file = join(dataDir, BOOKMARKS_FILE)
    const items = (await readJsonList(file)).filter((b): b is Bookmark => typeof (b as Bookmark | null)?.uri === 'string')
    return new Bookmarks(file, items)
  }

  list (): Bookmark[] {
    return [...this.items]
  }

  /** Add (or retitle) a bookmark. */
  async add (uri: string, title: string): Promise<void> {
    this.items = [...this.items.filter((b) => b.uri !== uri), { uri, title: title === '' ? uri : title, added: Date.now() }]
    await this.save()
  }

  async remove (uri: string): Promise<void> {
    this.items = this.items.filter((b) => b.uri !== uri)
    await this.save()
  }

  private async save (): Promise<void> {
    if (this.file !== undefined) await writeFileAtomic(this.file, JSON.stringify(this.items, null, 2) + '\n')
  }
}

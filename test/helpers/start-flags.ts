/** The V8 flags of `npm start` (package.json's start script): what a node runs with by default. */
import { readFileSync } from 'node:fs'

export const START_FLAGS: string[] = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } })
  .scripts.start.split(/\s+/).filter((w) => w.startsWith('--'))

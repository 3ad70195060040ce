#!/usr/bin/env node
// The `warren` command (package.json "bin"; on PATH after `npm install -g .` or `npm link` in a
// clone). warren needs Node.js >= 22 and brings Node 24 along (the node-linux-* package, at
// node_modules/.bin/node). On an older `node` (Debian's 20, say) this shim runs the CLI again on
// the bundled one, so `warren` works whatever `node` is first on PATH. Plain JavaScript that
// every Node since 14 parses.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const cli = join(root, 'dist', 'src', 'cli', 'index.js')
const major = Number(process.versions.node.split('.')[0])

if (!existsSync(cli)) {
  console.error(`warren: ${cli} is missing: build it with \`npm ci\` (or \`npm run build\`) in ${root}`)
  process.exit(1)
}

if (major >= 22) {
  await import(pathToFileURL(cli).href)
} else {
  const bundled = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'node.cmd' : 'node')
  if (!existsSync(bundled)) {
    console.error(`warren: needs Node.js 22 or later (this is ${process.version}), and the bundled Node is missing: run \`npm ci\` in ${root}`)
    process.exit(1)
  }
  const child = spawn(bundled, [...process.execArgv, cli, ...process.argv.slice(2)], { stdio: 'inherit' })
  // Ctrl-C reaches the child from the terminal itself (same process group); a SIGTERM or SIGHUP
  // sent to this process alone (kill, a service manager) is passed on.
  process.on('SIGINT', () => {})
  for (const sig of ['SIGTERM', 'SIGHUP']) process.on(sig, () => { child.kill(sig) })
  child.on('error', (err) => {
    console.error(`warren: cannot run ${bundled}: ${err.message}`)
    process.exit(1)
  })
  child.on('exit', (code, signal) => {
    if (signal !== null) {
      process.removeAllListeners(signal)
      process.kill(process.pid, signal)
    }
    process.exit(code ?? 1)
  })
}

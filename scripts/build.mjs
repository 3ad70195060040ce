// Build: compile proto/*.proto with protons, then type-check and compile everything with tsc.
// Runs on whatever `node` npm put first on PATH (Node 24 from node_modules/.bin).
import { execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = (name) => join(root, 'node_modules', '.bin', name)
// A clean output folder: a renamed or deleted test must not live on as stale JavaScript.
rmSync(join(root, 'dist'), { recursive: true, force: true })
const protos = readdirSync(join(root, 'proto')).filter((f) => f.endsWith('.proto')).map((f) => join('proto', f))
if (protos.length > 0) {
  execFileSync(bin('protons'), protos, { cwd: root, stdio: 'inherit' })
}
// examples/third-party-client compiles warren.proto into a generated file of its own: it uses
// no warren code, only the wire format (test/examples/third-party-client.test.ts).
mkdirSync(join(root, 'examples/third-party-client/generated'), { recursive: true })
execFileSync(bin('protons'), ['proto/warren.proto', '-o', 'examples/third-party-client/generated'], { cwd: root, stdio: 'inherit' })
execFileSync(bin('tsc'), ['-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' })

/**
 * The suite's browser: the headless Chromium shipped inside the npm package
 * `@sparticuz/chromium`, driven by playwright-core. `npm ci` is all a fresh machine needs —
 * no apt step, and a system Chromium (Debian's /usr/bin/chromium) is never used.
 *
 * The package keeps Chromium brotli-compressed and unpacks it into the OS temp folder on first
 * use. We unpack it instead into node_modules/.cache (once per package version, then reused),
 * so that the suite leaves nothing in the temp folder and parallel test files never race on a
 * half-written binary: each unpacks into its own folder and renames it into place atomically.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import sparticuz from '@sparticuz/chromium'
import { chromium } from 'playwright-core'
import { tempDir } from './temp.js'
import type { Browser } from 'playwright-core'

/**
 * Flags that keep Chromium off the network on its own (the test machine's network is closed:
 * component updates, sync, QUIC probes, first-run fetches would only time out).
 */
const QUIET = ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic']

/**
 * Flags of the package's defaults (tuned for AWS Lambda) that weaken the web platform's own
 * security model. The XSS and exfiltration tests must run against a normal browser, so that
 * what stops a script or a request is the gateway and not a relaxed browser.
 */
const WEAKENING = new Set(['--disable-web-security', '--allow-running-insecure-content', '--disable-site-isolation-trials'])

/**
 * Flags of the package's defaults dropped for other reasons:
 *  - `--headless=...`: playwright adds its own with `headless: true`;
 *  - `--single-process`: Lambda needs it, but here closing one browser context then takes the
 *    whole browser down (measured: the next `newContext()` fails, "browser has been closed");
 *  - `--disable-features=` / `--enable-features=`: Chromium keeps only the last copy of a
 *    switch, so the package's lists (Lambda memory savings, site isolation off) would replace
 *    playwright's, which turn off Chromium's calls home (OptimizationHints,
 *    NetworkTimeServiceQuerying, PreconnectToSearch, ...).
 */
const dropped = (flag: string): boolean => WEAKENING.has(flag) || flag === '--single-process' ||
  ['--headless', '--disable-features=', '--enable-features='].some((prefix) => flag.startsWith(prefix))

const run = promisify(execFile)
let executable: Promise<string> | undefined

/** Path of the unpacked Chromium binary (unpacked on the first call, from the npm package). */
export async function chromiumExecutable (): Promise<string> {
  executable ??= unpack()
  return await executable
}

async function unpack (): Promise<string> {
  const entry = fileURLToPath(import.meta.resolve('@sparticuz/chromium'))
  const pkgDir = join(dirname(entry), '..') // node_modules/@sparticuz/chromium
  const { version } = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as { version: string }
  const cacheRoot = join(pkgDir, '..', '..', '.cache', 'warren-chromium')
  const target = join(cacheRoot, version)
  const binary = join(target, 'chromium')
  if (existsSync(binary)) return binary
  await mkdir(cacheRoot, { recursive: true })
  const part = await mkdtemp(join(cacheRoot, `${version}.part-`))
  try {
    // The package unpacks into os.tmpdir(): point TMPDIR of a child process at our folder.
    const script = `const c = (await import(${JSON.stringify(import.meta.resolve('@sparticuz/chromium'))})).default; process.stdout.write(await c.executablePath())`
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, TMPDIR: part } })
    if (stdout !== join(part, 'chromium')) throw new Error(`@sparticuz/chromium unpacked to ${stdout}, expected ${join(part, 'chromium')}`)
    await rename(part, target).catch(async (err: NodeJS.ErrnoException) => {
      // Another test process won the race: its copy is complete, use it.
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err
    })
  } finally {
    await rm(part, { recursive: true, force: true })
  }
  if (!existsSync(binary)) throw new Error(`Chromium is missing at ${binary} after unpacking @sparticuz/chromium ${version}`)
  return binary
}

/** The command-line flags the suite launches Chromium with. */
export function chromiumArgs (): string[] {
  sparticuz.setGraphicsMode = false // no WebGL: nothing here draws, and it spares SwiftShader
  return [...sparticuz.args.filter((flag) => !dropped(flag)), ...QUIET]
}

/**
 * Launch the suite's headless Chromium. Close it in an `after` hook. Its temp files
 * (`.org.chromium.Chromium.*`, left behind when a renderer is torn down mid-write) go to a
 * folder of its own, removed with the test file's other temp folders.
 */
export async function launchChromium (): Promise<Browser> {
  const tmp = await tempDir('warren-chromium-')
  return await chromium.launch({ executablePath: await chromiumExecutable(), headless: true, args: chromiumArgs(), env: { ...process.env, TMPDIR: tmp } })
}

/**
 * A libp2p ComponentLogger backed by pino, so that libp2p's internals and warren's own
 * protocol service log through the node's leveled logger (`--log-level debug` shows warren
 * protocol activity, `trace` adds libp2p internals). Formats debug-style placeholders
 * (%s %d %o %j %p %a %e %b %t %k) only when the level is enabled.
 */
import { format } from 'node:util'
import type { Logger as PinoLogger } from './logger.js'
import type { ComponentLogger, Logger } from '@libp2p/interface'

type Level = 'trace' | 'debug' | 'info' | 'warn'

function render (formatter: unknown, args: unknown[]): string {
  if (typeof formatter !== 'string') return format(formatter, ...args)
  let i = 0
  const out = formatter.replace(/%([sdoOjpaebtkc%])/g, (m, c: string) => {
    if (c === '%') return '%'
    const v = args[i++]
    if (c === 'e') return v instanceof Error ? (v.stack ?? v.message) : String(v)
    if (c === 'o' || c === 'O' || c === 'j') return format('%o', v)
    if (c === 'd') return String(Number(v))
    if (c === 'c') return ''
    return v instanceof Uint8Array ? Buffer.from(v).toString('hex') : String(v)
  })
  return args.length > i ? `${out} ${format(...args.slice(i))}` : out
}

function make (pino: PinoLogger, component: string, levels: { log: Level, error: Level, trace: Level }): Logger {
  const child = pino.child({ component })
  const emit = (level: Level) => (formatter: unknown, ...args: unknown[]): void => {
    if (child.isLevelEnabled(level)) child[level](render(formatter, args))
  }
  const log = emit(levels.log) as Logger
  log.error = emit(levels.error)
  log.trace = emit(levels.trace)
  log.enabled = child.isLevelEnabled(levels.log)
  log.newScope = (name: string) => make(pino, `${component}:${name}`, levels)
  return log
}

export function pinoComponentLogger (pino: PinoLogger): ComponentLogger {
  return {
    forComponent (name: string): Logger {
      // Warren's own components log at debug (errors at warn); libp2p internals one level lower.
      return name.startsWith('warren')
        ? make(pino, name, { log: 'debug', error: 'warn', trace: 'trace' })
        : make(pino, name, { log: 'trace', error: 'debug', trace: 'trace' })
    }
  }
}

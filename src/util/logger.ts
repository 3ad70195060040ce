/**
 * Leveled logging through pino. The node logs JSON lines by default (machine-readable,
 * cheap); `warren start` pretty-prints when stdout is a terminal. Level from
 * --log-level / WARREN_LOG_LEVEL (trace, debug, info, warn, error, silent).
 */
import { pino } from 'pino'
import type { Logger } from 'pino'

export type { Logger }

/** `fd` 1 (stdout, the node's log) or 2 (stderr: commands whose stdout is their answer). */
export function createLogger (level = process.env.WARREN_LOG_LEVEL ?? 'info', pretty = false, fd: 1 | 2 = 1): Logger {
  if (pretty) {
    return pino({ level, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname', destination: fd } } })
  }
  return pino({ level }, pino.destination(fd))
}

/** A logger that drops everything (tests, library use). */
export function silentLogger (): Logger {
  return pino({ level: 'silent' })
}

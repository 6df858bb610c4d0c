// The operator's root pino logger. Every component takes a `Logger` and derives children
// from it, so tests can pass a silent or captured logger and nothing reads a global.
import { pino } from 'pino';
import type { DestinationStream, Level, Logger } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** Defaults to TRIBUTARY_LOG_LEVEL, else `info`. */
  level?: Level | 'silent';
  /** Defaults to stdout (JSON lines). */
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? (process.env.TRIBUTARY_LOG_LEVEL as Level | undefined) ?? 'info';
  const options = { level, base: { name: 'tributary-operator' }, timestamp: pino.stdTimeFunctions.isoTime };
  return opts.destination === undefined ? pino(options) : pino(options, opts.destination);
}

/** A logger that drops everything: the default for library code when the caller passes none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

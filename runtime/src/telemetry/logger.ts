// pino logger writing JSON to stderr, so that stdout carries only sink output (console sink).
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string = process.env['TRIBUTARY_LOG_LEVEL'] ?? 'info'): Logger {
  return pino({ level, base: { component: 'runtime' } }, pino.destination({ fd: 2, sync: false }));
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

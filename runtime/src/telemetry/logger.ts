// pino logger writing JSON to stderr, so that stdout carries only sink output (console sink).
import { isMainThread } from 'node:worker_threads';
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string = process.env['TRIBUTARY_LOG_LEVEL'] ?? 'info'): Logger {
  // A slot on a worker thread logs through the thread's process.stderr, which its supervisor
  // receives (and, under a progress line, writes in whole lines after clearing it); file
  // descriptor 2 would bypass it. Everywhere else, straight to the descriptor.
  const destination = isMainThread ? pino.destination({ fd: 2, sync: false }) : process.stderr;
  return pino({ level, base: { component: 'runtime' } }, destination);
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

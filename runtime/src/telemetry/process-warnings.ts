// Process warnings go to the job's pino log (JSON on stderr) instead of Node's plain-text
// default printer, which would interleave unstructured lines with the log stream. None is
// dropped: kafkajs's TimeoutNegativeWarning on Node 24, once filtered here, is fixed at its cause
// (patches/kafkajs+2.2.4.patch; in an installed package, connectors/kafka/kafkajs-request-queue.ts).
import type { Logger } from 'pino';

/** Replaces Node's default 'warning' printer for this process; idempotent. */
export function routeProcessWarnings(logger: Logger): void {
  if (process.listeners('warning').some((l) => (l as { tributary?: boolean }).tributary)) return;
  process.removeAllListeners('warning');
  const onWarning = (w: Error): void => {
    logger.warn({ warning: w.name, code: (w as { code?: string }).code, stack: w.stack }, w.message);
  };
  (onWarning as { tributary?: boolean }).tributary = true;
  process.on('warning', onWarning);
}

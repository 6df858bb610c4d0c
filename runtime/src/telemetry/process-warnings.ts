// Process warnings go to the job's pino log (JSON on stderr) instead of Node's plain-text
// default printer, which would interleave unstructured lines with the log stream.
//
// One warning is dropped: kafkajs 2.2.4 (frozen) schedules its request-queue check with
// `setTimeout(fn, throttledUntil - Date.now())` while `throttledUntil` is still -1, which Node 24
// reports as TimeoutNegativeWarning and clamps to 1 ms. That schedule is replaced where the
// connectors load kafkajs (connectors/kafka/kafkajs-request-queue.ts: it was a 1 ms poll for
// the connection's whole life); the filter stays for kafkajs clients made without it (tests,
// benches importing kafkajs directly), where the warning says nothing a user can act on.
import type { Logger } from 'pino';

function isKafkajsNegativeTimeout(w: Error): boolean {
  return w.name === 'TimeoutNegativeWarning' && (w.stack ?? '').includes('kafkajs');
}

/** Replaces Node's default 'warning' printer for this process; idempotent. */
export function routeProcessWarnings(logger: Logger): void {
  if (process.listeners('warning').some((l) => (l as { tributary?: boolean }).tributary)) return;
  process.removeAllListeners('warning');
  const onWarning = (w: Error): void => {
    if (isKafkajsNegativeTimeout(w)) return;
    logger.warn({ warning: w.name, code: (w as { code?: string }).code, stack: w.stack }, w.message);
  };
  (onWarning as { tributary?: boolean }).tributary = true;
  process.on('warning', onWarning);
}

// Waits out brokers that refuse or do not answer around one idempotent step (the exactly-once
// sink's recovery at start: committing the restored checkpoint's transactions and fencing the
// earlier runs' ids), within a bound: a connection failure is retried with backoff (0.5 s
// doubling to 5 s), warned about when it starts and then every 30 s (a third of the bound if
// shorter), and reported as an outage (core/outage.ts) until the step succeeds; past the bound,
// or on any other error, the step's own error is thrown. A retry is safe only because the
// step is idempotent: it is what a restart of the job would run again anyway.
import type { Logger } from 'pino';
import type { ReportOutage } from '../../core/outage.ts';
import { formatDuration } from '../../graph/duration.ts';
import { isConnectionError } from './broker-reachability.ts';

export interface BrokerWait {
  /** `sink "out"`: who waits, in warnings and the outage. */
  component: string;
  brokers: string;
  /** What the step does, e.g. `recovering its Kafka transactions`. */
  what: string;
  boundMs: number;
  /** The option that sets the bound, e.g. `brokerUnreachableTimeout`. */
  boundName: string;
  logger: Logger;
  report?: ReportOutage;
  backoff?: { initialMs: number; maxMs: number };
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export async function untilBrokersAnswer<T>(step: () => Promise<T>, w: BrokerWait): Promise<T> {
  const { initialMs, maxMs } = w.backoff ?? { initialMs: 500, maxMs: 5_000 };
  const warnEveryMs = Math.min(30_000, Math.max(1_000, Math.floor(w.boundMs / 3)));
  const bound = `fails after ${w.boundName} ${formatDuration(w.boundMs)}`;
  let since: number | undefined;
  let warnedAt = -Infinity;
  for (let attempt = 0; ; attempt++) {
    try {
      const out = await step();
      if (since !== undefined) {
        w.report?.(undefined);
        w.logger.info(
          { component: w.component, brokers: w.brokers, waitedSeconds: Math.round((Date.now() - since) / 1000) },
          `${w.component}: brokers ${w.brokers} answer again`,
        );
      }
      return out;
    } catch (e) {
      const now = Date.now();
      since ??= now;
      if (!isConnectionError(e) || now - since >= w.boundMs) throw e;
      const err = message(e);
      w.report?.({
        dependency: 'kafka',
        component: w.component,
        target: `brokers ${w.brokers}`,
        since: new Date(since).toISOString(),
        error: err,
        bound,
      });
      if (now - warnedAt >= warnEveryMs) {
        warnedAt = now;
        w.logger.warn(
          { component: w.component, brokers: w.brokers, forSeconds: Math.round((now - since) / 1000), err },
          `${w.component}: brokers ${w.brokers} unreachable for ${Math.round((now - since) / 1000)} s ${w.what}: ${err}; retrying, ${bound}`,
        );
      }
      const wait = Math.min(maxMs, initialMs * 2 ** attempt, Math.max(0, since + w.boundMs - now));
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

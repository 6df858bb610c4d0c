// Waits out brokers that refuse or do not answer around one idempotent step (the exactly-once
// sink's recovery at start: committing the restored checkpoint's transactions and fencing the
// earlier runs' ids), within a bound: a connection failure is retried with backoff and warned
// about as outage-clock.ts says (then every 30 s, or a third of the bound if shorter), and
// reported as an outage (core/outage.ts) until the step succeeds; past the bound, or on any
// other error, the step's own error is thrown. A retry is safe only because the step is
// idempotent: it is what a restart of the job would run again anyway.
import type { Logger } from 'pino';
import type { ReportOutage } from '../../core/outage.ts';
import { formatDuration } from '../../graph/duration.ts';
import { isConnectionError } from './broker-reachability.ts';
import { OutageClock } from '../outage-clock.ts';

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
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export async function untilBrokersAnswer<T>(step: () => Promise<T>, w: BrokerWait): Promise<T> {
  const clock = new OutageClock(w.boundMs, Math.min(30_000, Math.max(1_000, Math.floor(w.boundMs / 3))));
  const bound = `fails after ${w.boundName} ${formatDuration(w.boundMs)}`;
  for (;;) {
    try {
      const out = await step();
      const over = clock.recovered();
      if (over) {
        w.report?.(undefined);
        w.logger.info(
          { component: w.component, brokers: w.brokers, waitedSeconds: Math.round(over.downMs / 1000) },
          `${w.component}: brokers ${w.brokers} answer again`,
        );
      }
      return out;
    } catch (e) {
      const t = clock.failed();
      if (!isConnectionError(e) || t.expired) throw e;
      const err = message(e);
      w.report?.({
        dependency: 'kafka',
        component: w.component,
        target: `brokers ${w.brokers}`,
        since: new Date(t.since).toISOString(),
        error: err,
        bound,
      });
      const secs = Math.round(t.downMs / 1000);
      if (t.warn)
        w.logger.warn(
          { component: w.component, brokers: w.brokers, forSeconds: secs, err },
          `${w.component}: brokers ${w.brokers} unreachable for ${secs} s ${w.what}: ${err}; retrying, ${bound}`,
        );
      await new Promise((r) => setTimeout(r, t.delayMs));
    }
  }
}

// What the Kafka sink says while its brokers do not answer (docs/fault-matrix.md, "hung while the
// sink sends"): a send, a transactional producer's start or a transaction's commit waits for a
// broker that accepted the connection but answers nothing. kafkajs bounds each request by
// `requestTimeout` and retries a send `retries` times (a commit's EndTxn: once), then the sink
// fails the job; until then this says so. Once a request has waited half its `requestTimeout`
// (15 s by default: far beyond a healthy broker's answer, and before a request that is not
// retried fails at its timeout) it warns, naming the sink,
// brokers, what waits, for how long and the bound, then at most every 30 s (a third of the bound
// if shorter; outage-clock.ts), and reports the outage (core/outage.ts: the StreamJob's
// DependencyUnavailable, `tributary_dependency_unavailable`) until a request is answered again,
// which clears it and logs the recovery. A request that fails ends the job; nothing to clear then.
import type { Message, ProducerRecord, RecordMetadata, Transaction } from 'kafkajs';
import type { Logger } from 'pino';
import type { DependencyOutage, ReportOutage } from '../../core/outage.ts';
import { formatDuration } from '../../graph/duration.ts';
import { OutageClock } from '../outage-clock.ts';
import type { SinkWriterContext } from '../api.ts';
import { brokerList, type ClientBounds } from './client.ts';

const WARN_EVERY_MS = 30_000;
/** kafkajs's retry backoff in all for `retries` retries (0.3 s doubling, ±20 %), rounded up. */
const backoffMs = (retries: number): number => 300 * (2 ** retries - 1) * 1.2;

export interface SinkWaiter {
  /** The sink's name. */
  sink: string;
  /** Comma-separated, as the outage and the messages name them. */
  brokers: string;
  bounds: ClientBounds;
  logger: Logger;
  report?: ReportOutage;
}

/** How kafkajs bounds a request: retried (a send, a producer's start) or one attempt (EndTxn). */
export type Attempts = 'retried' | 'once';

/** The bound of a request: `fails after requestTimeout 30s × (retries 5 + 1) plus backoff`. */
export function describeWaitBound(b: ClientBounds, attempts: Attempts): string {
  const t = `requestTimeout ${formatDuration(b.requestTimeoutMs)}`;
  return attempts === 'once' ? `fails after ${t}` : `fails after ${t} × (retries ${b.retries} + 1) plus backoff`;
}

/** The longest a request waits before kafkajs fails it. */
export function waitBoundMs(b: ClientBounds, attempts: Attempts): number {
  if (attempts === 'once') return b.requestTimeoutMs;
  return b.requestTimeoutMs * (b.retries + 1) + backoffMs(b.retries);
}

/** The watcher of a Kafka sink's requests, reporting through its context. */
export function sinkRequests(
  ctx: SinkWriterContext,
  brokers: string[] | string,
  bounds: ClientBounds,
): UnansweredRequests {
  const report = ctx.reportOutage;
  const brokerNames = brokerList(brokers).join(',');
  return new UnansweredRequests({
    sink: ctx.sinkName,
    brokers: brokerNames,
    bounds,
    logger: ctx.logger,
    ...(report ? { report } : {}),
  });
}

interface Pending {
  start: number;
  what: string;
  attempts: Attempts;
}

const secs = (ms: number): number => Math.round(ms / 1000);

export class UnansweredRequests {
  private readonly w: SinkWaiter;
  private readonly now: () => number;
  private readonly checkEveryMs: number;
  private readonly pending = new Set<Pending>();
  private timer: NodeJS.Timeout | undefined;
  /** The outage reported (its clock runs) while set. */
  private clock: OutageClock | undefined;
  private reported: DependencyOutage | undefined;
  private stopped = false;
  private lastAnswer = 0;

  constructor(w: SinkWaiter, now: () => number = Date.now, checkEveryMs = 500) {
    this.w = w;
    this.now = now;
    this.checkEveryMs = checkEveryMs;
  }

  /** `p`, watched while it waits: `what` (e.g. `sending 12 records to topic t`) names it in warnings. */
  track<T>(p: Promise<T>, what: string, attempts: Attempts = 'retried'): Promise<T> {
    const r: Pending = { start: this.now(), what, attempts };
    this.pending.add(r);
    if (!this.timer && !this.stopped) {
      this.timer = setInterval(() => this.check(), this.checkEveryMs);
      this.timer.unref();
    }
    return p.then(
      (v) => {
        this.settled(r);
        this.answered();
        return v;
      },
      (e: unknown) => {
        this.settled(r);
        throw e;
      },
    );
  }

  /** A send of `messages` to `topic` (acks=all), watched. */
  send(sender: { send(r: ProducerRecord): Promise<RecordMetadata[]> }, topic: string, messages: Message[]) {
    return this.track(
      sender.send({ topic, messages, acks: -1 }),
      `sending ${messages.length} records to topic ${topic}`,
    );
  }

  /** A transaction's commit, watched: one EndTxn, no kafkajs retries (a hung coordinator fails it at its timeout). */
  commit(txn: Transaction, what: string): Promise<void> {
    return this.track(txn.commit(), what, 'once');
  }

  /** Warns and reports when the oldest request has waited half its request timeout or more (the timer calls it). */
  check(): void {
    let oldest: Pending | undefined;
    for (const r of this.pending) if (!oldest || r.start < oldest.start) oldest = r;
    if (!oldest) return;
    const now = this.now();
    const b = this.w.bounds;
    // A request older than the last answer waits since that answer: the brokers answered meanwhile.
    const waitsSince = Math.max(oldest.start, this.lastAnswer);
    if (now - waitsSince < b.requestTimeoutMs / 2) return;
    const boundMs = waitBoundMs(b, oldest.attempts);
    this.clock ??= new OutageClock(
      boundMs,
      Math.min(WARN_EVERY_MS, Math.max(1_000, Math.floor(boundMs / 3))),
      this.now,
    );
    const step = this.clock.failed();
    const since = this.reported ? Date.parse(this.reported.since) : waitsSince;
    const bound = describeWaitBound(b, oldest.attempts);
    const outage: DependencyOutage = {
      dependency: 'kafka',
      component: `sink "${this.w.sink}"`,
      target: `brokers ${this.w.brokers}`,
      since: new Date(since).toISOString(),
      // Stable while the same request waits (the status is written when it changes): no duration.
      error: `no answer from the brokers for half the requestTimeout ${formatDuration(b.requestTimeoutMs)} (${oldest.what})`,
      bound,
    };
    if (!this.reported || this.reported.error !== outage.error || this.reported.bound !== outage.bound) {
      this.reported = outage;
      this.w.report?.(outage);
    }
    if (!step.warn) return;
    const forS = secs(now - since);
    this.w.logger.warn(
      {
        sink: this.w.sink,
        brokers: this.w.brokers,
        forSeconds: forS,
        waiting: oldest.what,
        pending: this.pending.size,
      },
      `kafka sink "${this.w.sink}": brokers ${this.w.brokers} have not answered for ${forS} s (${oldest.what}); ` +
        `still waiting, ${bound}`,
    );
  }

  /** No more watching (the sink closed); an outage still reported stays until the slot ends. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private settled(r: Pending): void {
    this.pending.delete(r);
    if (this.pending.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** A request was answered: the brokers answer again. */
  private answered(): void {
    this.lastAnswer = this.now();
    this.clock?.recovered();
    this.clock = undefined;
    if (!this.reported) return;
    const downMs = this.now() - Date.parse(this.reported.since);
    this.reported = undefined;
    this.w.report?.(undefined);
    this.w.logger.info(
      { sink: this.w.sink, brokers: this.w.brokers, waitedSeconds: secs(downMs) },
      `kafka sink "${this.w.sink}": brokers ${this.w.brokers} answer again after ${secs(downMs)} s`,
    );
  }
}

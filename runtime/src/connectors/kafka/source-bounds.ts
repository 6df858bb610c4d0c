// How long a Kafka source waits out a trouble before it fails (docs/fault-matrix.md): brokers
// that refuse or do not answer (`brokerUnreachableTimeout`, default 30 s: the consumer loop's
// BrokerReachability, the partition discovery and the first lookup at open), and a topic that
// does not exist — not yet, or no more (`topicMissingTimeout`, default 5 min). Past a bound the
// source fails with TRIB_CONNECTOR_FAILED naming the source, topic and brokers: the supervisor
// or the operator restarts the job from its latest checkpoint, with backoff, and each attempt
// waits the bound again. Until then a warning names the trouble when it starts and repeats
// every 30 s (a third of the bound if shorter), never once per retry.
import type { DependencyOutage, ReportOutage } from '../../core/outage.ts';
import { TributaryError } from '../../errors.ts';
import { formatDuration, parseDuration } from '../../graph/duration.ts';
import type { KafkaSourceSpec } from '../../graph/spec.ts';
import type { Admin, Kafka as KafkaClient } from 'kafkajs';
import type { Logger } from 'pino';
import { topicPartitions } from './admin-lookups.ts';
import { BROKERS_UNREACHABLE_FAIL_MS, isConnectionError } from './broker-reachability.ts';
import type { FetchHandler } from './consumer-loop.ts';
import { missingTopicBackoffMs, type WatchBounds, type WatchTrouble } from './topic-watch.ts';

export const TOPIC_MISSING_FAIL_MS = 5 * 60_000;
const WARN_EVERY_MS = 30_000;

export function sourceBounds(spec: KafkaSourceSpec): WatchBounds {
  const unreachableMs = parseDuration(spec.brokerUnreachableTimeout) ?? BROKERS_UNREACHABLE_FAIL_MS;
  const missingMs = parseDuration(spec.topicMissingTimeout) ?? TOPIC_MISSING_FAIL_MS;
  return { unreachableMs, missingMs, warnEveryMs: WARN_EVERY_MS };
}

/** Who waits: the source, its slot, topic and brokers. */
export interface Waiter {
  source: string;
  slot: number;
  topic: string;
  brokers: string;
}

const secs = (ms: number): number => Math.round(ms / 1000);
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The warning while a trouble lasts: its log fields and line. */
export function troubleWarning(w: Waiter, t: WatchTrouble, b: WatchBounds): { fields: object; line: string } {
  const fields = { source: w.source, slot: w.slot, topic: w.topic, brokers: w.brokers, forSeconds: secs(t.forMs) };
  if (t.kind === 'missing')
    return {
      fields,
      line:
        `kafka source "${w.source}" waits for topic ${w.topic}: it does not exist on ${w.brokers} ` +
        `(for ${secs(t.forMs)} s); reading starts when it is created; fails after topicMissingTimeout ${formatDuration(b.missingMs)}`,
    };
  return {
    fields: { ...fields, err: message(t.error) },
    line:
      `kafka source "${w.source}": brokers ${w.brokers} unreachable for ${secs(t.forMs)} s looking up topic ${w.topic}: ` +
      `${message(t.error)}; retrying, fails after brokerUnreachableTimeout ${formatDuration(b.unreachableMs)}`,
  };
}

/** The outage while brokers do not answer, for /v1/status and metrics (core/outage.ts). */
export function troubleOutage(w: Waiter, t: WatchTrouble & { kind: 'unreachable' }, b: WatchBounds): DependencyOutage {
  return {
    dependency: 'kafka',
    component: `source "${w.source}"`,
    target: `brokers ${w.brokers}`,
    since: new Date(Date.now() - t.forMs).toISOString(),
    // Stable while the outage lasts (status is written when it changes): no growing duration.
    error: `${t.unanswered ? 'no answer from the brokers' : message(t.error)} (looking up topic ${w.topic})`,
    bound: `fails after brokerUnreachableTimeout ${formatDuration(b.unreachableMs)}`,
  };
}

/** The consumer's side of the outage (its brokers refuse or drop it), for a FetchHandler of this consumer. */
export function consumerOutages(
  report: ReportOutage | undefined,
  w: Waiter,
  b: WatchBounds,
  current: () => boolean,
): Pick<FetchHandler, 'unreachable' | 'reachable'> {
  if (!report) return {};
  return {
    unreachable: (sinceMs, err) => {
      if (!current()) return;
      report({
        dependency: 'kafka',
        component: `source "${w.source}"`,
        target: `brokers ${w.brokers}`,
        since: new Date(sinceMs).toISOString(),
        error: `${message(err)} (consumer of topic ${w.topic})`,
        bound: `fails after brokerUnreachableTimeout ${formatDuration(b.unreachableMs)}`,
      });
    },
    reachable: () => {
      if (current()) report(undefined);
    },
  };
}

/** The failure once a bound passed. */
export function troubleFailure(w: Waiter, t: WatchTrouble, b: WatchBounds): TributaryError {
  const who = `source "${w.source}" (slot ${w.slot})`;
  if (t.kind === 'missing')
    return new TributaryError(
      'TRIB_CONNECTOR_FAILED',
      `${who}: topic ${w.topic} does not exist on brokers ${w.brokers}: waited ${secs(t.forMs)} s ` +
        `(topicMissingTimeout ${formatDuration(b.missingMs)})`,
    );
  return new TributaryError(
    'TRIB_CONNECTOR_FAILED',
    `${who}: brokers ${w.brokers} unreachable for ${secs(t.forMs)} s looking up topic ${w.topic} ` +
      `(brokerUnreachableTimeout ${formatDuration(b.unreachableMs)}): ${message(t.error)}`,
    { cause: t.error },
  );
}

/**
 * The topic's partitions at open (undefined: it does not exist). Brokers that refuse are asked
 * again with backoff (warning as a watch does) and brokers that do not answer are waited for,
 * both until the bound: then TRIB_CONNECTOR_FAILED naming the source, topic and brokers. Any
 * other error fails at once. `admin`: one without kafkajs retries (this retries itself).
 */
export async function firstLookup(
  admin: Admin,
  b: WatchBounds,
  w: Waiter,
  warn: (t: WatchTrouble) => void,
): Promise<number[] | undefined> {
  const since = Date.now();
  let given = false;
  let lastWarn: number | undefined;
  let last: unknown;
  const attempts = async (): Promise<number[] | undefined> => {
    for (let n = 1; ; n++) {
      try {
        await admin.connect();
        return await topicPartitions(admin, w.topic);
      } catch (e) {
        if (given) return undefined;
        if (!isConnectionError(e)) throw lookupFailed(w, e);
        const now = Date.now();
        last = e;
        const t: WatchTrouble = { kind: 'unreachable', forMs: now - since, error: e };
        if (lastWarn === undefined || now - lastWarn >= Math.min(b.warnEveryMs, Math.max(1000, b.unreachableMs / 3))) {
          lastWarn = now;
          warn(t);
        }
        if (now - since >= b.unreachableMs) throw troubleFailure(w, t, b);
        // A connection whose ApiVersions timed out (`requestTimeout`) stays open without the
        // broker's versions: kafkajs's next connect() would take it as connected and the lookup
        // fail with "Broker not connected". The next attempt starts from a new connection.
        await closedWithin(admin.disconnect());
        await new Promise((r) => setTimeout(r, missingTopicBackoffMs(n)));
      }
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const t: WatchTrouble = {
        kind: 'unreachable',
        forMs: Date.now() - since,
        error: last ?? new Error(`no answer from the brokers for ${secs(Date.now() - since)} s`),
      };
      reject(troubleFailure(w, t, b));
    }, b.unreachableMs);
  });
  try {
    return await Promise.race([attempts(), late]);
  } catch (e) {
    await closedWithin(admin.disconnect()); // a hung broker would hold it for a request timeout
    throw e;
  } finally {
    given = true;
    clearTimeout(timer);
  }
}

/**
 * The source's admin clients, connected: `kafka`'s (kafkajs retries) and the watch's (none: it
 * retries and bounds each lookup itself), with the topic's partitions at open (firstLookup).
 */
export async function openAdmins(
  kafka: KafkaClient,
  watchKafka: KafkaClient,
  b: WatchBounds,
  w: Waiter,
  warn: (t: WatchTrouble) => void,
): Promise<{ admin: Admin; watchAdmin: Admin; first: number[] | undefined }> {
  const watchAdmin = watchKafka.admin();
  const first = await firstLookup(watchAdmin, b, w, warn);
  const admin = kafka.admin();
  await admin.connect().catch(async (e: unknown) => {
    await watchAdmin.disconnect();
    throw lookupFailed(w, e);
  });
  return { admin, watchAdmin, first };
}

/** Logs a trouble's warning at warn. */
/** Logs each warning; brokers that do not answer are also an outage while the source rides them out. */
export function warnTrouble(
  logger: Logger,
  w: Waiter,
  b: WatchBounds,
  report?: ReportOutage,
): (t: WatchTrouble) => void {
  return (t) => {
    const { fields, line } = troubleWarning(w, t, b);
    logger.warn(fields, line);
    if (t.kind === 'unreachable') report?.(troubleOutage(w, t, b));
  };
}

/**
 * Waits for `closing` (a disconnect, a consumer's stop) at most `ms`: kafkajs waits for its
 * requests in flight, and a hung broker answers none before its request timeout (30 s, and a
 * consumer's stop sends one more); the close goes on behind, its failure ignored.
 */
export async function closedWithin(closing: Promise<unknown> | undefined, ms = 2000): Promise<void> {
  if (!closing) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([closing.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

function lookupFailed(w: Waiter, e: unknown): TributaryError {
  return new TributaryError(
    'TRIB_CONNECTOR_FAILED',
    `source "${w.source}": cannot read metadata of topic ${w.topic} from brokers ${w.brokers}: ${message(e)}`,
    { cause: e },
  );
}

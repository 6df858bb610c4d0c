// kafkajs client construction shared by the Kafka source and sink: brokers from the spec,
// kafkajs logs routed to pino (warnings and errors only; kafkajs-log.ts).
import './kafkajs-read-committed.ts'; // before kafkajs: fixes its read_committed filter
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient, LogEntry, logCreator } from 'kafkajs';
import { logKafkajsEntry } from './kafkajs-log.ts';
import type { Logger } from 'pino';
import { formatDuration, parseDuration } from '../../graph/duration.ts';

const { Kafka, logLevel, Partitioners } = kafkajs;

/**
 * The partitioner of every producer (`createPartitioner`): kafkajs 2's default, the Java
 * client's (murmur2 of the key; keyless messages round-robin), which is what our producers
 * used all along. Naming it keeps the key → partition mapping and stops kafkajs's warn-level
 * notice that its default changed in 2.0.0, logged at each process's first producer.
 */
export const keyPartitioner = Partitioners.DefaultPartitioner;

export function brokerList(b: string[] | string): string[] {
  return (Array.isArray(b) ? b : b.split(',')).map((s) => s.trim()).filter((s) => s !== '');
}

/** kafkajs's own defaults, which the options below keep when they are not set. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_RETRIES = 5;

/**
 * The kafkajs bounds a Kafka source or sink configures (`requestTimeout`, the sink's `retries`):
 * how long one request waits for a broker that accepted the connection but does not answer (a
 * hung broker; fetches wait their long poll instead), and how often a failed request is retried,
 * with kafkajs's backoff (0.3 s doubling, ±20 %: 5 retries wait about 9 s in all).
 */
export interface ClientBounds {
  requestTimeoutMs: number;
  retries: number;
}

/** The bounds of a source's or sink's spec (validated by kafka-config-rules.ts), kafkajs's defaults where unset. */
export function clientBounds(spec: { requestTimeout?: string; retries?: number }): ClientBounds {
  return {
    requestTimeoutMs: parseDuration(spec.requestTimeout) ?? DEFAULT_REQUEST_TIMEOUT_MS,
    retries: spec.retries ?? DEFAULT_RETRIES,
  };
}

/** `requestTimeout 30s, retries 5`: the options behind a request that timed out, for its error. */
export function describeBounds(b: ClientBounds): string {
  return `requestTimeout ${formatDuration(b.requestTimeoutMs)}, retries ${b.retries}`;
}

/** Whether kafkajs gave up on `e` because a request timed out (in it or its causes). */
export function isRequestTimeout(e: unknown): boolean {
  for (let x: unknown = e, depth = 0; x instanceof Error && depth < 8; x = x.cause, depth++) {
    if (x.name === 'KafkaJSRequestTimeoutError') return true;
  }
  return false;
}

/**
 * `e`, its message naming the options that bounded it when a request timed out (the user can
 * shorten or lengthen the wait with them), and the brokers that did not answer when given; any
 * other error as it is. kafkajs's "Failed to find group coordinator" counts as a timeout: it is
 * what a coordinator lookup (a transaction's commit, a consumer group's) throws when no broker
 * answered, each broker's own error (a timed-out request) dropped.
 */
export function namingBounds(e: unknown, b: ClientBounds, brokers?: string[] | string): unknown {
  if (!(e instanceof Error) || !(isRequestTimeout(e) || e.name === 'KafkaJSGroupCoordinatorNotFound')) return e;
  const who = brokers === undefined ? '' : `brokers ${brokerList(brokers).join(',')} did not answer; `;
  return new Error(`${e.message} (${who}${describeBounds(b)})`, { cause: e });
}

/**
 * `log`: a pino logger, or where a fetch thread sends kafkajs's log lines (to its slot's logger).
 * `bounds.retries`: kafkajs's own retries of a request; 0 for a caller that retries itself.
 */
export function createKafka(
  brokers: string[] | string,
  clientId: string,
  log: Logger | ((entry: LogEntry) => void),
  bounds: Partial<ClientBounds> = {},
): KafkaClient {
  const toPino: logCreator = () => (typeof log === 'function' ? log : (entry) => logKafkajsEntry(log, entry));
  return new Kafka({
    clientId,
    brokers: brokerList(brokers),
    logLevel: logLevel.WARN,
    logCreator: toPino,
    requestTimeout: bounds.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    retry: { retries: bounds.retries ?? DEFAULT_RETRIES },
  });
}

// Which slot owns a partition lives in its own module (no kafkajs): the rescale planner uses it too.
export { partitionOwner } from './partition-owner.ts';

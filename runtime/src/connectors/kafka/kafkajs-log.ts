// kafkajs's log lines into pino. kafkajs's connection layer logs every error answer of the
// broker at error level ("Response Metadata(key: 3, version: 6)" with the broker's message)
// before the code that sent the request decides what it means. For the errors Kafka calls
// retriable (a leader not elected yet, a topic being auto-created, a coordinator moving) the
// caller retries, and a normal start against a new topic would print a handful of red lines;
// what the retries give up on is thrown and reported by the connector itself, naming it
// (TRIB_CONNECTOR_FAILED). So those lines go to debug; a non-retriable error answer (an ACL
// denial, a record too large) stays at error, where it has always been. Fetch answers keep
// their level whatever the error: the consumer recovers from a leader error by rejoining and
// fetching again without ever throwing, so a partition whose leader stays away (its broker down
// in a cluster whose others are up) would otherwise stop reading without a line above debug.
import './kafkajs-read-committed.ts'; // before kafkajs: fixes its read_committed filter
import kafkajs from 'kafkajs';
import type { LogEntry } from 'kafkajs';
import type { Logger } from 'pino';
import { kafkajsModule } from './kafkajs-module-patch.ts';

const { logLevel } = kafkajs;

type ErrorCodes = { errorCodes?: { message: string; retriable: boolean }[] };

/** The broker's messages of the retriable error codes, from kafkajs's own table (empty if it moved). */
const RETRIABLE = new Set(
  ((kafkajsModule('kafkajs/src/protocol/error.js') as ErrorCodes | undefined)?.errorCodes ?? [])
    .filter((c) => c.retriable)
    .map((c) => c.message),
);

/** A connection-level log of a broker's retriable error answer (see the file comment). */
export function isRetriableResponse(entry: LogEntry): boolean {
  const { message, error } = entry.log as { message: string; error?: unknown };
  return (
    entry.namespace === 'Connection' &&
    message.startsWith('Response ') &&
    !message.startsWith('Response Fetch(') &&
    typeof error === 'string' &&
    RETRIABLE.has(error)
  );
}

/**
 * A line kafkajs logs once per retry: a failed connection attempt, a consumer's crash and its
 * restart (about once a second while its brokers are away). Their callers report what the
 * retries gave up on (the Kafka source fails after brokerUnreachableTimeout, naming it).
 */
export function isConnectRetry(entry: LogEntry): boolean {
  const { message } = entry.log as { message: string };
  return (
    (entry.namespace === 'Connection' && message.startsWith('Connection error:')) ||
    (entry.namespace === 'BrokerPool' && message.startsWith('Failed to connect to seed broker')) ||
    (entry.namespace === 'Consumer' && (message.startsWith('Crash: ') || message.startsWith('Restarting the consumer')))
  );
}

/** The same connection failure is logged at its level at most this often per logger; the rest at debug. */
export const CONNECT_RETRY_LOG_EVERY_MS = 30_000;
const lastConnectRetry = new WeakMap<Logger, Map<string, { at: number; since: number }>>();

/** True when this connection failure was logged at its level within CONNECT_RETRY_LOG_EVERY_MS; counts it. */
function repeatedConnectRetry(logger: Logger, entry: LogEntry, now = Date.now()): number | undefined {
  let seen = lastConnectRetry.get(logger);
  if (!seen) lastConnectRetry.set(logger, (seen = new Map()));
  // The same line whatever its numbers (a restart's delay, a retry count).
  const key = `${entry.namespace} ${(entry.log as { message: string }).message.replace(/\d+/g, '#')}`;
  const last = seen.get(key);
  if (last && now - last.at < CONNECT_RETRY_LOG_EVERY_MS) {
    last.since++;
    return undefined;
  }
  seen.set(key, { at: now, since: 0 });
  return last?.since ?? 0;
}

/**
 * Logs `entry` at the level it deserves: kafkajs's own, except retriable error answers (debug)
 * and a connection failure repeated within CONNECT_RETRY_LOG_EVERY_MS (debug; the next one
 * logged says how many it stood for): a broker that stays away must not print a line per retry.
 */
export function logKafkajsEntry(logger: Logger, entry: LogEntry): void {
  const { message, ...extra } = entry.log;
  const fields: Record<string, unknown> = { kafka: entry.namespace, ...extra };
  if (entry.level === logLevel.ERROR && isConnectRetry(entry)) {
    const suppressed = repeatedConnectRetry(logger, entry);
    if (suppressed === undefined) logger.debug(fields, message);
    else logger.error(suppressed > 0 ? { ...fields, repeatedSinceLastLogged: suppressed } : fields, message);
    return;
  }
  if (entry.level === logLevel.ERROR && !isRetriableResponse(entry)) logger.error(fields, message);
  else if (entry.level === logLevel.WARN) logger.warn(fields, message);
  else logger.debug(fields, message);
}

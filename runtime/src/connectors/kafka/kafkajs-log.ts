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

/** Logs `entry` at the level it deserves: kafkajs's own, except retriable error answers (debug). */
export function logKafkajsEntry(logger: Logger, entry: LogEntry): void {
  const { message, ...extra } = entry.log;
  const fields = { kafka: entry.namespace, ...extra };
  if (entry.level === logLevel.ERROR && !isRetriableResponse(entry)) logger.error(fields, message);
  else if (entry.level === logLevel.WARN) logger.warn(fields, message);
  else logger.debug(fields, message);
}

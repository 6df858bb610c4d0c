// kafkajs client construction shared by the Kafka source and sink: brokers from the spec,
// kafkajs logs routed to pino (warnings and errors only; kafkajs-log.ts).
import './kafkajs-read-committed.ts'; // before kafkajs: fixes its read_committed filter
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient, LogEntry, logCreator } from 'kafkajs';
import { logKafkajsEntry } from './kafkajs-log.ts';
import type { Logger } from 'pino';

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

/**
 * `log`: a pino logger, or where a fetch thread sends kafkajs's log lines (to its slot's logger).
 * `retries`: kafkajs's own retries of a request (default 5); 0 for a caller that retries itself.
 */
export function createKafka(
  brokers: string[] | string,
  clientId: string,
  log: Logger | ((entry: LogEntry) => void),
  retries = 5,
): KafkaClient {
  const toPino: logCreator = () => (typeof log === 'function' ? log : (entry) => logKafkajsEntry(log, entry));
  return new Kafka({
    clientId,
    brokers: brokerList(brokers),
    logLevel: logLevel.WARN,
    logCreator: toPino,
    retry: { retries },
  });
}

/** Java's String.hashCode, for Flink's KafkaSourceEnumerator owner formula. */
function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/**
 * Deterministic partition → slot assignment (Flink's KafkaSourceEnumerator.getSplitOwner):
 * start = ((hash(topic) · 31) & 0x7FFFFFFF) mod p; owner(partition) = (start + partition) mod p.
 */
export function partitionOwner(topic: string, partition: number, parallelism: number): number {
  const start = (Math.imul(javaStringHash(topic), 31) & 0x7fffffff) % parallelism;
  return (start + partition) % parallelism;
}

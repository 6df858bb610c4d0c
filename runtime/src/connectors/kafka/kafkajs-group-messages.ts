// A linear replacement for kafkajs 2.2.4's producer/groupMessagesPerPartition.js, which every
// send() runs over its messages: it copies the partition's array for each message
// (`[...current, message]`), so a send of n messages to one partition costs O(n²) copies. A
// q0 profile (docs/runtime/performance.md) put it at 16% of the job's CPU for sends of 2000
// records. The replacement returns the same object (partition → messages in send order;
// integer keys iterate in ascending order either way) and calls the partitioner exactly as
// often and in the same order. Installed into the CommonJS module cache before kafkajs loads,
// as kafkajs-read-committed.ts does (imported by it, so every Kafka module gets both); if
// kafkajs was loaded first or its layout changed, the original stays in place: slower, not
// wrong, so nothing refuses to run without it.
import { installKafkajsPatch, isMarked, withMark } from './kafkajs-module-patch.ts';

interface GroupArgs<M> {
  topic: string;
  partitionMetadata: unknown[];
  messages: M[];
  partitioner: (a: { topic: string; partitionMetadata: unknown[]; message: M }) => number;
}

export function groupMessagesPerPartition<M>({
  topic,
  partitionMetadata,
  messages,
  partitioner,
}: GroupArgs<M>): Record<number, M[]> {
  const result: Record<number, M[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (result[partition] ??= []).push(message);
  }
  return result;
}

const MARK = Symbol.for('tributary.kafkajs.linearGroupMessages');

/** True when kafkajs's producers group messages with the linear version. */
export const groupPatched = installKafkajsPatch({
  file: 'kafkajs/src/producer/groupMessagesPerPartition.js',
  loadedBy: 'kafkajs/src/producer/sendMessages.js',
  isPatched: (e) => isMarked(e, MARK),
  replace: (original) => (typeof original === 'function' ? withMark(groupMessagesPerPartition, MARK) : undefined),
});

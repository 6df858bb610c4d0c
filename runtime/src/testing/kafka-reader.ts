// Reads a whole topic for an integration test's assertions. Imports the read_committed fix
// before kafkajs: without it kafkajs 2.2.4 passes records of aborted transactions as committed,
// which shows up as phantom duplicates after an exactly-once sink was fenced on recovery.
import { patched } from '../connectors/kafka/kafkajs-read-committed.ts';
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { TributaryError } from '../errors.ts';

export interface ReadRecord {
  key: string | null;
  value: string;
  headers: Record<string, string>;
  partition: number;
  offset: string;
}

export interface ReadOptions {
  /** Stop once this many records arrived (then wait `settleMs` more: duplicates would show). */
  expected: number;
  /** Give up (returning what arrived) after this long. */
  timeoutMs?: number;
  settleMs?: number;
  /** read_uncommitted: also records of open and aborted transactions. */
  readUncommitted?: boolean;
}

/**
 * Every record of `topic` from the beginning, in arrival order; read_committed unless asked otherwise. Its group is
 * new: the cluster is ready only once the broker serves group coordinators (test/cluster/components/
 * kafka-coordinators.ts), so a join that delivers nothing is a failure to see, not to retry with another group.
 */
export async function readTopic(kafka: Kafka, topic: string, o: ReadOptions): Promise<ReadRecord[]> {
  if (!o.readUncommitted && !patched)
    throw new TributaryError(
      'TRIB_INVARIANT',
      'kafkajs was loaded before kafkajs-read-committed.ts: read_committed results would include aborted records',
    );
  const timeoutMs = o.timeoutMs ?? 30_000;
  const consumer = kafka.consumer({
    groupId: `it-reader-${randomUUID()}`,
    readUncommitted: o.readUncommitted ?? false,
  });
  const out: ReadRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    return await new Promise<ReadRecord[]>((resolve, reject) => {
      const timer = setTimeout(() => resolve(out), timeoutMs);
      let settling = false;
      consumer.on(consumer.events.CRASH, (e) => {
        if (e.payload.restart) return;
        clearTimeout(timer);
        reject(new Error(`reader of ${topic} crashed: ${e.payload.error.message}`, { cause: e.payload.error }));
      });
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) {
              const headers: Record<string, string> = {};
              for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = String(v);
              out.push({
                key: m.key?.toString() ?? null,
                value: m.value?.toString() ?? '',
                headers,
                partition: batch.partition,
                offset: m.offset,
              });
            }
            if (out.length >= o.expected && !settling) {
              settling = true;
              clearTimeout(timer);
              setTimeout(() => resolve(out), o.settleMs ?? 1500);
            }
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
}

/** Values only, sorted: the multiset a test compares against a reference. */
export async function readValues(kafka: Kafka, topic: string, o: ReadOptions): Promise<string[]> {
  return (await readTopic(kafka, topic, o)).map((r) => r.value).sort();
}

// Topics of the Kafka bench: the input (Nexmark bids as our datagen makes them, loaded once by a
// Tributary job into a 4-partition topic), an output topic per contender, and the check that an
// output holds exactly the expected records: the count, and an order-independent digest (the sum
// mod 2^64 of a hash of each record's canonical JSON, keys sorted), so a fast wrong run cannot win
// and a duplicate or a lost record shows. Read committed: an exactly-once sink's aborted
// transactions do not count.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createKafka } from '../runtime/src/connectors/kafka/client.ts';
import { validateGraph } from '../runtime/src/connectors/validate-graph.ts';
import { TributaryError } from '../runtime/src/errors.ts';
import { createJobExecutor } from '../runtime/src/job/job-executor.ts';
import type { GraphSpec } from '../runtime/src/graph/spec.ts';

export const PARTITIONS = 4;
/** Nexmark q1: the bid's price in another currency. The same factor is the q1 graph's CEL. */
export const Q1_RATE = 0.908;

const logger = pino({ level: 'warn' });

export async function createTopics(brokers: string, topics: string[]): Promise<void> {
  const admin = createKafka(brokers, 'bench-kafka-admin', logger).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: topics.map((topic) => ({ topic, numPartitions: PARTITIONS, replicationFactor: 1 })),
    });
    // On a loaded machine a new topic's metadata can lag its creation past kafkajs's own retries
    // (UNKNOWN_TOPIC_OR_PARTITION): ask again until every partition has a leader.
    let last: unknown;
    for (let attempt = 0; attempt < 40; attempt++) {
      try {
        const { topics: meta } = await admin.fetchTopicMetadata({ topics });
        if (meta.every((t) => t.partitions.length === PARTITIONS && t.partitions.every((p) => p.leader >= 0))) return;
      } catch (e) {
        last = e;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new TributaryError('TRIB_CONNECTOR_FAILED', `topics ${topics.join(', ')} have no leaders yet`, {
      cause: last,
    });
  } finally {
    await admin.disconnect();
  }
}

export async function deleteTopics(brokers: string, topics: string[]): Promise<void> {
  const admin = createKafka(brokers, 'bench-kafka-admin', logger).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const mine = topics.filter((t) => existing.has(t));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine });
  } finally {
    await admin.disconnect();
  }
}

/** `records` Nexmark bids (seed 42, fixed event times) into `topic`, by a Tributary job at p1. */
export async function loadBids(brokers: string, topic: string, records: number): Promise<void> {
  const g: GraphSpec = {
    sources: [
      {
        name: 'bids',
        datagen: { generator: 'nexmark', events: ['bid'], count: records, seed: 42, startTime: 1_700_000_000_000 },
      },
    ],
    // Exactly-once: the input must hold each bid once. An at-least-once sink may write a batch
    // twice when kafkajs retries a request one partition of which failed (a new topic's leader
    // not in place yet), and the check would then compare against a reference with duplicates.
    sinks: [{ name: 'input', from: 'bids', kafka: { brokers, topic, delivery: 'exactly-once' } }],
  };
  const stateDir = mkdtempSync(join(tmpdir(), 'tributary-bench-load-'));
  try {
    const job = await createJobExecutor(validateGraph(g), {
      parallelism: 1,
      logger,
      checkpointing: { stateDir, intervalMs: 1000 },
    });
    const r = await job.run();
    if (r.state !== 'FINISHED') throw new TributaryError('TRIB_JOB_FAILED', `loading the bids ended ${r.state}`);
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
  // The last transaction's commit markers are written after its commit returned: read_committed readers see
  // every record once they are in (a reader before that stops at the last stable offset, short of the end).
  let seen = 0;
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((w) => setTimeout(w, 250))) {
    seen = (await readDigests(brokers, topic, [(x) => x]))[0]?.count ?? 0;
    if (seen === records) return;
  }
  throw new TributaryError('TRIB_JOB_FAILED', `loading the bids: ${seen} of ${records} committed records readable`);
}

function canonical(rec: Record<string, unknown>): string {
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(rec).sort()) sorted[k] = rec[k];
  return JSON.stringify(sorted);
}

function hash64(s: string): bigint {
  return createHash('md5').update(s).digest().readBigUInt64LE(0);
}

const MASK = (1n << 64n) - 1n;

export interface TopicDigest {
  count: number;
  digest: bigint;
}

/** Reads `topic` from the start to its end offsets and digests each record's value after `map`. */
async function readDigests(
  brokers: string,
  topic: string,
  maps: ((rec: Record<string, unknown>) => Record<string, unknown>)[],
): Promise<TopicDigest[]> {
  const kafka = createKafka(brokers, 'bench-kafka-check', logger);
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<number, number>();
  for (const p of await admin.fetchTopicOffsets(topic)) if (Number(p.high) > 0) ends.set(p.partition, Number(p.high));
  await admin.disconnect();
  const out = maps.map(() => ({ count: 0, digest: 0n }));
  if (ends.size === 0) return out;
  const consumer = kafka.consumer({ groupId: `bench-kafka-check-${randomUUID()}`, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const { promise: finished, resolve } = Promise.withResolvers<void>();
  const reached = (partition: number, lastOffset: string): void => {
    if (Number(lastOffset) + 1 >= (ends.get(partition) ?? Infinity)) ends.delete(partition);
    if (ends.size === 0) resolve();
  };
  // A fetch of transaction markers only never reaches eachBatch; it still moves the read to the end.
  consumer.on(consumer.events.START_BATCH_PROCESS, (e) => {
    if (e.payload.batchSize === 0 && e.payload.firstOffset !== null) reached(e.payload.partition, e.payload.lastOffset);
  });
  await consumer.run({
    eachBatch: async ({ batch, heartbeat }) => {
      for (const m of batch.messages) {
        const rec = JSON.parse((m.value as Buffer).toString('utf8')) as Record<string, unknown>;
        maps.forEach((f, i) => {
          const d = out[i] as TopicDigest;
          d.count++;
          d.digest = (d.digest + hash64(canonical(f(rec)))) & MASK;
        });
      }
      await heartbeat();
      // The last offset may be a transaction marker, never delivered: the fetch's end counts.
      reached(batch.partition, batch.lastOffset());
    },
  });
  await finished;
  await consumer.disconnect();
  return out;
}

/** The input's digests as q0 (unchanged) and q1 (price × Q1_RATE) outputs must have them. */
export async function referenceDigests(brokers: string, topic: string): Promise<{ q0: TopicDigest; q1: TopicDigest }> {
  const [q0, q1] = await readDigests(brokers, topic, [
    (r) => r,
    (r) => ({ ...r, price: (r['price'] as number) * Q1_RATE }),
  ]);
  return { q0: q0 as TopicDigest, q1: q1 as TopicDigest };
}

export async function outputDigest(brokers: string, topic: string): Promise<TopicDigest> {
  return (await readDigests(brokers, topic, [(r) => r]))[0] as TopicDigest;
}

// A slot stopped without a completed savepoint (SIGTERM: the operator deletes the pods after a
// savepoint it fell back from) may have acknowledged a checkpoint whose completion never reached
// it: slot 0 writes the metadata once every slot acknowledged, possibly after this slot closed.
// close('stopped') must leave that pre-committed transaction open, so that the run restoring the
// checkpoint commits it; only the records after the last barrier (no checkpoint records them) are
// aborted. Real broker, the sink driven directly as a slot drives it.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newBatch, type Batch } from '../../core/batch.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { createTopics, deleteTopicsContaining, testBrokers } from '../../testing/kafka-topics.ts';
import type { SinkWriterContext } from '../api.ts';
import { patched } from './kafkajs-read-committed.ts';
import { TransactionalKafkaSink } from './transactional-sink.ts';

const { Kafka, logLevel } = kafkajs;

describe('exactly-once Kafka sink stopped after acknowledging a checkpoint (real Kafka)', () => {
  const run = randomUUID().slice(0, 8);
  const topic = `it-stopped-sink-${run}`;
  const brokers = testBrokers();
  let kafka: KafkaClient;
  let stateDir: string;

  beforeAll(async () => {
    kafka = new Kafka({ clientId: 'it-stopped-sink', brokers, logLevel: logLevel.NOTHING });
    await createTopics(kafka, { [topic]: 1 });
    stateDir = await mkdtemp(join(tmpdir(), 'trib-stopped-sink-'));
  });
  afterAll(async () => {
    await deleteTopicsContaining(kafka, run);
    await rm(stateDir, { recursive: true, force: true });
  });

  const ctx = (restoredCommittables?: readonly unknown[]): SinkWriterContext => ({
    sinkName: 'out',
    slot: 0,
    parallelism: 1,
    logger: silentLogger(),
    wake: () => undefined,
    jobName: `stopped-${run}`,
    checkpointing: { stateDir },
    ...(restoredCommittables ? { restoredCommittables } : {}),
  });
  const records = (tag: string, n: number): Batch => {
    const b = newBatch();
    for (let i = 0; i < n; i++) {
      b.recs.push({ tag, i });
      b.ts.push(0);
      b.n++;
    }
    return b;
  };

  it("close('stopped') leaves the acknowledged transaction to the recovery, which commits it; records after the barrier are aborted", async () => {
    expect(patched).toBe(true);
    const first = new TransactionalKafkaSink({ brokers, topic, delivery: 'exactly-once' });
    await first.open(ctx());
    first.write(records('checkpointed', 5));
    const committables = await first.preCommit(1); // acknowledged in checkpoint 1
    expect(committables).toHaveLength(1);
    first.write(records('after-barrier', 3));
    await first.close('stopped'); // SIGTERM before checkpoint 1's completion reached the slot

    // Checkpoint 1 completed after all: the next run restores it and commits what it records.
    const second = new TransactionalKafkaSink({ brokers, topic, delivery: 'exactly-once' });
    await second.open(ctx(committables));
    second.write(records('next-run', 1));
    await second.preCommit(2);
    await second.notifyCheckpointComplete(2);
    await second.close('stopped');

    const got: string[] = [];
    const consumer = kafka.consumer({ groupId: `it-stopped-sink-${run}`, readUncommitted: false });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    // One partition: once the next run's record arrived, everything committed before it has too.
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            const v = JSON.parse(message.value!.toString()) as { tag: string; i: number };
            got.push(`${v.tag}-${v.i}`);
            if (v.tag === 'next-run') resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    expect(got).toEqual([
      'checkpointed-0',
      'checkpointed-1',
      'checkpointed-2',
      'checkpointed-3',
      'checkpointed-4',
      'next-run-0',
    ]);
  }, 60_000);
});

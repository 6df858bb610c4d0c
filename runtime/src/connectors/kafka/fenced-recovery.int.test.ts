// The recovery commit of a restored transaction that a successor's fencing aborted (real Kafka):
// the broker answers PRODUCER_FENCED, exactly as for one committed earlier whose id got a newer
// session. With a doubt against the restored checkpoint (a fenced deployment's orphan:
// restored-orphan.ts) the recovery fails with TRIB_SINK_TXN_FENCED naming the transaction and
// slot; without one it counts it as committed, with a warning. Before: an info line "already
// committed" and the recovery went on, the aborted records lost.
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopics, deleteTopicsContaining, testBrokers } from '../../testing/kafka-topics.ts';
import { commitRestored, transactionalClient, type KafkaCommittable } from './transactional-client.ts';

const { Kafka, logLevel } = kafkajs;

describe('recovery of a restored transaction answered PRODUCER_FENCED (Kafka)', () => {
  const run = randomUUID().slice(0, 8);
  const brokers = testBrokers();
  const admin = new Kafka({ clientId: 'fenced-recovery-it', brokers, logLevel: logLevel.NOTHING });
  const topic = `fenced-recovery-${run}`;
  const log = pino({ level: 'silent' });

  beforeAll(async () => {
    await createTopics(admin, { [topic]: 1 });
  });
  afterAll(async () => {
    await deleteTopicsContaining(admin, run).catch(() => undefined);
  }, 60_000);

  /** A pre-committed transaction (records sent, not committed) that a new session of its id then aborts. */
  async function abortedByFencing(id: string): Promise<KafkaCommittable> {
    let session: { pid: string; epoch: number } | undefined;
    const kafka = transactionalClient(brokers, `${id}-writer`, log, {
      producerId: (pid, epoch) => (session = { pid, epoch }),
    });
    const producer = kafka.producer({ transactionalId: id, maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    const txn = await producer.transaction();
    await txn.send({ topic, messages: [{ value: 'lost unless committed' }] });
    expect(session).toBeDefined();
    // The successor's fencing: InitProducerId on the same id aborts the open transaction.
    const fencer = new Kafka({ clientId: `${id}-fencer`, brokers, logLevel: logLevel.NOTHING });
    const p2 = fencer.producer({ transactionalId: id, maxInFlightRequests: 1, idempotent: true });
    await p2.connect();
    // kafkajs sends InitProducerId with the first transaction.
    const t2 = await p2.transaction();
    await t2.abort();
    await p2.disconnect();
    await producer.disconnect().catch(() => undefined);
    return { transactionalId: id, producerId: session!.pid, producerEpoch: session!.epoch, checkpointId: 7 };
  }

  it('fails with TRIB_SINK_TXN_FENCED when the restored checkpoint is in doubt', async () => {
    const c = await abortedByFencing(`fenced-recovery-${run}-a`);
    const client = transactionalClient(brokers, `fenced-recovery-${run}-r1`, log);
    const doubt = new Error('checkpoint 7 is a fenced deployment’s orphan');
    await expect(
      commitRestored(client, [c], log, { sink: 'out', slot: 3 }, 60_000, () => Promise.resolve(doubt)),
    ).rejects.toMatchObject({
      code: 'TRIB_SINK_TXN_FENCED',
      message: expect.stringContaining(
        `sink "out" slot 3: the restored transaction ${c.transactionalId} (producer ${c.producerId} epoch ${c.producerEpoch}, checkpoint 7)`,
      ) as unknown,
    });
  }, 60_000);

  it('counts it as committed, with a warning, when nothing is against the restored checkpoint', async () => {
    const c = await abortedByFencing(`fenced-recovery-${run}-b`);
    const client = transactionalClient(brokers, `fenced-recovery-${run}-r2`, log);
    const warned: unknown[] = [];
    const seen = pino({ level: 'warn' }, { write: (l: string) => void warned.push(JSON.parse(l)) });
    const committed = await commitRestored(client, [c], seen, { sink: 'out', slot: 0 }, 60_000, () =>
      Promise.resolve(undefined),
    );
    expect(committed.size).toBe(0);
    expect(warned).toContainEqual(
      expect.objectContaining({ transactionalId: c.transactionalId, error: expect.stringMatching(/FENCED|EPOCH/) }),
    );
  }, 60_000);
});

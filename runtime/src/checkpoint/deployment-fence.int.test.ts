// A replaced deployment that is still alive (its pods gone from the API — a force delete, a node
// cut off by a network partition — while its processes still reach S3 and Kafka) and its
// successor, both real: two slot processes per deployment as pods run them (job config with
// `deployment` and `restoreLatest.lineage`, as the operator writes it for a restart), a Kafka →
// Kafka exactly-once job, state on the local S3 server. The successor's slot 1 starts 3 s after
// its slot 0 (pods of a deployment start when their node gets to them), so the old slot 0 goes
// on checkpointing after the successor's first lookup. The old deployment stops at its first
// checkpoint after the fence (TRIB_DEPLOYMENT_FENCED), both new slots restore the checkpoint
// the first one chose, and Kafka's Java read_committed consumer reads every input record
// exactly once. Before: the old slot 0 committed its newer checkpoints' transactions, which the
// successor replayed from the older one: duplicates.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryDiff, readTopicWithJava } from '../../../test/harness/java-topic-reader.ts';
import { CONTRACT_VERSION, type JobConfig } from '../control/contract.ts';
import { readTopic } from '../testing/kafka-reader.ts';
import { createTopics, deleteTopicsContaining, inputProducer, testBrokers } from '../testing/kafka-topics.ts';
import { launchPodSlot, podSlotToken, type PodSlot } from '../testing/pod-slot.ts';
import { exitWithin, freePort, lineAfter, stderrOf } from '../testing/s3-faults.ts';
import { stateStoreFor } from './storage/state-store-for.ts';

const { Kafka, logLevel } = kafkajs;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const N = 6000;
const PARTITIONS = 2;

describe('a replaced deployment still running beside its successor (S3, Kafka, slot processes)', () => {
  const run = randomUUID().slice(0, 8);
  const bs = testBrokers();
  const kafka = new Kafka({ clientId: 'fence-it', brokers: bs, logLevel: logLevel.NOTHING });
  const input = `fence-in-${run}`;
  const output = `fence-out-${run}`;
  const stateDir = `s3://${process.env['TRIBUTARY_S3_BUCKET']}/tests/fence-${run}`;
  const dir = mkdtempSync(join(tmpdir(), 'trib-fence-it-'));
  const token = podSlotToken(dir, randomUUID());
  const slots: PodSlot[] = [];

  beforeAll(async () => {
    expect(process.env['TRIBUTARY_S3_BUCKET'], 'start the local cluster with --with kafka,s3').toBeTruthy();
    await createTopics(kafka, { [input]: PARTITIONS, [output]: 1 });
  });
  afterAll(async () => {
    for (const s of slots) s.kill();
    await deleteTopicsContaining(kafka, run).catch(() => undefined);
    await stateStoreFor(stateDir)
      .removeTree(stateDir)
      .catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const config = (deployment: string, lineage?: string[]): JobConfig => ({
    contractVersion: CONTRACT_VERSION,
    jobName: `fence-${run}`,
    graph: {
      sources: [{ name: 'events', kafka: { brokers: bs, topic: input, groupId: `fence-${run}` } }],
      sinks: [{ name: 'out', from: 'events', kafka: { brokers: bs, topic: output, delivery: 'exactly-once' } }],
    },
    parallelism: 2,
    maxParallelism: 16,
    checkpointing: { intervalMs: 200, timeoutMs: 10_000, retained: 50 },
    stateDir,
    deployment: `uid-${run}/${deployment}`,
    allowNonRestoredState: false,
    ...(lineage ? { restoreLatest: { since: new Date(0).toISOString(), lineage } } : {}),
  });
  const ports = async (): Promise<number[]> => [await freePort(), await freePort()];
  const start = async (deployment: string, cfg: JobConfig, slot: number, data: number[]): Promise<PodSlot> => {
    const s = launchPodSlot({
      dir,
      token,
      deployment,
      config: cfg,
      slot,
      dataPorts: data,
      control: await freePort(),
      metrics: await freePort(),
    });
    slots.push(s);
    return s;
  };

  it('the old deployment commits nothing after the fence; the output holds every record once', async () => {
    // The input arrives over about 10 s, while both deployments run.
    const producer = inputProducer(kafka);
    await producer.connect();
    const produced = (async () => {
      for (let i = 0; i < N; i += 100) {
        const messages = Array.from({ length: 100 }, (_, j) => ({
          partition: (i + j) % PARTITIONS,
          value: JSON.stringify({ id: i + j }),
        }));
        await producer.send({ topic: input, messages });
        await sleep(150);
      }
      await producer.disconnect();
    })();

    const oldPorts = await ports();
    const old = [0, 1].map((s) => start('a', config('a'), s, oldPorts));
    const [a0, a1] = await Promise.all(old);
    // The old deployment is running and committing: checkpoints complete, output is readable.
    await lineAfter(a0!, /^checkpoint completed$/, 0, 60_000);
    await expect
      .poll(async () => (await readTopic(kafka, output, { expected: 1, timeoutMs: 2000 })).length, {
        timeout: 30_000,
      })
      .toBeGreaterThan(0);
    await sleep(1000);

    // The successor, continuing the old lineage; its slot 1 comes 3 s after its slot 0.
    const lineage = [`uid-${run}/b`, `uid-${run}/a`];
    const newPorts = await ports();
    const b0 = await start('b', config('b', lineage), 0, newPorts);
    const restoring0 = await lineAfter(b0, /^(restoring|starting with empty state)$/, 0, 30_000);
    expect(restoring0.json, stderrOf(b0)).toMatchObject({ msg: 'restoring', source: 'latest' });
    // The old slot 0 stops by itself at its next checkpoint, committing nothing more.
    expect(await exitWithin(a0!, 20_000), stderrOf(a0!)).toBe(1);
    expect(a0!.lines.find((l) => l.text.startsWith('error TRIB_'))?.text, stderrOf(a0!)).toMatch(
      /^error TRIB_DEPLOYMENT_FENCED: checkpoint \d+ is not (triggered|committed): a newer deployment of this job fenced/,
    );
    await sleep(3000);
    const b1 = await start('b', config('b', lineage), 1, newPorts);
    const restoring1 = await lineAfter(b1, /^(restoring|starting with empty state)$/, 0, 30_000);
    expect(restoring1.json?.['restoreFrom'], stderrOf(b1)).toBe(restoring0.json?.['restoreFrom']);
    // The old slot 1 loses its slot 0 (and its transactions are fenced by the new producers).
    await exitWithin(a1!, 30_000);

    await produced;
    await readTopic(kafka, output, { expected: N, timeoutMs: 90_000 });
    const got = (await readTopicWithJava(bs.join(','), output, 'read_committed')).map((r) =>
      String((JSON.parse(r.value) as { id: number }).id),
    );
    const diff = deliveryDiff(
      Array.from({ length: N }, (_, i) => String(i)),
      got,
    );
    expect(
      { missing: diff.missing.length, duplicated: diff.duplicated.length, unexpected: diff.unexpected.length },
      `first duplicated: ${diff.duplicated.slice(0, 5).join(' ')}; first missing: ${diff.missing.slice(0, 5).join(' ')}`,
    ).toEqual({ missing: 0, duplicated: 0, unexpected: 0 });
    for (const s of [b0, b1]) expect(s.lines.find((l) => l.text.startsWith('error TRIB_'))?.text).toBeUndefined();
  }, 240_000);
});

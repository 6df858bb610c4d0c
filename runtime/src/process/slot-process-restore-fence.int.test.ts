// A slot process restoring from another run's checkpoint folder (restore from <A>, stateDir <B>) must end what that
// run left open, as a one-process run does (kafka/restored-run-fence.int): the ids are in A's intent files, which
// B's do not list. Here the earlier run left a transaction open on an id the new run never uses again (a crash
// while it had a second transaction in flight); unfenced, it holds back every read_committed reader of the
// partition until the broker's transaction timeout, and the new run's committed output looks lost
// (slot-drain-xproc.int's restart case missed every record after its restored checkpoint that way). The slot's
// start fails before its job runs (its peer never shows up), so only the sink's recovery can have fenced it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTopicWithJava } from '../../../test/harness/java-topic-reader.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import { JobExecutor } from '../job/job-executor.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { kafkaTestRun } from '../testing/kafka-test-run.ts';
import { createTopics } from '../testing/kafka-topics.ts';
import { SlotProcess } from './slot-process.ts';

const MAXP = 128;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('a slot process restoring from another stateDir fences the restored run’s ids (real Kafka)', () => {
  const { run, bs, kafka } = kafkaTestRun('it-slot-restore-fence');
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });
  const committedValues = async (topic: string): Promise<string[]> =>
    (await readTopicWithJava(bs.join(','), topic, 'read_committed')).map((r) => r.value);

  it('its sink’s recovery fences a transaction the earlier run left open on an id it never uses', async () => {
    const topic = `it-slot-restore-fence-${run}`;
    const prefix = `it-slot-fence-${run}`;
    await createTopics(kafka, { [topic]: 1 });
    const a = await mkdtemp(join(tmpdir(), 'trib-slot-fence-a-'));
    const b = await mkdtemp(join(tmpdir(), 'trib-slot-fence-b-'));
    dirs.push(a, b);
    const graph = validateGraph({
      sources: [
        { name: 'gen', datagen: { generator: 'schema', seed: 3, rate: 500, fields: { id: { type: 'sequence' } } } },
      ],
      steps: [{ name: 'm', from: 'gen', map: { id: 'id' } }],
      sinks: [{ name: 'out', from: 'm', kafka: { brokers: bs, topic, transactionalIdPrefix: prefix } }],
    } satisfies GraphSpec);

    // The earlier run (stateDir A), one slot: a savepoint to restore from.
    const job = new JobExecutor(graph, {
      parallelism: 1,
      maxParallelism: MAXP,
      jobName: 'slot-fence-it',
      logger: silentLogger(),
      checkpointing: { stateDir: a, intervalMs: 0, timeoutMs: 30_000 },
    });
    const done = job.run();
    done.catch(() => undefined);
    while (job.status().recordsOut < 20) await sleep(20);
    const sp = await job.triggerSavepoint({ stop: true });
    expect((await done).state).toBe('STOPPED');

    // Then, as a crash would leave it: a transaction open on the slot's id 5, recorded in A's intent file first.
    await writeFile(
      join(a, 'kafka-txn', encodeURIComponent(prefix), 'slot-0.json'),
      JSON.stringify({ slot: 0, parallelism: 1, maxIndex: 5 }),
    );
    // Its timeout far beyond the test: only a fence ends it in time.
    const zombie = kafka.producer({
      transactionalId: `${prefix}-0-5`,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 300_000,
    });
    await zombie.connect();
    const open = await zombie.transaction();
    await open.send({ topic, messages: [{ value: 'left-open', partition: 0 }] });
    // A record committed after it: hidden from read_committed readers while it stays open.
    const other = kafka.producer({ transactionalId: `it-slot-fence-other-${run}`, idempotent: true });
    await other.connect();
    const t = await other.transaction();
    await t.send({ topic, messages: [{ value: 'committed-after', partition: 0 }] });
    await t.commit();
    await other.disconnect();
    expect(await committedValues(topic)).not.toContain('committed-after');

    // The new run (stateDir B, restored from A's savepoint): slot 0 of 2 opens its sink, then fails its start
    // (its peer never shows up) before its job runs: it begins no transaction, so only its recovery fences.
    const slot = new SlotProcess({
      jobName: 'slot-fence-it',
      graph,
      slot: 0,
      parallelism: 2,
      maxParallelism: MAXP,
      deploymentId: `dep-${run}`,
      secret: 'secret-of-the-slot-fence-test',
      host: '127.0.0.1',
      dataPort: 0,
      discover: () => Promise.resolve([]),
      connectTimeoutMs: 3000,
      logger: silentLogger(),
      checkpointing: { stateDir: b, intervalMs: 0 },
      restoreFrom: sp.path,
    });
    await slot.listen();
    await expect(slot.run()).rejects.toThrow(/peers not linked/);
    await expect.poll(() => committedValues(topic), { timeout: 20_000, interval: 1_000 }).toContain('committed-after');
    expect(await committedValues(topic)).not.toContain('left-open');
    await zombie.disconnect();
  }, 120_000);
});

// A restore from another run's checkpoint folder (`tributary run --restore <A>/checkpoints/chk-<n>
// --state-dir <B>`) must end what that run left open: its transactional ids are in A's intent files,
// which B's do not list. A transaction the earlier run left open on one of them (here its slot's
// second id, open while the first was committing) otherwise holds back every read_committed reader of
// the partition until the broker's transaction timeout. Kafka's Java read_committed reader must see a
// record committed after the open transaction as soon as the new run's sink has opened; A's files stay
// as they were (another folder is only read).
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTopicWithJava } from '../../../../test/harness/java-topic-reader.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { createTopics } from '../../testing/kafka-topics.ts';
import { kafkaTestRun } from '../../testing/kafka-test-run.ts';
import type { SinkWriterContext } from '../api.ts';
import { intentDirs, TransactionalProducers } from './transactional-producers.ts';

const TXN_TIMEOUT_MS = 300_000; // far beyond the test: only a fence ends the open transaction in time

describe('a restore from another stateDir fences the restored run’s transactional ids (real Kafka)', () => {
  const { run, bs, kafka } = kafkaTestRun('it-restored-fence');
  const dirs: string[] = [];
  const opened: TransactionalProducers[] = [];
  afterAll(async () => {
    await Promise.allSettled(opened.map((p) => p.closeAll()));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  const producers = (stateDir: string, slot: number, parallelism: number, restoredStateDir?: string) => {
    const ctx = { sinkName: 'out', slot, parallelism, logger: silentLogger(), wake: () => {} } as SinkWriterContext;
    const prefix = `it-fence-${run}`;
    const p = new TransactionalProducers({
      brokers: bs,
      prefix,
      ...intentDirs({ stateDir, ...(restoredStateDir ? { restoredStateDir } : {}) }, prefix),
      timeoutMs: TXN_TIMEOUT_MS,
      bounds: { requestTimeoutMs: 30_000, retries: 5 },
      ctx,
      isClosed: () => false,
    });
    opened.push(p);
    return p;
  };
  const committedValues = async (topic: string): Promise<string[]> =>
    (await readTopicWithJava(bs.join(','), topic, 'read_committed')).map((r) => r.value as string);

  it.each([
    { name: 'same parallelism (old slot 0 → slot 0)', oldSlots: 1, newParallelism: 1 },
    { name: 'scaled in (old slots 0, 1 → slot 0)', oldSlots: 2, newParallelism: 1 },
  ])('$name: a later commit is visible at once; the restored folder is unchanged', async (c) => {
    const topic = `it-restored-fence-${run}-${c.oldSlots}`;
    await createTopics(kafka, { [topic]: 1 });
    const a = await mkdtemp(join(tmpdir(), 'tributary-fence-a-'));
    const b = await mkdtemp(join(tmpdir(), 'tributary-fence-b-'));
    dirs.push(a, b);

    // The earlier run (stateDir A): each old slot takes two ids; the last slot's second transaction stays open.
    for (let s = 0; s < c.oldSlots; s++) {
      const old = producers(a, s, c.oldSlots);
      const first = await old.acquire();
      const second = await old.acquire();
      const t1 = await first.producer.transaction();
      await t1.send({ topic, messages: [{ value: `committed-before-${s}`, partition: 0 }] });
      await t1.commit();
      if (s === c.oldSlots - 1) {
        const open = await second.producer.transaction();
        await open.send({ topic, messages: [{ value: 'left-open', partition: 0 }] });
      }
    }
    const aFiles = join(a, 'kafka-txn', encodeURIComponent(`it-fence-${run}`));
    const before = await Promise.all((await readdir(aFiles)).sort().map((f) => readFile(join(aFiles, f), 'utf8')));

    // A record committed after the open transaction: hidden from read_committed readers behind it.
    const other = kafka.producer({ transactionalId: `it-fence-other-${run}-${c.oldSlots}`, idempotent: true });
    await other.connect();
    const t = await other.transaction();
    await t.send({ topic, messages: [{ value: 'committed-after', partition: 0 }] });
    await t.commit();
    await other.disconnect();
    expect(await committedValues(topic)).not.toContain('committed-after');

    // The new run (stateDir B, restored from A) opens its sink's slot 0; an earlier attempt of it in B had
    // taken its first id, which it fences and keeps for use.
    await producers(b, 0, c.newParallelism, a).acquire();
    const next = producers(b, 0, c.newParallelism, a);
    await next.fenceEarlierRuns(new Set(), () => {});
    await expect.poll(() => committedValues(topic), { timeout: 20_000, interval: 1_000 }).toContain('committed-after');
    const values = await committedValues(topic);
    expect(values).not.toContain('left-open');
    expect(values.filter((v) => v.startsWith('committed-before-')).length).toBe(c.oldSlots);
    const after = await Promise.all((await readdir(aFiles)).sort().map((f) => readFile(join(aFiles, f), 'utf8')));
    expect(after).toEqual(before);

    // The new run's own ids work: the one kept from B's intent was fenced after A's ids (the same id), not before.
    const mine = await next.acquire();
    const t2 = await mine.producer.transaction();
    await t2.send({ topic, messages: [{ value: 'new-run', partition: 0 }] });
    await t2.commit();
    await expect.poll(() => committedValues(topic), { timeout: 20_000, interval: 1_000 }).toContain('new-run');
  });
});

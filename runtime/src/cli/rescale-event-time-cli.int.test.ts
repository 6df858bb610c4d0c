// A live rescale of an event-time job across threads and processes: `tributary run --threads` and
// `--distributed` run a StreamJob manifest (Kafka with event times → keyBy → 1 s tumbling window count
// → exactly-once Kafka) at parallelism 2 while a producer writes, and `tributary rescale` takes it to 3
// (partitions move to the joining slot) and back to 2 (the joined slot drains and leaves; its
// partitions move to slots that stay). The partitions that move lag the others by 4 s of event time, so
// their old owners' watermarks are held back by them: were a moved partition's watermark dropped at the
// hand-over, the old owner's watermark would jump and the window tasks pass windows whose records of
// the partition still come through the new owner (dropped as late). Checked, every window's count by
// Kafka's Java read_committed reader:
// - at 3 slots the job's event time moves on (watermark alignment: the joining slot must hear the
//   running slots' reports and they its, process/alignment-exchange.ts; without it the joiner paused
//   every partition it took over for good and no later window fired);
// - the floor crosses processes (`mig-positions` watermarks, `mig-caught-up`: rescale/floors-across.ts);
// - scaling in, the partitions that stay get their last records and the end of time (a far-future
//   record) first, the moved ones only 1.5 s later: the new owner's output runs ahead of them, so only
//   the leaving slot's floor holds the windows back, and its sources must not end before the floor is
//   released (rescale/leave-floors.ts: an ended channel holds no watermark).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { readTopicWithJava } from '../../../test/harness/java-topic-reader.ts';
import { partitionOwner } from '../connectors/kafka/partition-owner.ts';
import { kafkaTestRun } from '../testing/kafka-test-run.ts';
import { createTopics, inputProducer } from '../testing/kafka-topics.ts';
import { readTopic } from '../testing/kafka-reader.ts';
import { startRescalableRun } from '../testing/rescalable-run.ts';

const PARTITIONS = 4;
const CHUNKS = 40;
const PER_PARTITION = 60; // per chunk
const BASE = 1_700_000_000_000;
const LAG_MS = 4000;
const USERS = 5;
/** Chunks 0..MID−1 are written by the check at 3 slots: they take every partition's watermark past MID_END. */
const MID = 30;
const MID_END = BASE + 10_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('tributary rescale of an event-time window job (real Kafka)', () => {
  const { run, bs, kafka } = kafkaTestRun('tributary-rescale-wm-cli-it');
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  const manifest = (input: string, output: string) => ({
    apiVersion: 'tributary.dev/v1alpha1',
    kind: 'StreamJob',
    metadata: { name: `rescale-wm-${run}` },
    spec: {
      replicas: 2,
      maxParallelism: 128,
      checkpointing: { interval: '200ms' },
      graph: {
        sources: [
          {
            name: 'in',
            kafka: {
              brokers: bs.join(','),
              topic: input,
              format: 'json',
              schema: { user: 'string', ts: 'double' },
            },
            timestamp: {
              field: 'ts',
              format: 'millis',
              maxOutOfOrderness: '200ms',
            },
          },
        ],
        steps: [
          { name: 'by-user', from: 'in', keyBy: 'user' },
          {
            name: 'per-1s',
            from: 'by-user',
            window: { tumbling: { size: '1s' } },
          },
          { name: 'totals', from: 'per-1s', aggregate: { n: 'count()' } },
        ],
        sinks: [
          {
            name: 'out',
            from: 'totals',
            kafka: { brokers: bs.join(','), topic: output, key: 'user' },
          },
        ],
      },
    },
  });

  /**
   * Chunks `from`..`to`−1 100 ms apart, PER_PARTITION records to each of `partitions` (record j of partition
   * q at BASE + 8j, minus LAG_MS on the `lagging` ones); with `end`, then one far-future record on each of
   * them, which takes its watermark past every real window.
   */
  async function writeInput(
    producer: Producer,
    topic: string,
    lagging: readonly number[],
    o: {
      from: number;
      to: number;
      partitions: readonly number[];
      end?: boolean;
    },
  ): Promise<void> {
    for (let c = o.from; c < o.to; c++) {
      const messages = [];
      for (const q of o.partitions)
        for (let i = 0; i < PER_PARTITION; i++) {
          const j = c * PER_PARTITION + i;
          const user = `u${q}-${j % USERS}`;
          const value = JSON.stringify({
            user,
            ts: BASE + 8 * j - (lagging.includes(q) ? LAG_MS : 0),
          });
          messages.push({ key: user, partition: q, value });
        }
      await producer.send({ topic, messages });
      await sleep(100);
    }
    if (!o.end) return;
    const value = JSON.stringify({ user: 'flush', ts: BASE + 3_600_000 });
    await producer.send({
      topic,
      messages: o.partitions.map((q) => ({
        key: 'flush',
        partition: q,
        value,
      })),
    });
  }

  /**
   * A topic name (from `base`) whose partitions move so that each check means something: every partition
   * that moves goes to the joining slot (slot 2) and back, and slots 0 and 1 each keep one throughout. So
   * at 3 slots slots 0 and 1 run ahead and slot 2 alone holds the job's watermark back, with the floors of
   * the partitions it took; scaling in, only the leaving slot's floors hold the windows for the moved
   * partitions' last records (their new owners' output is already ahead of them).
   */
  function layout(base: string): { input: string; lagging: number[] } {
    const all = [...Array(PARTITIONS).keys()];
    for (let i = 0; i < 10_000; i++) {
      const input = `${base}-${i}`;
      const [at2, at3] = [(q: number) => partitionOwner(input, q, 2), (q: number) => partitionOwner(input, q, 3)];
      const lagging = all.filter((q) => at3(q) !== at2(q));
      const keeps = (s: number): boolean => all.some((q) => at2(q) === s && at3(q) === s);
      if (lagging.length > 0 && lagging.every((q) => at3(q) === 2) && keeps(0) && keeps(1)) return { input, lagging };
    }
    throw new Error(`no topic name from ${base} moves partitions as the test needs`);
  }

  function reference(lagging: readonly number[]): Map<string, number> {
    const out = new Map<string, number>();
    for (let q = 0; q < PARTITIONS; q++)
      for (let j = 0; j < CHUNKS * PER_PARTITION; j++) {
        const t = BASE + 8 * j - (lagging.includes(q) ? LAG_MS : 0);
        const w = `u${q}-${j % USERS}|${t - (t % 1000)}`;
        out.set(w, (out.get(w) ?? 0) + 1);
      }
    return out;
  }

  it.each([['--threads'], ['--distributed']])(
    'run %s: 2 → 3 → 2 moving lagging partitions mid-stream, every window count exact',
    { timeout: 240_000 },
    async (mode) => {
      const { input, lagging } = layout(`rescale-wm-in-${mode.slice(2)}-${run}`);
      const output = `rescale-wm-out-${mode.slice(2)}-${run}`;
      await createTopics(kafka, { [input]: PARTITIONS, [output]: 1 });
      const dir = await mkdtemp(join(tmpdir(), 'tributary-rescale-wm-'));
      dirs.push(dir);
      const started = await startRescalableRun(dir, manifest(input, output), mode);
      const { job, status } = started;
      const ref = reference(lagging);
      try {
        const producer = inputProducer(kafka);
        await producer.connect();
        const all = [...Array(PARTITIONS).keys()];
        const writing = writeInput(producer, input, lagging, {
          from: 0,
          to: MID,
          partitions: all,
        });
        await expect
          .poll(async () => (await status()).recordsIn ?? 0, {
            timeout: 60_000,
          })
          .toBeGreaterThan(1000);
        const rescale = async (to: number): Promise<void> => {
          const out = await started.rescale(to);
          expect(out.code, out.stderr).toBe(0);
          expect((await status()).parallelism).toBe(to);
        };
        await rescale(3);
        await writing;
        // At 3 slots the job's event time must move on: the windows that chunks 0..MID−1 of every partition
        // close fire (a joining slot whose watermark stayed where the hand-over seeded it would hold them all).
        const closed = [...ref.keys()].filter((w) => Number(w.split('|')[1]) + 1000 <= MID_END).length;
        const mid = await readTopic(kafka, output, {
          expected: closed,
          timeoutMs: 60_000,
          settleMs: 0,
        });
        expect(mid.length, 'windows fired at 3 slots').toBeGreaterThanOrEqual(closed);
        const scalingIn = rescale(2);
        scalingIn.catch(() => undefined); // awaited below, after the writes
        const kept = all.filter((q) => !lagging.includes(q));
        await writeInput(producer, input, lagging, {
          from: MID,
          to: CHUNKS,
          partitions: kept,
          end: true,
        });
        await sleep(1500);
        await writeInput(producer, input, lagging, {
          from: MID,
          to: CHUNKS,
          partitions: lagging,
          end: true,
        });
        await producer.disconnect();
        await scalingIn;
        // Every window (user, second) gives one output record once the flush records' watermark passed it.
        await readTopic(kafka, output, {
          expected: ref.size,
          timeoutMs: 120_000,
          settleMs: 0,
        });
        expect(job.stderr).not.toMatch(/restarting all slots|job failing/);
      } catch (e) {
        await writeFile(join(dir, 'run-stderr.log'), job.stderr);
        throw new Error(`${(e as Error).message}\nthe run's stderr ends:\n${job.stderr.slice(-3000)}`, { cause: e });
      } finally {
        job.child.kill('SIGKILL');
      }
      const got = new Map<string, number>();
      for (const r of await readTopicWithJava(bs.join(','), output, 'read_committed')) {
        const v = JSON.parse(r.value) as {
          user: string;
          window_start: number;
          n: number;
        };
        const w = `${v.user}|${v.window_start}`;
        got.set(w, (got.get(w) ?? 0) + v.n);
      }
      const wrong = [...new Set([...ref.keys(), ...got.keys()])]
        .filter((w) => got.get(w) !== ref.get(w))
        .map((w) => `${w}: ${got.get(w) ?? 0} of ${ref.get(w) ?? 0}`);
      const lost = [...ref].reduce((n, [w, c]) => n + Math.max(0, c - (got.get(w) ?? 0)), 0);
      expect({ lost, wrong: wrong.slice(0, 10) }).toEqual({
        lost: 0,
        wrong: [],
      });
    },
  );
});

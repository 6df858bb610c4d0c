// The user's path of a local live rescale: `tributary run job.yaml --control-port 0` — its slots
// on one thread (`--single-thread`), on a worker thread each (the default: `--threads`), or in a
// process each (`--distributed`) — runs a StreamJob manifest (Kafka → keyBy → rolling count →
// exactly-once Kafka) at parallelism 2 while a producer keeps writing; `tributary rescale --to 3`,
// then `--to 1`, each a separate process as a user would type it, move it without stopping; a
// rescale the job cannot do is refused with its reason. Kafka's Java read_committed consumer must then read exactly the
// reference computed from the input (every key's counts 1..n with its n-th id): a record lost,
// written twice or counted by two slots shows as missing, duplicated or unexpected. After Ctrl-C
// the run must exit by itself (TRIBUTARY_NO_FORCED_EXIT): nothing a slot opened may hold it. The
// `--distributed` run keeps its keyed state on disk (`spec.stateBackend: disk`) over more keys than
// each slot's cache holds, so key groups move between the slot processes' local stores.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { deliveryDiff, readTopicWithJava } from '../../../test/harness/java-topic-reader.ts';
import type { CliResult } from '../testing/cli-process.ts';
import { kafkaTestRun } from '../testing/kafka-test-run.ts';
import { createTopics, inputProducer } from '../testing/kafka-topics.ts';
import { readTopic } from '../testing/kafka-reader.ts';
import { startRescalableRun } from '../testing/rescalable-run.ts';

/** Keys of the heap runs; the disk run has DISK_KEYS, more than the DISK_CACHE entries a slot's step keeps decoded. */
const KEYS = 40;
const DISK_KEYS = 3_000;
const DISK_CACHE = 1_000;
const CHUNKS = 40;
const PER_CHUNK = 250;
const RECORDS = CHUNKS * PER_CHUNK;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** `p`, or an error naming `what` after `ms`: a hang fails with what the run logged, not the test's timeout. */
const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    p,
    sleep(ms).then(() => {
      throw new Error(`${what}: not done after ${ms} ms`);
    }),
  ]);

describe('tributary rescale: a local run changes parallelism without stopping (real Kafka)', () => {
  const { run, bs, kafka } = kafkaTestRun('tributary-rescale-cli-it');
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  const manifest = (input: string, output: string, disk: boolean) => ({
    apiVersion: 'tributary.dev/v1alpha1',
    kind: 'StreamJob',
    metadata: { name: `rescale-${run}` },
    spec: {
      replicas: 2,
      maxParallelism: 128,
      checkpointing: { interval: '200ms' },
      ...(disk ? { stateBackend: { type: 'disk', cacheEntries: DISK_CACHE } } : {}),
      graph: {
        sources: [{ name: 'events', kafka: { brokers: bs.join(','), topic: input, format: 'json' } }],
        steps: [
          { name: 'byKey', from: 'events', keyBy: 'k' },
          { name: 'running', from: 'byKey', aggregate: { n: 'count()', maxId: 'max(id)' } },
        ],
        sinks: [{ name: 'out', from: 'running', kafka: { brokers: bs.join(','), topic: output, key: 'k' } }],
      },
    },
  });

  /**
   * RECORDS records keyed by k, in CHUNKS sends `pauseMs` apart (ids ascend per key); chunk `at` of
   * each gate waits for it, so input still arrives after each rescale however slow the machine.
   */
  async function writeInput(
    k: Kafka,
    topic: string,
    pauseMs: number,
    gates: Map<number, Promise<void>>,
    keys: number,
  ): Promise<void> {
    const producer = inputProducer(k);
    await producer.connect();
    for (let c = 0; c < CHUNKS; c++) {
      await gates.get(c);
      const messages = Array.from({ length: PER_CHUNK }, (_, j) => {
        const id = c * PER_CHUNK + j;
        return { key: `k${id % keys}`, value: JSON.stringify({ id, k: `k${id % keys}` }) };
      });
      await producer.send({ topic, messages });
      await sleep(pauseMs);
    }
    await producer.disconnect();
  }

  function reference(keys: number): string[] {
    const seen = new Map<string, number>();
    return Array.from({ length: RECORDS }, (_, id) => {
      const k = `k${id % keys}`;
      const n = (seen.get(k) ?? 0) + 1;
      seen.set(k, n);
      return `${k}:${n}:${id}`;
    });
  }

  it.each([['--single-thread'], ['--threads'], ['--distributed']])(
    'run %s: 2 → 3 → 1 mid-stream, exactly-once; an impossible target is refused',
    { timeout: 240_000 },
    async (mode) => {
      const input = `rescale-cli-in-${mode.slice(2)}-${run}`;
      const output = `rescale-cli-out-${mode.slice(2)}-${run}`;
      await createTopics(kafka, { [input]: 4, [output]: 1 });
      const dir = await mkdtemp(join(tmpdir(), 'tributary-rescale-cli-'));
      dirs.push(dir);
      // The run must exit by itself after Ctrl-C: not through the one-thread run's forced exit (cli/main.ts), which
      // would hide a client a departed slot left open (a kafkajs consumer restarted after its stop did).
      const disk = mode === '--distributed';
      const keys = disk ? DISK_KEYS : KEYS;
      const started = await startRescalableRun(dir, manifest(input, output, disk), mode, {
        TRIBUTARY_NO_FORCED_EXIT: '1',
      });
      const { job, status } = started;
      try {
        let scaledOut = (): void => undefined;
        let scaledIn = (): void => undefined;
        const gates = new Map([
          [CHUNKS - 10, new Promise<void>((r) => (scaledOut = r))],
          [CHUNKS - 5, new Promise<void>((r) => (scaledIn = r))],
        ]);
        const writing = writeInput(kafka, input, 100, gates, keys);
        const rescale = (to: string): Promise<CliResult> => started.rescale(Number(to));
        await expect.poll(async () => (await status()).recordsIn ?? 0, { timeout: 60_000 }).toBeGreaterThan(1000);

        const out = await within(rescale('3'), 60_000, 'tributary rescale --to 3');
        expect(out.code, out.stderr).toBe(0);
        expect(out.stderr).toMatch(/2 → 3 completed: \d+ steps, \d+\/\d+ key groups/);
        const at3 = await status();
        expect(at3.parallelism).toBe(3);
        expect(at3.migration).toMatchObject({ state: 'COMPLETED', from: 2, to: 3, phase: 'done' });
        scaledOut();

        const refused = await within(rescale('200'), 60_000, 'tributary rescale --to 200');
        expect(refused.code).toBe(1);
        expect(refused.stderr).toMatch(
          /rescale refused \(TRIB_RESCALE_PLAN_INVALID\): .*parallelism 200 is not in 1\.\.128/,
        );

        const down = await within(rescale('1'), 60_000, 'tributary rescale --to 1');
        expect(down.code, down.stderr).toBe(0);
        expect(down.stderr).toMatch(/3 → 1 completed/);
        expect((await status()).parallelism).toBe(1);
        scaledIn();

        await within(writing, 60_000, 'the input');
        // Every input record gives one output record: all of them committed means the job read everything and a
        // checkpoint completed after it (slot 0's recordsIn counts its own slot only when slots are threads or
        // processes, so the output is what says the job is through).
        const committed = await readTopic(kafka, output, { expected: RECORDS, timeoutMs: 120_000, settleMs: 0 });
        expect(committed.length).toBeGreaterThanOrEqual(RECORDS);
        // Live, not by a restart: a rescale that failed would have restarted every slot at the new parallelism
        // from the last checkpoint (exactly-once too, but not what this run is for).
        expect(job.stderr).not.toMatch(/restarting all slots|job failing/);
        if (disk) expect(job.stderr).toMatch(/"stateBackend":"disk"/);
        job.child.kill('SIGINT');
        const end = await within(job.done, 60_000, 'the run after Ctrl-C');
        expect(end.code, end.stderr.slice(-4000)).toBe(0);
      } catch (e) {
        // What the run logged, for a failure's diagnosis (the rescale's phases and steps, the stop).
        await writeFile(join(dir, 'run-stderr.log'), job.stderr);
        throw new Error(`${(e as Error).message}\nthe run's stderr ends:\n${job.stderr.slice(-3000)}`, { cause: e });
      } finally {
        job.child.kill('SIGKILL');
      }
      const got = (await readTopicWithJava(bs.join(','), output, 'read_committed')).map((r) => {
        const v = JSON.parse(r.value) as { k: string; n: number; maxId: number };
        return `${v.k}:${v.n}:${v.maxId}`;
      });
      const diff = deliveryDiff(reference(keys), got);
      expect({
        missing: diff.missing.length,
        duplicated: diff.duplicated.length,
        unexpected: diff.unexpected.length,
      }).toEqual({ missing: 0, duplicated: 0, unexpected: 0 });
    },
  );
});

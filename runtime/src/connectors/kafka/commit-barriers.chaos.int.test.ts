// A run without checkpoints commits its Kafka source's offsets while it runs, behind commit
// barriers every sink acknowledged (checkpoint/commit-barriers.ts), so a SIGKILL replays only
// what followed the last completed barrier. A plain `tributary run` (one thread, no state
// directory) of Kafka → at-least-once Kafka sink reads an input topic a producer keeps writing;
// it is SIGKILLed once its group's committed offsets moved past the partitions' starts (a
// commit barrier completed), then a bounded rerun reads to the log's end. Kafka's Java
// consumer reads the output (read_uncommitted: plain sends) after the kill and after the rerun.
//
// Every input id must be in the output (nothing lost). Duplicates are what the rerun read again:
// the killed run's output at or after the committed offsets, so at most what the killed run
// wrote minus what was committed — never a replay from the start.
import { randomUUID } from 'node:crypto';
import { rm, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Admin, Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTopicWithJava } from '../../../../test/harness/java-topic-reader.ts';
import { startCli } from '../../testing/cli-process.ts';
import { createTopics, deleteTopicsContaining, inputProducer, testBrokers } from '../../testing/kafka-topics.ts';

const { Kafka, logLevel } = kafkajs;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const PARTITIONS = 3;
/** Records per producer batch, one batch every PRODUCE_EVERY_MS: the job is always mid-stream. */
const BATCH = 400;
const PRODUCE_EVERY_MS = 50;

describe('kafka source without checkpoints: offsets committed behind commit barriers', () => {
  const marker = `cbar-${randomUUID().slice(0, 8)}`;
  const bs = testBrokers();
  const kafka: KafkaClient = new Kafka({ clientId: marker, brokers: bs, logLevel: logLevel.NOTHING });
  const input = `${marker}-in`;
  const output = `${marker}-out`;
  const group = `${marker}-group`;
  let dir: string;
  let admin: Admin;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trib-cbar-'));
    admin = kafka.admin();
    await admin.connect();
    await createTopics(kafka, { [input]: PARTITIONS, [output]: PARTITIONS });
  });
  afterAll(async () => {
    await admin?.disconnect();
    await deleteTopicsContaining(kafka, marker);
    await rm(dir, { recursive: true, force: true });
  });

  async function jobFile(bounded: boolean): Promise<string> {
    const job = {
      apiVersion: 'tributary.dev/v1alpha1',
      kind: 'StreamJob',
      metadata: { name: marker },
      spec: {
        replicas: 1,
        graph: {
          sources: [
            {
              name: 'events',
              kafka: { brokers: bs.join(','), topic: input, groupId: group, ...(bounded ? { bounded: 'latest' } : {}) },
            },
          ],
          sinks: [
            { name: 'out', from: 'events', kafka: { brokers: bs.join(','), topic: output, delivery: 'at-least-once' } },
          ],
        },
      },
    };
    const f = join(dir, `${bounded ? 'bounded' : 'unbounded'}.json`);
    await writeFile(f, JSON.stringify(job));
    return f;
  }

  /** The group's committed offsets of the input, summed over partitions (none: 0). */
  async function committed(): Promise<number> {
    const [t] = await admin.fetchOffsets({ groupId: group, topics: [input] });
    return (t?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  }

  async function outputIds(): Promise<number[]> {
    const recs = await readTopicWithJava(bs.join(','), output, 'read_uncommitted');
    return recs.map((r) => (JSON.parse(r.value) as { id: number }).id);
  }

  it('a SIGKILL mid-stream after a commit barrier, then a rerun: nothing lost, only the uncommitted tail again', async () => {
    const producer = inputProducer(kafka);
    await producer.connect();
    let produced = 0;
    let producing = true;
    const feeding = (async () => {
      while (producing) {
        const messages = [];
        for (let i = 0; i < BATCH; i++, produced++)
          messages.push({ key: String(produced), value: JSON.stringify({ id: produced }) });
        await producer.send({ topic: input, messages });
        await sleep(PRODUCE_EVERY_MS);
      }
    })();
    try {
      const run = startCli(['run', await jobFile(false), '--no-progress', '--offset-commit-interval', '1s']);
      const exited = run.done.then((r) => `tributary run exited (${r.code}) before the kill:\n${r.stderr}`);
      let moved = 0;
      const deadline = Date.now() + 20_000;
      let early: string | undefined;
      void exited.then((m) => (early = m));
      while (moved === 0 && Date.now() < deadline && early === undefined) {
        await sleep(200);
        moved = await committed();
      }
      expect(early).toBeUndefined();
      run.child.kill('SIGKILL');
      await run.done;
      expect(moved, 'offsets committed while the run ran (a commit barrier completed)').toBeGreaterThan(0);
    } finally {
      producing = false;
      await feeding;
      await producer.disconnect();
    }
    const committedAtKill = await committed();
    const killedRun = await outputIds();
    const rerun = await startCli(['run', await jobFile(true), '--no-progress']).done;
    expect(rerun.code, rerun.stderr).toBe(0);
    const ids = await outputIds();
    const seen = new Set(ids);
    let missing = 0;
    for (let id = 0; id < produced; id++) if (!seen.has(id)) missing++;
    const duplicates = ids.length - seen.size;
    console.log(
      `input ${produced}; killed run wrote ${killedRun.length}, committed ${committedAtKill}; ` +
        `output ${ids.length}: missing ${missing}, duplicates ${duplicates}`,
    );
    expect(missing).toBe(0);
    expect(committedAtKill).toBeLessThanOrEqual(killedRun.length);
    // The rerun started at the committed offsets: it repeated only the killed run's output after them.
    expect(duplicates).toBeLessThanOrEqual(killedRun.length - committedAtKill);
    expect(seen.size).toBe(produced);
  }, 90_000);
});

// A Kafka source in a run without checkpoints (a plain `tributary run` on one thread, no state
// directory) keeps its position in its consumer group (offset-commits.ts): at-least-once across
// stops, kills and reruns at another parallelism. Each run is the CLI as a child process reading
// the real broker into a file of its own (one per run: nothing a later run does can change what
// an earlier one delivered); the files are the independent record of the output, counted against
// the input: every id present (0 missing), and after clean stops each id exactly once.
//
// A run is stopped mid-stream, once its output file holds records but not all: the source has
// then fetched ahead of what it returned (a fetch brings thousands of records into its queue).
// The last run of each case reads up to the log's end and finishes by itself (bounded: latest).
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli } from '../../testing/cli-process.ts';
import { createTopics, deleteTopicsContaining, inputProducer, testBrokers } from '../../testing/kafka-topics.ts';

const { Kafka, logLevel } = kafkajs;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Input records: several fetches' worth per partition, so a stop finds the source's queue holding records. */
const N = 120_000;
const PARTITIONS = 3;
const PAD = 'x'.repeat(100);

describe('kafka source without checkpoints: offsets committed only for delivered output', () => {
  const marker = `nocp-${randomUUID().slice(0, 8)}`;
  const bs = testBrokers();
  const kafka: KafkaClient = new Kafka({ clientId: marker, brokers: bs, logLevel: logLevel.NOTHING });
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trib-nocp-'));
  });
  afterAll(async () => {
    await deleteTopicsContaining(kafka, marker);
    await rm(dir, { recursive: true, force: true });
  });

  async function input(topic: string): Promise<void> {
    await createTopics(kafka, { [topic]: PARTITIONS });
    const producer = inputProducer(kafka);
    await producer.connect();
    try {
      for (let i = 0; i < N; i += 5000) {
        const messages = [];
        for (let id = i; id < Math.min(N, i + 5000); id++)
          messages.push({ key: String(id), value: JSON.stringify({ id, pad: PAD }) });
        await producer.send({ topic, messages });
      }
    } finally {
      await producer.disconnect();
    }
  }

  async function jobFile(topic: string, group: string, out: string, bounded: boolean): Promise<string> {
    const job = {
      apiVersion: 'tributary.dev/v1alpha1',
      kind: 'StreamJob',
      metadata: { name: group },
      spec: {
        replicas: 1,
        graph: {
          sources: [
            {
              name: 'events',
              kafka: { brokers: bs.join(','), topic, groupId: group, ...(bounded ? { bounded: 'latest' } : {}) },
            },
          ],
          sinks: [{ name: 'out', from: 'events', file: { path: out } }],
        },
      },
    };
    const f = join(dir, `${group}-${randomUUID().slice(0, 6)}.json`);
    await writeFile(f, JSON.stringify(job));
    return f;
  }

  /** Complete JSON lines of `file` (a SIGKILL may cut the last one): the ids written. */
  function idsIn(file: string): number[] {
    if (!existsSync(file)) return [];
    const ids: number[] = [];
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line === '') continue;
      try {
        ids.push((JSON.parse(line) as { id: number }).id);
      } catch {
        // a line cut by SIGKILL: not delivered
      }
    }
    return ids;
  }

  function lineCount(file: string): number {
    if (!existsSync(file)) return 0;
    let n = 0;
    const text = readFileSync(file, 'utf8');
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
    return n;
  }

  /**
   * One unbounded run stopped with `signal` once its output holds records; resolves with what it wrote.
   * A run that wrote everything before the signal could not show a stop mid-stream: the test fails.
   */
  async function interruptedRun(job: string, out: string, signal: 'SIGINT' | 'SIGKILL', args: string[] = []) {
    const run = startCli(['run', job, '--no-progress', ...args]);
    const exited = run.done.then((r) => {
      throw new Error(`tributary run exited (${r.code}) before it was stopped:\n${r.stderr}`);
    });
    exited.catch(() => undefined);
    for (;;) {
      await Promise.race([sleep(20), exited]);
      if (lineCount(out) > 0) break;
    }
    run.child.kill(signal);
    const r = await run.done;
    if (signal === 'SIGINT') expect(r.code, r.stderr).toBe(0);
    const written = idsIn(out).length;
    expect(written, 'stopped mid-stream').toBeGreaterThan(0);
    expect(written, 'stopped mid-stream').toBeLessThan(N);
    return { written, stderr: r.stderr };
  }

  async function finishingRun(job: string, args: string[] = []): Promise<void> {
    const r = await startCli(['run', job, '--no-progress', ...args]).done;
    expect(r.code, r.stderr).toBe(0);
  }

  function count(files: string[]): { missing: number; duplicates: number; total: number } {
    const seen = new Map<number, number>();
    let total = 0;
    for (const f of files)
      for (const id of idsIn(f)) {
        seen.set(id, (seen.get(id) ?? 0) + 1);
        total++;
      }
    let missing = 0;
    for (let id = 0; id < N; id++) if (!seen.has(id)) missing++;
    return { missing, duplicates: total - seen.size, total };
  }

  it('a Ctrl-C stop mid-stream, then a rerun: every record once', async () => {
    const topic = `${marker}-a`;
    const group = `${marker}-a`;
    await input(topic);
    const outs = [join(dir, 'a-1.jsonl'), join(dir, 'a-2.jsonl')];
    const first = await interruptedRun(
      await jobFile(topic, group, outs[0] as string, false),
      outs[0] as string,
      'SIGINT',
    );
    await finishingRun(await jobFile(topic, group, outs[1] as string, true));
    const c = count(outs);
    console.log(`SIGINT then rerun: first run wrote ${first.written}; ${JSON.stringify(c)}`);
    expect(c).toEqual({ missing: 0, duplicates: 0, total: N });
    expect(first.stderr).toContain('offsets committed after the sinks flushed');
  });

  it('a SIGKILL mid-stream after a clean stop, then a rerun: nothing missing, duplicates only of the killed run', async () => {
    const topic = `${marker}-b`;
    const group = `${marker}-b`;
    await input(topic);
    const outs = [join(dir, 'b-1.jsonl'), join(dir, 'b-2.jsonl'), join(dir, 'b-3.jsonl')];
    await interruptedRun(await jobFile(topic, group, outs[0] as string, false), outs[0] as string, 'SIGINT');
    const killed = await interruptedRun(
      await jobFile(topic, group, outs[1] as string, false),
      outs[1] as string,
      'SIGKILL',
    );
    await finishingRun(await jobFile(topic, group, outs[2] as string, true));
    const c = count(outs);
    console.log(`SIGINT, SIGKILL, rerun: the killed run wrote ${killed.written}; ${JSON.stringify(c)}`);
    expect(c.missing).toBe(0);
    // The rerun starts where the clean stop committed: it writes again what the killed run wrote, no more.
    expect(c.duplicates).toBeLessThanOrEqual(killed.written);
  });

  it('a rerun at another parallelism resumes from the committed offsets', async () => {
    const topic = `${marker}-c`;
    const group = `${marker}-c`;
    await input(topic);
    const outs = [join(dir, 'c-1.jsonl'), join(dir, 'c-2.jsonl'), join(dir, 'c-3.jsonl')];
    await interruptedRun(await jobFile(topic, group, outs[0] as string, false), outs[0] as string, 'SIGINT', [
      '-p',
      '1',
    ]);
    await interruptedRun(await jobFile(topic, group, outs[1] as string, false), outs[1] as string, 'SIGINT', [
      '-p',
      '3',
      '--single-thread',
    ]);
    await finishingRun(await jobFile(topic, group, outs[2] as string, true), ['-p', '2', '--single-thread']);
    const c = count(outs);
    console.log(`-p 1, -p 3, -p 2: ${JSON.stringify(c)}`);
    expect(c).toEqual({ missing: 0, duplicates: 0, total: N });
  });
});

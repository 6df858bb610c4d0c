// `tributary run` of a bounded job against the real local Kafka broker: a Kafka source with
// `bounded: latest` → an exactly-once Kafka sink, with checkpoints. The run ends by itself at
// the end of its input with exit code 0, and by then its output is committed: a read_committed
// consumer started after the exit reads every input record exactly once (an uncommitted
// transaction would hold all of them back). Slots on threads (the default) and as processes.
import { readTopic } from '../testing/kafka-reader.ts'; // first: it patches kafkajs
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphSpec } from '../graph/spec.ts';
import { createTopics, deleteTopicsContaining, writeNumbered, testBrokers } from '../testing/kafka-topics.ts';

const { Kafka, logLevel } = kafkajs;
const root = join(import.meta.dirname, '../../..');
const node = join(root, 'node_modules/.bin/node');
const N = 3_000;
const PARTITIONS = 3;

function cli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(node, ['runtime/src/cli/main.ts', ...args], {
      cwd: root,
      env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info' },
    });
    let stderr = '';
    p.stdout.resume();
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('tributary run of a bounded job', () => {
  let kafka: KafkaClient;
  const run = randomUUID().slice(0, 8);
  const input = `it-bounded-in-${run}`;
  const bs = testBrokers();
  const dir = mkdtempSync(join(tmpdir(), 'trib-bounded-'));

  beforeAll(async () => {
    kafka = new Kafka({ clientId: 'tributary-it', brokers: bs, logLevel: logLevel.NOTHING });
    await createTopics(kafka, { [input]: PARTITIONS });
    await writeNumbered(kafka, input, N, PARTITIONS);
  });

  afterAll(async () => {
    await deleteTopicsContaining(kafka, run);
  });

  const graph = (output: string): GraphSpec => ({
    sources: [
      {
        name: 'in',
        kafka: { brokers: bs, topic: input, groupId: `it-${randomUUID()}`, bounded: 'latest', schema: { n: 'double' } },
      },
    ],
    steps: [{ name: 'tag', from: 'in', map: { n: 'n', late: 'n >= 1500.0' } }],
    sinks: [{ name: 'out', from: 'tag', kafka: { brokers: bs, topic: output, delivery: 'exactly-once' } }],
  });

  for (const mode of ['threads', 'distributed'] as const)
    it(`exits 0 at the end of its input with every record committed exactly once (slots on ${mode})`, async () => {
      const output = `it-bounded-out-${mode}-${run}`;
      await createTopics(kafka, { [output]: 1 });
      const file = join(dir, `job-${mode}.json`);
      writeFileSync(file, JSON.stringify(graph(output)));
      const r = await cli([
        'run',
        file,
        '--parallelism',
        '2',
        ...(mode === 'distributed' ? ['--distributed'] : ['--threads']),
        '--checkpoint-interval',
        '300ms',
        '--state-dir',
        mkdtempSync(join(dir, `state-${mode}-`)),
        '--no-progress',
      ]);
      expect(r.code, r.stderr.slice(-3000)).toBe(0);
      expect(r.stderr).toContain('"state":"FINISHED"');
      // Read after the exit: what the run left uncommitted a read_committed reader never sees.
      const got = await readTopic(kafka, output, { expected: N, timeoutMs: 20_000, settleMs: 2_000 });
      const ns = got.map((g) => (JSON.parse(g.value) as { n: number; late: boolean }).n);
      expect(new Set(ns).size).toBe(N);
      expect(ns.length).toBe(N);
      expect(Math.min(...ns)).toBe(0);
      expect(Math.max(...ns)).toBe(N - 1);
    });
});

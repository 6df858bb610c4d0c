// `tributary run --threads` against the real local Kafka broker: each slot on a worker_thread of
// one process (the pod's slot code, TCP data plane on loopback), writing exactly-once. The
// committed output (read_committed) equals an in-process single-slot run's on the same
// deterministic datagen input: uninterrupted at parallelism 2; with a slot thread terminated
// after the first completed checkpoint (all slots restart from the latest checkpoint); and
// stopped (as by Ctrl-C) at parallelism 2, then restored at parallelism 3.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestCheckpointPath } from '../checkpoint/coordinator.ts';
import { CONTRACT_VERSION } from '../control/contract.ts';
import { JobExecutor } from '../job/job-executor.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { Supervisor, type AttemptInfo } from './supervisor.ts';
import { readTopic, readValues } from '../testing/kafka-reader.ts';
import { createTopics, deleteTopicsContaining, testBrokers } from '../testing/kafka-topics.ts';

const { Kafka, logLevel } = kafkajs;
const root = join(import.meta.dirname, '../../..');
const node = join(root, 'node_modules/.bin/node');
const COUNT = 15_000;

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(node, ['runtime/src/cli/main.ts', ...args], {
      cwd: root,
      env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info', ...env },
    });
    let stderr = '';
    p.stdout.resume();
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('tributary run --threads', () => {
  let kafka: KafkaClient;
  const run = randomUUID().slice(0, 8);
  const bs = testBrokers();
  const dir = mkdtempSync(join(tmpdir(), 'trib-threads-'));
  let expected: string[] = [];

  /** Deterministic input (record i from (seed, i), event time from startTime): output independent of parallelism. */
  const graph = (output: string, rate?: number): GraphSpec => ({
    sources: [
      {
        name: 'gen',
        datagen: {
          generator: 'schema',
          seed: 7,
          count: COUNT,
          ...(rate ? { rate } : {}),
          startTime: 1_700_000_000_000,
          eventRate: 1000,
          fields: {
            user: { type: 'string', prefix: 'u', cardinality: 30 },
            amount: { type: 'int', min: 1, max: 9 },
            ts: { type: 'timestamp' },
          },
        },
        timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '1s' },
      },
    ],
    steps: [
      { name: 'by-user', from: 'gen', keyBy: 'user' },
      { name: 'per-2s', from: 'by-user', window: { tumbling: { size: '2s' } } },
      { name: 'totals', from: 'per-2s', aggregate: { n: 'count()', amount: 'sum(amount)' } },
    ],
    sinks: [
      {
        name: 'out',
        from: 'totals',
        kafka: { brokers: bs, topic: output, key: 'user', transactionalIdPrefix: `tx-${output}` },
      },
    ],
  });

  const supervisor = (name: string, g: GraphSpec, parallelism: number, attempts: AttemptInfo[]): Supervisor =>
    new Supervisor({
      config: {
        contractVersion: CONTRACT_VERSION,
        jobName: name,
        graph: g,
        parallelism,
        maxParallelism: 128,
        checkpointing: { intervalMs: 300, timeoutMs: 60_000, retained: 3 },
        stateDir: join(dir, name),
        allowNonRestoredState: false,
      },
      host: 'thread',
      logger: silentLogger(),
      backoffMs: 100,
      stdio: 'pipe',
      env: { TRIBUTARY_LOG_LEVEL: 'warn' },
      onAttempt: (a) => {
        attempts.push(a);
        for (const s of a.slots) {
          s.child.stdout?.resume();
          s.child.stderr?.resume();
        }
      },
    });

  beforeAll(async () => {
    kafka = new Kafka({ clientId: 'tributary-it', brokers: bs, logLevel: logLevel.NOTHING });
    const topics = ['ref', 'p2', 'crash', 'rescale'].map((t) => `it-thr-${t}-${run}`);
    await createTopics(kafka, Object.fromEntries(topics.map((t) => [t, 3])));
    const refTopic = `it-thr-ref-${run}`;
    const ref = await new JobExecutor(validateGraph(graph(refTopic)), { parallelism: 1, logger: silentLogger() }).run();
    expect(ref.recordsIn).toBe(COUNT);
    expected = await readValues(kafka, refTopic, { expected: ref.recordsOut });
    expect(expected.length).toBe(ref.recordsOut);
    expect(expected.length).toBeGreaterThan(200);
  });

  afterAll(async () => {
    await deleteTopicsContaining(kafka, run);
  });

  it('-p 2 on threads writes exactly the single-slot output', async () => {
    const out = `it-thr-p2-${run}`;
    const file = join(dir, 'p2.json');
    writeFileSync(file, JSON.stringify(graph(out)));
    const r = await cli(['run', file, '--threads', '-p', '2', '--checkpoint-interval', '300ms']);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stderr).toContain('"host":"thread"');
    expect(r.stderr).toContain('"attempts":1');
    // Both slots linked over their MessagePorts, not loopback TCP.
    expect(r.stderr.match(/"transport":"ports".*"data plane connected"/g)).toHaveLength(2);
    expect(await readValues(kafka, out, { expected: expected.length })).toEqual(expected);
  });

  it('TRIBUTARY_THREAD_DATA_PLANE=tcp links the slot threads over loopback TCP: the same output', async () => {
    const out = `it-thr-tcp-${run}`;
    const file = join(dir, 'tcp.json');
    writeFileSync(file, JSON.stringify(graph(out)));
    const r = await cli(['run', file, '--threads', '-p', '2', '--checkpoint-interval', '300ms'], {
      TRIBUTARY_THREAD_DATA_PLANE: 'tcp',
    });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stderr.match(/"data plane connected"/g)).toHaveLength(2);
    expect(r.stderr).not.toContain('"transport":"ports"');
    expect(await readValues(kafka, out, { expected: expected.length })).toEqual(expected);
    const bad = await cli(['run', file, '--threads', '-p', '2'], { TRIBUTARY_THREAD_DATA_PLANE: 'shm' });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('TRIBUTARY_THREAD_DATA_PLANE="shm": expected "ports" (the default) or "tcp"');
  });

  it('a terminated slot thread restarts every slot from the latest checkpoint: exactly-once output', async () => {
    const out = `it-thr-crash-${run}`;
    const attempts: AttemptInfo[] = [];
    const sup = supervisor('crash', graph(out, 1500), 2, attempts);
    const done = sup.run();
    await expect.poll(() => attempts.length, { timeout: 30_000 }).toBe(1);
    // Once some output is committed (a restart from scratch would then duplicate it).
    await readTopic(kafka, out, { expected: 1, settleMs: 0 });
    expect(attempts[0]!.slots[1]!.child.kill('SIGKILL')).toBe(true);
    const r = await done;
    expect(r).toMatchObject({ state: 'FINISHED', attempts: 2, restarts: 1 });
    expect(attempts[1]!.restoreFrom).toMatch(/chk-\d+$/);
    expect(await readValues(kafka, out, { expected: expected.length })).toEqual(expected);
  });

  it('stopped at -p 2 (Ctrl-C), restored at -p 3 from its latest checkpoint: exactly-once output', async () => {
    const out = `it-thr-rescale-${run}`;
    const attempts: AttemptInfo[] = [];
    const g = graph(out, 1500);
    const sup = supervisor('rescale', g, 2, attempts);
    const done = sup.run();
    // Once some output is committed: restoring nothing would duplicate it.
    await readTopic(kafka, out, { expected: 1, settleMs: 0 });
    sup.stop();
    expect(await done).toMatchObject({ state: 'STOPPED', attempts: 1 });
    for (const s of attempts[0]!.slots) expect(s.child.exitCode).toBe(0);
    const from = await latestCheckpointPath(join(dir, 'rescale'));
    const file = join(dir, 'rescale.json');
    writeFileSync(file, JSON.stringify(g));
    const r = await cli([
      'run',
      file,
      '--threads',
      '-p',
      '3',
      '--state-dir',
      join(dir, 'rescale-2'),
      '--checkpoint-interval',
      '300ms',
      '--restore',
      from as string,
    ]);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stderr).toContain(`"restoreFrom":"${from}"`);
    expect(await readValues(kafka, out, { expected: expected.length })).toEqual(expected);
  });
});

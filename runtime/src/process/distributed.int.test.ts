// `tributary run --distributed` against the real local Kafka broker: one OS process per slot,
// keyBy shuffles over the TCP data plane. Same output as JobExecutor on the same bounded input
// at parallelism 1 and 3; a SIGKILLed slot makes the supervisor restart every slot; Ctrl-C
// stops all slots with no orphans.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTRACT_VERSION } from '../control/contract.ts';
import { JobExecutor } from '../job/job-executor.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { Supervisor, type AttemptInfo } from './supervisor.ts';
import { readValues } from '../testing/kafka-reader.ts';
import { createTopics, deleteTopicsContaining, inputProducer, testBrokers } from '../testing/kafka-topics.ts';

const { Kafka, logLevel } = kafkajs;
const root = join(import.meta.dirname, '../../..');
const node = join(root, 'node_modules/.bin/node');

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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('tributary run --distributed', () => {
  let kafka: KafkaClient;
  const run = randomUUID().slice(0, 8);
  const input = `it-dist-in-${run}`;
  const bs = testBrokers();
  const dir = mkdtempSync(join(tmpdir(), 'trib-dist-'));

  beforeAll(async () => {
    kafka = new Kafka({ clientId: 'tributary-it', brokers: bs, logLevel: logLevel.NOTHING });
    await createTopics(kafka, { [input]: 4 });
    const producer = inputProducer(kafka);
    await producer.connect();
    const base = 1_700_000_000_000;
    for (let p = 0; p < 4; p++) {
      const messages = Array.from({ length: 1500 }, (_, i) => {
        const user = `user-${(i * 7 + p) % 40}`;
        return {
          key: user,
          partition: p,
          value: JSON.stringify({ user, amount: (i % 9) + 1, ts: base + i * 50 + p * 13 }),
        };
      });
      await producer.send({ topic: input, messages });
    }
    await producer.disconnect();
  });

  afterAll(async () => {
    await deleteTopicsContaining(kafka, run);
  });

  const graph = (output: string): GraphSpec => ({
    sources: [
      {
        name: 'clicks',
        kafka: { brokers: bs, topic: input, groupId: `it-${randomUUID()}`, bounded: 'latest' },
        timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '1s' },
      },
    ],
    steps: [
      { name: 'by-user', from: 'clicks', keyBy: 'user' },
      { name: 'per-5s', from: 'by-user', window: { tumbling: { size: '5s' } } },
      { name: 'totals', from: 'per-5s', aggregate: { n: 'count()', amount: 'sum(amount)' } },
    ],
    sinks: [{ name: 'out', from: 'totals', kafka: { brokers: bs, topic: output, key: 'user' } }],
  });

  it('parallelism 1 and 3 give the same output as JobExecutor on the same bounded Kafka input', async () => {
    const refTopic = `it-dist-ref-${run}`;
    const ref = await new JobExecutor(validateGraph(graph(refTopic)), { parallelism: 2, logger: silentLogger() }).run();
    expect(ref.recordsIn).toBe(6000);
    const expected = await readValues(kafka, refTopic, { expected: ref.recordsOut });
    expect(expected.length).toBe(ref.recordsOut);
    expect(expected.length).toBeGreaterThan(100);
    for (const p of [1, 3]) {
      const out = `it-dist-p${p}-${run}`;
      const file = join(dir, `job-p${p}.json`);
      writeFileSync(file, JSON.stringify(graph(out)));
      const r = await cli(['run', file, '--distributed', '--parallelism', String(p), '--no-progress']);
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      expect(r.stderr).toContain('"attempts":1');
      const got = await readValues(kafka, out, { expected: expected.length });
      expect(got).toEqual(expected);
    }
  });

  it('a SIGKILLed slot process makes the supervisor restart all slots; Ctrl-C then stops them all, no orphans', async () => {
    const attempts: AttemptInfo[] = [];
    const g: GraphSpec = {
      sources: [
        {
          name: 'gen',
          datagen: {
            generator: 'schema',
            seed: 1,
            rate: 2000,
            fields: { user: { type: 'string', prefix: 'u', cardinality: 20 }, ts: { type: 'timestamp' } },
          },
          timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '1s' },
        },
      ],
      steps: [
        { name: 'by-user', from: 'gen', keyBy: 'user' },
        { name: 'w', from: 'by-user', window: { tumbling: { size: '1s' } } },
        { name: 'counts', from: 'w', aggregate: { n: 'count()' } },
      ],
      sinks: [{ name: 'out', from: 'counts', file: { path: join(dir, 'restart-out.jsonl') } }],
    };
    validateGraph(g);
    const sup = new Supervisor({
      config: {
        contractVersion: CONTRACT_VERSION,
        jobName: 'restart-it',
        graph: g,
        parallelism: 3,
        maxParallelism: 128,
        checkpointing: { intervalMs: 1000, timeoutMs: 60_000, retained: 2 },
        stateDir: join(dir, 'state'),
        allowNonRestoredState: false,
      },
      logger: silentLogger(),
      backoffMs: 100,
      stdio: 'pipe',
      onAttempt: (a) => {
        attempts.push(a);
        for (const s of a.slots) {
          s.child.stdout?.resume();
          s.child.stderr?.resume();
        }
      },
    });
    const done = sup.run();
    const ready = async (a: AttemptInfo): Promise<void> => {
      for (let i = 0; i < 200; i++) {
        const states = await Promise.all(
          a.slots.map((s) =>
            fetch(`http://${s.controlAddress}/readyz`).then(
              (r) => r.status,
              () => 0,
            ),
          ),
        );
        if (states.every((c) => c === 200)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('slots never became ready');
    };
    await expect.poll(() => attempts.length, { timeout: 10_000 }).toBe(1);
    await ready(attempts[0]!);
    const slot1 = attempts[0]!.slots[1]!;
    // The run's job secret guards the slots' control API; /metrics is on the token-free port.
    expect((await fetch(`http://${slot1.controlAddress}/v1/status`)).status).toBe(401);
    expect((await fetch(`http://${slot1.metricsAddress}/metrics`)).status).toBe(200);
    const auth = { headers: { authorization: `Bearer ${slot1.controlToken}` } };
    const status = (await (await fetch(`http://${slot1.controlAddress}/v1/status`, auth)).json()) as {
      state: string;
      slot: number;
      parallelism: number;
      deploymentId: string;
    };
    expect(status).toMatchObject({
      state: 'RUNNING',
      slot: 1,
      parallelism: 3,
      deploymentId: attempts[0]!.deploymentId,
    });
    process.kill(attempts[0]!.slots[1]!.pid, 'SIGKILL');
    await expect.poll(() => attempts.length, { timeout: 15_000 }).toBe(2);
    for (const s of attempts[0]!.slots) await expect.poll(() => alive(s.pid), { timeout: 5000 }).toBe(false);
    expect(attempts[1]!.deploymentId).not.toBe(attempts[0]!.deploymentId);
    await ready(attempts[1]!);
    sup.stop();
    const r = await done;
    expect(r).toMatchObject({ state: 'STOPPED', attempts: 2, restarts: 1 });
    for (const s of attempts[1]!.slots) {
      expect(alive(s.pid)).toBe(false);
      expect(s.child.exitCode).toBe(0);
    }
  });
});

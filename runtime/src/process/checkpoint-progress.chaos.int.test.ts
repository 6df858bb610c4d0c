// Progress under repeated failures, end to end through the CLI and the real Kafka broker:
// `tributary run --distributed -p 2 --checkpoint-interval 1s` reads a 4-partition topic that
// keeps growing and writes another one exactly-once (a keyed 2 s tumbling count/sum).
//
//   1. no progress: three attempts in a row are killed ~300 ms after their slots start,
//      before any can checkpoint → the supervisor says so (warn line with the count and the
//      last failure; tributary_attempts_without_checkpoint on its /metrics);
//   2. storm: for 35 s, a random slot process is SIGKILLed ~3 s into each attempt's
//      uptime → checkpoints must still complete between the kills (slot 0's
//      "checkpoint completed" lines, per attempt);
//   3. quiet: the producer stops and writes one far-future record per partition (dropped by
//      the filter, it moves the watermark past every window); once the read_committed output
//      equals an uninterrupted in-process reference exactly (nothing missing, nothing
//      duplicated), Ctrl-C ends the run, which exits 0.
// TRIBUTARY_CHAOS_STORM_SECONDS lengthens the storm (default 35: about 8 attempts, 5 asserted);
// PROGRESS_LOG=<file> keeps the run's log.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateGraph } from '../connectors/validate-graph.ts';
import { createJobExecutor } from '../job/job-executor.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { CollectingSink, type Emitted } from '../testing/harness.ts';
import { readTopic } from '../testing/kafka-reader.ts';
import { createTopics, deleteTopicsContaining, inputProducer, testBrokers } from '../testing/kafka-topics.ts';
import { silentLogger } from '../telemetry/logger.ts';

const { Kafka, logLevel } = kafkajs;
const STORM_MS = Number(process.env['TRIBUTARY_CHAOS_STORM_SECONDS'] ?? 35) * 1000;
const PARTITIONS = 4;
const BASE = 1_700_000_000_000;
const root = join(import.meta.dirname, '../../..');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Attempt {
  attempt: number;
  deploymentId: string;
  startedAt: number;
  pids: number[];
  checkpoints: number;
  /** Slot 0's job running (its sources open), ms after the slots started. */
  runningAfterMs?: number;
  /** Slot 0's first completed checkpoint, ms after the slots started. */
  firstCheckpointAfterMs?: number;
  killedAt?: number;
}

/** The CLI run's stderr (supervisor and slot logs, JSON lines), parsed as they arrive. */
class RunLog {
  readonly attempts: Attempt[] = [];
  readonly noProgress: { attempts: number; lastFailure: string }[] = [];
  metricsUrl: string | undefined;
  private buf = '';

  feed(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      let r: Record<string, unknown>;
      try {
        r = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (r['msg'] === 'slots started') {
        const slots = r['slots'] as { pid: number }[];
        this.attempts.push({
          attempt: r['attempt'] as number,
          deploymentId: r['deploymentId'] as string,
          startedAt: Date.now(),
          pids: slots.map((s) => s.pid),
          checkpoints: 0,
        });
      } else if (r['msg'] === 'job running' && r['slot'] === 0) {
        const a = this.attempts.find((x) => x.deploymentId === r['deployment']);
        if (a) a.runningAfterMs = Date.now() - a.startedAt;
      } else if (r['msg'] === 'checkpoint completed' && r['slot'] === 0) {
        const a = this.attempts.find((x) => x.deploymentId === r['deployment']);
        if (a) a.checkpoints++;
        if (a && a.firstCheckpointAfterMs === undefined) a.firstCheckpointAfterMs = Date.now() - a.startedAt;
      } else if (typeof r['msg'] === 'string' && r['msg'].startsWith('no checkpoint completed in the last')) {
        this.noProgress.push({ attempts: r['attempts'] as number, lastFailure: r['lastFailure'] as string });
      } else if (r['msg'] === 'metrics endpoint') this.metricsUrl = r['url'] as string;
    }
  }

  get current(): Attempt | undefined {
    return this.attempts[this.attempts.length - 1];
  }
}

describe('progress under repeated failures (tributary run --distributed, SIGKILL storm, exactly-once output)', () => {
  const bs = testBrokers();
  const run = randomUUID().slice(0, 8);
  const input = `progress-in-${run}`;
  const output = `progress-out-${run}`;
  const dir = mkdtempSync(join(tmpdir(), 'trib-progress-'));
  let kafka: KafkaClient;
  let producer: Producer;

  const graph = (bounded: boolean): GraphSpec => ({
    sources: [
      {
        name: 'events',
        kafka: {
          brokers: bs,
          topic: input,
          groupId: `progress-${run}`,
          ...(bounded ? { bounded: 'latest' as const } : {}),
        },
        timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '500ms' },
      },
    ],
    steps: [
      { name: 'real', from: 'events', filter: 'user != "flush"' },
      { name: 'by-user', from: 'real', keyBy: 'user' },
      { name: 'per-2s', from: 'by-user', window: { tumbling: { size: '2s' } } },
      { name: 'totals', from: 'per-2s', aggregate: { n: 'count()', amount: 'sum(amount)' } },
    ],
    // The reference (bounded, in-process) collects in memory: its sink is replaced, its delivery moot.
    sinks: [
      {
        name: 'out',
        from: 'totals',
        kafka: {
          brokers: bs,
          topic: output,
          key: 'user',
          ...(bounded ? {} : { delivery: 'exactly-once' as const }),
          transactionalIdPrefix: `progress-${run}`,
        },
      },
    ],
  });

  beforeAll(async () => {
    kafka = new Kafka({ clientId: 'progress-chaos', brokers: bs, logLevel: logLevel.NOTHING });
    await createTopics(kafka, { [input]: PARTITIONS, [output]: 2 });
    producer = inputProducer(kafka);
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect();
    await deleteTopicsContaining(kafka, run);
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports attempts without progress, completes checkpoints between kills every ~3 s, and ends with exactly the reference output', async () => {
    // Input keeps arriving: 100 records every 100 ms, event time 10 ms apart, round-robin over the partitions.
    let written = 0;
    let producing = true;
    const writer = (async () => {
      while (producing) {
        const messages = Array.from({ length: 100 }, (_, j) => {
          const i = written + j;
          const user = `user-${(i * 7) % 50}`;
          return {
            key: user,
            partition: i % PARTITIONS,
            value: JSON.stringify({ user, amount: (i % 5) + 1, ts: BASE + i * 10 }),
          };
        });
        await producer.send({ topic: input, messages });
        written += messages.length;
        await sleep(100);
      }
    })();

    const file = join(dir, 'job.json');
    writeFileSync(file, JSON.stringify(graph(false)));
    const log = new RunLog();
    const cli = spawn(
      join(root, 'node_modules/.bin/node'),
      [
        'runtime/src/cli/main.ts',
        'run',
        file,
        '--distributed',
        '-p',
        '2',
        '--checkpoint-interval',
        '1s',
        '--max-restarts',
        '1000',
        '--state-dir',
        join(dir, 'state'),
        '--metrics-port',
        '0',
      ],
      {
        cwd: root,
        env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    const keepLog = process.env['PROGRESS_LOG']; // a file to keep the run's log lines in
    cli.stderr.on('data', (d: Buffer) => {
      log.feed(d.toString());
      if (keepLog) appendFileSync(keepLog, d);
    });
    const exited = new Promise<number | null>((r) => cli.on('exit', (code) => r(code)));
    /** Kills a random slot of `a` at `atMs` after its slots started, or after slot 0 ran (`afterRunning`). */
    const killIn = async (a: Attempt, atMs: number, afterRunning = false): Promise<void> => {
      if (afterRunning) await expect.poll(() => a.runningAfterMs, { timeout: 30_000, interval: 20 }).toBeDefined();
      const from = a.startedAt + (afterRunning ? (a.runningAfterMs as number) : 0);
      await sleep(Math.max(0, from + atMs - Date.now()));
      const pid = a.pids[Math.floor(Math.random() * a.pids.length)] as number;
      a.killedAt = Date.now();
      process.kill(pid, 'SIGKILL');
      await expect.poll(() => log.current !== a, { timeout: 30_000, interval: 20 }).toBe(true);
    };
    let metricsText = '';
    try {
      await expect.poll(() => log.current, { timeout: 30_000, interval: 20 }).toBeDefined();
      // 1. Three attempts killed before they can checkpoint.
      for (let k = 0; k < 3; k++) await killIn(log.current as Attempt, 300);
      await expect.poll(() => log.noProgress.length, { timeout: 10_000, interval: 20 }).toBeGreaterThan(0);
      metricsText = log.metricsUrl ? await (await fetch(log.metricsUrl)).text() : '';
      // 2. The storm: each attempt is killed ~3 s after its job runs (counted from there, not from the process
      // start, so a slow start-up on a loaded machine does not eat the time the claim is about).
      const stormFrom = log.attempts.length - 1;
      const stormEnd = Date.now() + STORM_MS;
      while (Date.now() < stormEnd) await killIn(log.current as Attempt, 3000, true);
      const storm = log.attempts.slice(stormFrom, -1);
      process.stderr.write(
        `progress storm: ${storm.length} attempts killed ~3 s in; checkpoints completed per attempt: ${storm.map((a) => a.checkpoints).join(' ')}\n`,
      );
      process.stderr.write(
        `  slots started → slot 0 running / first checkpoint (ms): ${storm.map((a) => `${a.runningAfterMs ?? '-'}/${a.firstCheckpointAfterMs ?? '-'}`).join(' ')}\n`,
      );
      // 3. Quiet: the input ends with a far-future record per partition, which closes every window.
      producing = false;
      await writer;
      await producer.send({
        topic: input,
        messages: Array.from({ length: PARTITIONS }, (_, p) => ({
          key: 'flush',
          partition: p,
          value: JSON.stringify({ user: 'flush', amount: 0, ts: BASE + written * 10 + 60_000 }),
        })),
      });

      const reference: Emitted[] = [];
      const ref = await createJobExecutor(validateGraph(graph(true)), {
        parallelism: 2,
        logger: silentLogger(),
        sinkWriter: () => new CollectingSink(reference),
      });
      expect((await ref.run()).recordsIn).toBe(written + PARTITIONS);
      const expected = reference.map((e) => JSON.stringify(e.rec)).sort();
      const got = (await readTopic(kafka, output, { expected: expected.length, timeoutMs: 60_000, settleMs: 3000 }))
        .map((r) => r.value)
        .sort();

      expect(storm.length).toBeGreaterThanOrEqual(5);
      expect(
        storm.filter((a) => a.checkpoints > 0).length,
        'attempts of the storm that completed a checkpoint before their kill',
      ).toBeGreaterThanOrEqual(1);
      expect(log.noProgress[0]).toMatchObject({ attempts: 3, lastFailure: expect.stringMatching(/killed by SIGKILL/) });
      expect(metricsText).toMatch(/tributary_attempts_without_checkpoint [3-9]/);
      expect(got.length, 'read_committed output records').toBe(expected.length);
      expect(got).toEqual(expected);
    } finally {
      producing = false;
      await writer.catch(() => undefined);
      cli.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 240_000);
});

// The fault matrix's "hung (SIGSTOP) while the sink sends" rows (docs/fault-matrix.md, Kafka
// broker), against the local cluster's real broker, through `tributary run` as a user runs it: a
// datagen source (no Kafka source, whose own bounds would end the run first) into a Kafka sink,
// at-least-once and exactly-once. The broker accepts connections and answers nothing. With short
// `requestTimeout` and `retries`: frozen past the bound, the run fails with the stable code naming
// the sink, the brokers and both options, having warned and reported the outage (the slot's
// /metrics) meanwhile; thawed within the bound, the outage clears and the run ends with its output
// complete (at-least-once) or exactly once (exactly-once), read by Kafka's own Java consumer.
// A freeze cannot be aimed at a transaction's commit from outside the run (its EndTxn is in
// flight for milliseconds): the last cell drives the exactly-once sink in-process as a slot does
// and freezes the broker between a checkpoint's pre-commit and its completion.
// Freezes stay under 9 s (the broker's session with its controller). The broker is always thawed.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newBatch } from '../../core/batch.ts';
import type { DependencyOutage } from '../../core/outage.ts';
import { readTopicWithJava } from '../../../../test/harness/java-topic-reader.ts';
import { clusterPaths } from '../../../../test/cluster/paths.ts';
import { kafkaAnswers, signalKafkaBroker } from '../../../../test/cluster/components/kafka.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import type { SinkWriterContext } from '../api.ts';
import { TransactionalKafkaSink } from './transactional-sink.ts';
import { createTopics, deleteTopicsContaining, testBrokers } from '../../testing/kafka-topics.ts';
import {
  esc,
  exitWithin,
  logged,
  matrixReport,
  outageSeries,
  sleep,
  stderrOf,
  tributaryRun,
  until,
  watchOutageMetric,
  type Run,
} from '../../testing/tributary-run.ts';

const { Kafka, logLevel } = kafkajs;
const report = matrixReport('kafka');
type Delivery = 'at-least-once' | 'exactly-once';
const SERIES = 'tributary_dependency_unavailable{dependency="kafka",component="sink \\"out\\""}';

describe('Kafka broker hung while the sink sends: warned, reported, ridden out within the bound or failed at it', () => {
  const bs = testBrokers();
  const brokers = bs.join(',');
  const run = randomUUID().slice(0, 8);
  const paths = clusterPaths();
  const dir = mkdtempSync(join(tmpdir(), 'trib-ksinkhung-'));
  let kafka: KafkaClient;
  let frozen = false;

  function freeze(): number {
    frozen = true;
    signalKafkaBroker(paths, 'SIGSTOP');
    return Date.now();
  }

  async function thaw(): Promise<void> {
    if (frozen) signalKafkaBroker(paths, 'SIGCONT');
    frozen = false;
    for (let i = 0; i < 120 && !(await kafkaAnswers()); i++) await sleep(250);
  }

  beforeAll(() => {
    kafka = new Kafka({ clientId: 'tributary-ksinkhung-it', brokers: bs, logLevel: logLevel.NOTHING });
  });

  afterAll(async () => {
    await thaw();
    await deleteTopicsContaining(kafka, run);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  /** `tributary run`: datagen (300 records/s, `count` in all if set) → Kafka, checkpoints every 300 ms. */
  function start(name: string, topic: string, delivery: Delivery, bounds: object, count?: number): Run {
    const graph: GraphSpec = {
      sources: [
        {
          name: 'gen',
          datagen: {
            generator: 'schema',
            rate: 300,
            ...(count === undefined ? {} : { count }),
            fields: { id: { type: 'sequence' } },
          },
        },
      ],
      sinks: [
        {
          name: 'out',
          from: 'gen',
          kafka: { brokers: bs, topic, delivery, transactionalIdPrefix: `it-ksinkhung-${name}-${run}`, ...bounds },
        },
      ],
    };
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(graph));
    return tributaryRun([
      file,
      '--threads',
      '--parallelism',
      '1',
      '--max-restarts',
      '0',
      '--checkpoint-interval',
      '300ms',
      '--state-dir',
      join(dir, `state-${name}`),
      '--no-progress',
    ]);
  }

  /** The topic's end offsets summed: records (and commit markers) acknowledged so far. */
  async function ends(topic: string): Promise<number> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
    } finally {
      await admin.disconnect();
    }
  }

  const warningsOf = (r: Run, after: number) =>
    logged(r, new RegExp(`^kafka sink "out": brokers ${esc(brokers)} have not answered for \\d+ s \\(`), after);

  for (const delivery of ['at-least-once', 'exactly-once'] as const)
    it(`${delivery}, frozen past the bound: warned and reported while it waits, then fails naming the sink, brokers and options`, async () => {
      const name = `fails-${delivery}`;
      const topic = `it-ksinkhung-${name}-${run}`;
      await createTopics(kafka, { [topic]: 1 });
      // kafkajs's defaults (30 s per request, 5 retries) would hold it for about 3 min.
      const r = start(name, topic, delivery, { requestTimeout: '2s', retries: 1 });
      try {
        await expect.poll(() => ends(topic), { timeout: 30_000, interval: 200 }).toBeGreaterThan(0);
        const metric = watchOutageMetric(r, (l) => l.startsWith(SERIES));
        const t0 = freeze();
        const code = await exitWithin(r, 25_000);
        expect(code, `the run ends by itself within the configured bounds\n${stderrOf(r).slice(-4000)}`).toBe(1);
        const failed = r.lines.find((l) => l.text.startsWith('error TRIB_'));
        // Whichever request the freeze met: a send (retried), a producer's start, or a commit (one EndTxn).
        const what =
          delivery === 'at-least-once'
            ? `TRIB_CONNECTOR_FAILED: sink "out": send to ${topic} failed`
            : `(TRIB_CONNECTOR_FAILED: sink "out": transactional send to ${topic} failed|` +
              `TRIB_SINK_COMMIT_FAILED: sink "out": commit of \\S+ \\(checkpoint \\d+\\) failed)`;
        expect(failed?.text, stderrOf(r).slice(-4000)).toMatch(
          new RegExp(
            // A commit's EndTxn first looks its coordinator up: that lookup may be the request that times out.
            `^error ${what}: (.*timed out|Failed to find group coordinator) ` +
              `\\(brokers ${esc(brokers)} did not answer; requestTimeout 2s, retries 1\\)`,
          ),
        );
        const detectMs = failed!.at - t0;
        expect(detectMs, 'not before one request timeout').toBeGreaterThanOrEqual(2000);
        // Said while it waited: a warning from half the request timeout on, not one per check.
        const warnings = warningsOf(r, t0).filter((w) => w.at <= failed!.at);
        expect(warnings.length, stderrOf(r).slice(-4000)).toBeGreaterThan(0);
        expect(warnings.length).toBeLessThanOrEqual(4);
        expect(warnings[0]!.json!.msg).toMatch(
          /\((sending \d+ records to topic \S+|starting transactional producer \S+|committing transaction \S+ of checkpoint \d+)\); still waiting, fails after requestTimeout 2s( × \(retries 1 \+ 1\) plus backoff)?$/,
        );
        expect(warnings[0]!.json).toMatchObject({ level: 40, sink: 'out', brokers, forSeconds: expect.any(Number) });
        // …and reported: the slot's /metrics had the sink's Kafka outage at 1 before the failure.
        const seen = await metric.stop();
        expect(seen?.series, stderrOf(r).slice(-4000)).toBe(`${SERIES} 1`);
        expect(seen!.at).toBeLessThanOrEqual(failed!.at);
        report(
          `hung while the ${delivery} sink sends`,
          `warned ${warnings[0]!.at - t0} ms and reported by ${seen!.at - t0} ms after the freeze; ` +
            `failed ${detectMs} ms after it; ${warnings.length} warning(s): ${failed!.text}`,
        );
      } finally {
        r.kill();
        const t1 = Date.now();
        await thaw();
        report(`hung while the ${delivery} sink sends`, `broker answers ${Date.now() - t1} ms after SIGCONT`);
      }
    }, 90_000);

  for (const delivery of ['at-least-once', 'exactly-once'] as const)
    it(`${delivery}, thawed within the bound: the outage is reported then cleared, the run goes on and its output is ${delivery === 'exactly-once' ? 'exactly once' : 'complete'}`, async () => {
      const name = `rides-${delivery}`;
      const topic = `it-ksinkhung-${name}-${run}`;
      const N = 2100; // 7 s at 300/s: still running a while after the thaw
      await createTopics(kafka, { [topic]: 1 });
      // Half the request timeout (3 s) passes while frozen; no request times out (a commit fails at its first).
      const r = start(name, topic, delivery, { requestTimeout: '6s', retries: 2 }, N);
      try {
        await expect.poll(() => ends(topic), { timeout: 30_000, interval: 200 }).toBeGreaterThan(0);
        const t0 = freeze();
        const seen = await until(r, 'the outage in /metrics', 4_400, async () =>
          (await outageSeries(r, (l) => l.startsWith(SERIES))) === `${SERIES} 1` ? Date.now() : undefined,
        );
        expect(warningsOf(r, t0).length, stderrOf(r).slice(-4000)).toBe(1);
        await sleep(Math.max(0, t0 + 4500 - Date.now()));
        const t1 = Date.now();
        await thaw();
        const back = await until(r, 'the recovery line', 15_000, () => {
          const l = logged(r, new RegExp(`^kafka sink "out": brokers ${esc(brokers)} answer again after \\d+ s$`), t1);
          return l[0];
        });
        // The series goes back to 0 (the outage cleared), while the run still runs.
        const cleared = await until(r, 'the outage metric back to 0', 10_000, async () => {
          const s = await outageSeries(r, (l) => l.startsWith(SERIES));
          return s === `${SERIES} 0` ? Date.now() : undefined;
        });
        const code = await exitWithin(r, 60_000);
        expect(code, `the run finishes its input\n${stderrOf(r).slice(-4000)}`).toBe(0);
        expect(r.lines.filter((l) => l.text.startsWith('error TRIB_'))).toEqual([]);
        // Kafka's own consumer: every record; exactly-once: each once (read_committed).
        const got = await readTopicWithJava(
          brokers,
          topic,
          delivery === 'exactly-once' ? 'read_committed' : 'read_uncommitted',
        );
        const ids = got.map((g) => (JSON.parse(g.value) as { id: number }).id).sort((a, b) => a - b);
        const all = Array.from({ length: N }, (_, i) => i);
        if (delivery === 'exactly-once') expect(ids).toEqual(all);
        else expect([...new Set(ids)]).toEqual(all);
        report(
          `hung while the ${delivery} sink sends, thawed after 4.5 s`,
          `warned ${warningsOf(r, t0)[0]!.at - t0} ms, reported by ${seen - t0} ms after the freeze; answered again ${back.at - t1} ms and ` +
            `metric 0 ${cleared - t1} ms after SIGCONT; ${ids.length} records read for ${N} (${ids.length - N} duplicates)`,
        );
      } finally {
        r.kill();
        await thaw();
      }
    }, 120_000);

  it('exactly-once, frozen during a transaction commit: warned and reported, fails after one requestTimeout naming the options; the recovery commits it once', async () => {
    const topic = `it-ksinkhung-commit-${run}`;
    const stateDir = join(dir, 'state-commit');
    await createTopics(kafka, { [topic]: 1 });
    const warnings: { msg: string; at: number }[] = [];
    const outages: (DependencyOutage | undefined)[] = [];
    const logger = pino(
      { level: 'warn' },
      { write: (l: string) => void warnings.push({ msg: (JSON.parse(l) as { msg: string }).msg, at: Date.now() }) },
    );
    const ctx = (restoredCommittables?: readonly unknown[]): SinkWriterContext => ({
      sinkName: 'out',
      slot: 0,
      parallelism: 1,
      logger,
      wake: () => undefined,
      jobName: `commit-${run}`,
      checkpointing: { stateDir },
      reportOutage: (o) => outages.push(o),
      ...(restoredCommittables ? { restoredCommittables } : {}),
    });
    const spec = { brokers: bs, topic, delivery: 'exactly-once' as const, requestTimeout: '2s', retries: 1 };
    const batch = newBatch();
    for (let id = 0; id < 5; id++) {
      batch.recs.push({ id });
      batch.ts.push(0);
      batch.n++;
    }
    const sink = new TransactionalKafkaSink(spec);
    await sink.open(ctx());
    sink.write(batch);
    const committables = await sink.preCommit(1); // the records are in the open transaction
    const t0 = freeze();
    const failed = await sink.notifyCheckpointComplete(1).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    const detectMs = Date.now() - t0;
    await thaw();
    await sink.close('failed');
    expect(failed?.code).toBe('TRIB_SINK_COMMIT_FAILED');
    expect(failed?.message).toMatch(
      new RegExp(
        // kafkajs looks the transaction coordinator up first: no broker answering, it drops the timeout.
        `^sink "out": commit of \\S+ \\(checkpoint 1\\) failed: (.*timed out|Failed to find group coordinator) ` +
          `\\(brokers ${esc(brokers)} did not answer; requestTimeout 2s, retries 1\\)$`,
      ),
    );
    expect(detectMs, 'one request timeout, not retried').toBeGreaterThanOrEqual(2000);
    expect(outages[0]).toMatchObject({
      dependency: 'kafka',
      component: 'sink "out"',
      target: `brokers ${brokers}`,
      error: expect.stringMatching(
        /^no answer from the brokers for half the requestTimeout 2s \(committing transaction \S+ of checkpoint 1\)$/,
      ),
      bound: 'fails after requestTimeout 2s',
    });
    const said = warnings.filter((w) => w.msg.includes('have not answered'));
    expect(said.length).toBeGreaterThan(0);
    expect(said[0]!.msg).toMatch(
      /\(committing transaction \S+ of checkpoint 1\); still waiting, fails after requestTimeout 2s$/,
    );
    // The restart restores checkpoint 1 and commits its transaction (or finds it committed): once.
    const next = new TransactionalKafkaSink(spec);
    await next.open(ctx(committables));
    await next.close('finished');
    const got = await readTopicWithJava(brokers, topic, 'read_committed');
    expect(got.map((g) => (JSON.parse(g.value) as { id: number }).id)).toEqual([0, 1, 2, 3, 4]);
    report(
      'hung during a transaction commit',
      `warned ${said[0]!.at - t0} ms after the freeze; failed ${detectMs} ms after it: ${failed?.message}`,
    );
  }, 60_000);
});

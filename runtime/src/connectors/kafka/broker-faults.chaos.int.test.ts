// The Kafka broker row of the fault matrix (docs/fault-matrix.md), against the local cluster's
// real broker, through `tributary run` as a user runs it (slots on threads under the local
// supervisor, as the slot pods run them): the broker gone when the job starts, refused (killed)
// or hung (SIGSTOP) while the source looks for its topic, hung while the consumer reads, and the
// topic deleted under a running job with the broker then restarted without it (a broker hung
// while the sink sends: sink-hung.chaos.int.test.ts). Each wait has a short configured bound
// (`brokerUnreachableTimeout`, `topicMissingTimeout`): the run must fail with
// TRIB_CONNECTOR_FAILED naming the source, topic and brokers once the bound passed — not retry
// for ever — print a warning about the trouble (not one line per retry), and leave its output
// exactly as a checkpointed exactly-once run should (Kafka's own Java consumer reads it). The
// measured time-to-detect of each cell goes to stderr for the matrix. The broker is always
// started (and thawed) again. Stopping the broker: never against a cluster other tests share.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTopicWithJava } from '../../../../test/harness/java-topic-reader.ts';
import { clusterPaths } from '../../../../test/cluster/paths.ts';
import {
  kafkaAnswers,
  signalKafkaBroker,
  startKafkaBroker,
  stopKafkaBroker,
} from '../../../../test/cluster/components/kafka.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { createTopics, deleteTopicsContaining, inputProducer, testBrokers } from '../../testing/kafka-topics.ts';
import { exitWithin, logged, matrixReport, stderrOf, tributaryRun, type Run } from '../../testing/tributary-run.ts';

const { Kafka, logLevel } = kafkajs;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const report = matrixReport('kafka');

describe('Kafka broker faults: every wait bounded, visible, and failing with a stable code (tributary run, real broker)', () => {
  const bs = testBrokers();
  const brokers = bs.join(',');
  const run = randomUUID().slice(0, 8);
  const paths = clusterPaths();
  const dir = mkdtempSync(join(tmpdir(), 'trib-kfaults-'));
  let kafka: KafkaClient;
  let brokerDown = false;
  let brokerFrozen = false;

  /** SIGKILL; stopKafkaBroker returns once its port is free (clients are refused). */
  async function killBroker(): Promise<void> {
    brokerDown = true;
    await stopKafkaBroker(paths, 'SIGKILL');
  }

  /** The broker back as it was: thawed, started, answering. */
  async function brokerBack(): Promise<void> {
    if (brokerFrozen) signalKafkaBroker(paths, 'SIGCONT');
    brokerFrozen = false;
    await startKafkaBroker(paths);
    brokerDown = false;
    for (let i = 0; i < 120 && !(await kafkaAnswers()); i++) await sleep(500);
  }

  beforeAll(() => {
    kafka = new Kafka({ clientId: 'tributary-kfaults-it', brokers: bs, logLevel: logLevel.NOTHING });
  });

  afterAll(async () => {
    if (brokerDown || brokerFrozen) await brokerBack();
    await deleteTopicsContaining(kafka, run);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  const source = (topic: string, bounds: { unreachable: string; missing: string }): GraphSpec['sources'][number] => ({
    name: 'in',
    kafka: {
      brokers: bs,
      topic,
      groupId: `it-kfaults-${run}`,
      partitionDiscoveryInterval: '1s',
      brokerUnreachableTimeout: bounds.unreachable,
      topicMissingTimeout: bounds.missing,
      schema: { id: 'double' },
    },
  });

  /** `tributary run` of `graph`: slots on threads, checkpoints every 300 ms, `restarts` restarts. */
  function start(name: string, graph: GraphSpec, restarts = 0): Run {
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(graph));
    return tributaryRun([
      file,
      '--threads',
      '--parallelism',
      '1',
      '--max-restarts',
      String(restarts),
      '--checkpoint-interval',
      '300ms',
      '--state-dir',
      join(dir, `state-${name}`),
      '--no-progress',
    ]);
  }

  const consoleGraph = (topic: string, unreachable: string): GraphSpec => ({
    sources: [source(topic, { unreachable, missing: '10m' })],
    sinks: [{ name: 'out', from: 'in', console: {} }],
  });

  it('gone at start: fails within brokerUnreachableTimeout naming the source, topic and brokers', async () => {
    const topic = `it-kfaults-start-${run}`;
    await killBroker();
    try {
      const t0 = Date.now();
      const r = start('start', consoleGraph(topic, '3s'));
      const code = await exitWithin(r, 60_000);
      expect(code, stderrOf(r)).toBe(1);
      const failed = r.lines.find((l) => l.text.startsWith('error TRIB_CONNECTOR_FAILED: '));
      expect(failed?.text, stderrOf(r)).toMatch(
        new RegExp(
          `^error TRIB_CONNECTOR_FAILED: source "in" \\(slot 0\\): brokers ${brokers} unreachable for \\d+ s ` +
            `looking up topic ${topic} \\(brokerUnreachableTimeout 3s\\): .*ECONNREFUSED`,
        ),
      );
      expect(failed!.at - t0, 'asked again until the bound').toBeGreaterThanOrEqual(3000);
      const warnings = logged(r, /unreachable for \d+ s looking up topic/);
      expect(warnings.length).toBeGreaterThan(0);
      expect(warnings.length).toBeLessThanOrEqual(4);
      report(
        'gone at start',
        `failed ${failed!.at - t0} ms after the run started; ${warnings.length} warning(s): ${failed!.text}`,
      );
    } finally {
      await brokerBack();
    }
  }, 120_000);

  for (const how of ['refused', 'hung'] as const)
    it(`${how} while the source looks for its topic: fails after brokerUnreachableTimeout, warning without a line per retry`, async () => {
      const topic = `it-kfaults-${how}-${run}`;
      const r = start(how, consoleGraph(topic, '4s'));
      try {
        // The source waits for its (missing) topic, checking it with backoff: partition discovery.
        await expect.poll(() => logged(r, /waits for topic/).length, { timeout: 30_000 }).toBeGreaterThan(0);
        const t0 = Date.now();
        if (how === 'refused') await killBroker();
        else {
          brokerFrozen = true;
          signalKafkaBroker(paths, 'SIGSTOP');
        }
        const code = await exitWithin(r, 60_000);
        expect(code, `the run ends by itself (${how} broker)\n${stderrOf(r).slice(-4000)}`).toBe(1);
        const failed = r.lines.find((l) => l.text.startsWith('error TRIB_CONNECTOR_FAILED: '));
        expect(failed?.text).toMatch(
          new RegExp(
            `^error TRIB_CONNECTOR_FAILED: source "in" \\(slot 0\\): brokers ${brokers} unreachable for \\d+ s ` +
              `looking up topic ${topic} \\(brokerUnreachableTimeout 4s\\): ` +
              (how === 'refused' ? `.*ECONNREFUSED ${bs[0]}` : `(no answer from the brokers|.*[Tt]imeout)`),
          ),
        );
        const detectMs = failed!.at - t0;
        expect(detectMs, 'not before the bound').toBeGreaterThanOrEqual(4000);
        // Warned while it lasted, naming topic, brokers and the error — at most every bound/3, not per retry.
        const warnings = logged(r, /unreachable for \d+ s looking up topic/);
        expect(warnings.length).toBeGreaterThan(0);
        expect(warnings.length).toBeLessThanOrEqual(5);
        for (const w of warnings) expect(w.json).toMatchObject({ level: 40, topic, brokers, err: expect.any(String) });
        // kafkajs's own connection errors: the first of each kind only (a repeat within 30 s is debug).
        expect(logged(r, /^Connection error: /).length).toBeLessThanOrEqual(1);
        expect(logged(r, /^Failed to connect to seed broker/).length).toBeLessThanOrEqual(1);
        report(
          `${how} during partition discovery`,
          `failed ${detectMs} ms after the broker went; ${warnings.length} warning(s): ${failed!.text}`,
        );
      } finally {
        r.kill();
        const t1 = Date.now();
        await brokerBack();
        report(
          `${how} during partition discovery`,
          `broker back (answering) ${Date.now() - t1} ms after the restart began`,
        );
      }
    }, 150_000);

  it('hung (SIGSTOP) while the consumer reads: fails after brokerUnreachableTimeout, not after kafkajs request timeouts', async () => {
    const topic = `it-kfaults-hung-reading-${run}`;
    await createTopics(kafka, { [topic]: 1 });
    const r = start('hung-reading', consoleGraph(topic, '4s'));
    try {
      await expect.poll(() => logged(r, /assigned partitions/).length, { timeout: 30_000 }).toBeGreaterThan(0);
      await sleep(1000); // the consumer fetches (an empty topic: long polls)
      const t0 = Date.now();
      brokerFrozen = true;
      signalKafkaBroker(paths, 'SIGSTOP');
      const code = await exitWithin(r, 60_000);
      expect(code, `the run ends by itself\n${stderrOf(r).slice(-4000)}`).toBe(1);
      const failed = r.lines.find((l) => l.text.startsWith('error TRIB_CONNECTOR_FAILED: '));
      expect(failed?.text).toMatch(
        new RegExp(`^error TRIB_CONNECTOR_FAILED: source "in".*brokers ${brokers} unreachable for \\d+ s.*${topic}`),
      );
      const detectMs = failed!.at - t0;
      expect(detectMs, 'not before the bound').toBeGreaterThanOrEqual(4000);
      report('hung while the consumer reads', `failed ${detectMs} ms after the broker froze: ${failed!.text}`);
    } finally {
      r.kill();
      await brokerBack();
    }
  }, 150_000);

  it('topic deleted under a running job, broker restarted without it: fails after topicMissingTimeout, restarts from its checkpoint, fails again; output exactly once', async () => {
    const input = `it-kfaults-deleted-in-${run}`;
    const output = `it-kfaults-deleted-out-${run}`;
    const N = 300;
    await createTopics(kafka, { [input]: 1, [output]: 1 });
    const producer = inputProducer(kafka);
    await producer.connect();
    await producer.send({
      topic: input,
      messages: Array.from({ length: N }, (_, i) => ({ value: JSON.stringify({ id: i }) })),
    });
    await producer.disconnect();
    const graph: GraphSpec = {
      sources: [source(input, { unreachable: '60s', missing: '5s' })],
      sinks: [
        {
          name: 'out',
          from: 'in',
          kafka: { brokers: bs, topic: output, delivery: 'exactly-once', transactionalIdPrefix: `it-kfaults-${run}` },
        },
      ],
    };
    const r = start('deleted', graph, 1);
    try {
      // Every input record committed (read_committed offsets past N: records and commit markers).
      const admin = kafka.admin();
      await admin.connect();
      const ends = async (): Promise<number> =>
        (await admin.fetchTopicOffsets(output)).reduce((n, p) => n + Number(p.high), 0);
      await expect.poll(ends, { timeout: 60_000, interval: 200 }).toBeGreaterThan(N);
      const t0 = Date.now();
      await admin.deleteTopics({ topics: [input] });
      await admin.disconnect();
      // The broker restarts without the topic.
      await killBroker();
      await brokerBack();
      const back = Date.now();
      const code = await exitWithin(r, 90_000);
      expect(code, `the run ends by itself\n${stderrOf(r).slice(-4000)}`).toBe(1);
      const missing = new RegExp(
        `^source "in" \\(slot 0\\): topic ${input} does not exist on brokers ${brokers}: waited \\d+ s \\(topicMissingTimeout 5s\\)`,
      );
      const failures = r.lines.filter((l) => l.text.startsWith('error TRIB_CONNECTOR_FAILED: '));
      expect(failures.length, stderrOf(r).slice(-4000)).toBeGreaterThan(0);
      for (const f of failures) expect(f.text.slice('error TRIB_CONNECTOR_FAILED: '.length)).toMatch(missing);
      // The supervisor restarted it from its latest checkpoint; that attempt waited the bound again.
      const restarted = logged(r, /^job failed; restarting all slots$/);
      expect(restarted.length).toBe(1);
      const restored = logged(r, /^restoring$/);
      expect(restored.length, 'the second attempt restores the latest checkpoint').toBe(1);
      expect(restored[0]!.json!['restoreFrom']).toMatch(/chk-\d+$/);
      expect(stderrOf(r)).toMatch(/error TRIB_JOB_FAILED: .*restart limit 1 reached/);
      const waits = logged(r, /waits for topic/);
      expect(waits.every((w) => w.json!['topic'] === input && w.json!['brokers'] === brokers)).toBe(true);
      report(
        'topic deleted, broker back without it',
        `first failure ${failures[0]!.at - t0} ms after the deletion (${failures[0]!.at - back} ms after the broker was back); ${waits.length} wait warning(s) over 2 attempts: ${failures[0]!.text}`,
      );
      // Kafka's own consumer: every input record once, nothing else.
      const got = await readTopicWithJava(brokers, output, 'read_committed');
      const ids = got.map((g) => (JSON.parse(g.value) as { id: number }).id).sort((a, b) => a - b);
      expect(ids).toEqual(Array.from({ length: N }, (_, i) => i));
    } finally {
      r.kill();
      if (brokerDown) await brokerBack();
    }
  }, 180_000);
  it('topic deleted and created again under a running job: fails with TRIB_SOURCE_POSITION_INVALID, never skips the new log silently; so does its restart', async () => {
    const input = `it-kfaults-recreated-in-${run}`;
    const output = `it-kfaults-recreated-out-${run}`;
    await createTopics(kafka, { [input]: 1, [output]: 1 });
    const send = async (from: number, n: number): Promise<void> => {
      const producer = inputProducer(kafka);
      await producer.connect();
      await producer.send({
        topic: input,
        messages: Array.from({ length: n }, (_, i) => ({ value: JSON.stringify({ id: from + i }) })),
      });
      await producer.disconnect();
    };
    await send(0, 200);
    const graph: GraphSpec = {
      sources: [source(input, { unreachable: '60s', missing: '60s' })],
      sinks: [
        {
          name: 'out',
          from: 'in',
          kafka: {
            brokers: bs,
            topic: output,
            delivery: 'exactly-once',
            transactionalIdPrefix: `it-kfaults-re-${run}`,
          },
        },
      ],
    };
    const r = start('recreated', graph, 1);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const ends = async (): Promise<number> =>
        (await admin.fetchTopicOffsets(output)).reduce((n, p) => n + Number(p.high), 0);
      await expect.poll(ends, { timeout: 60_000, interval: 200 }).toBeGreaterThan(200);
      await admin.deleteTopics({ topics: [input] });
      await expect
        .poll(() => logged(r, /waits for topic/).length, { timeout: 30_000, interval: 200 })
        .toBeGreaterThan(0);
      // A new log of the same name, fed fewer records than the source had read: before, it sat past
      // the new log's end and read nothing; with more records it would have skipped the first 200.
      const t0 = Date.now();
      await expect
        .poll(
          async () =>
            admin.createTopics({ topics: [{ topic: input, numPartitions: 1 }], waitForLeaders: true }).then(
              () => true,
              () => false,
            ),
          { timeout: 30_000, interval: 500 },
        )
        .toBe(true);
      await send(200, 50);
      const code = await exitWithin(r, 90_000);
      expect(code, `the run ends by itself\n${stderrOf(r).slice(-4000)}`).toBe(1);
      const failures = r.lines.filter((l) => l.text.startsWith('error TRIB_SOURCE_POSITION_INVALID: '));
      expect(failures.length, stderrOf(r).slice(-4000)).toBe(2); // the attempt that saw it, and its restart
      expect(failures[0]!.text).toContain(`source "in": topic ${input} was deleted and created again`);
      expect(failures[1]!.text).toMatch(
        new RegExp(
          `partition 0 of topic ${input} ends at offset \\d+, before the position 200 it starts from \\(the restored checkpoint\\)`,
        ),
      );
      expect(stderrOf(r)).toMatch(/error TRIB_JOB_FAILED: .*restart limit 1 reached/);
      report(
        'topic deleted and created again',
        `failed ${failures[0]!.at - t0} ms after the new topic was created: ${failures[0]!.text}`,
      );
      // Kafka's own consumer: the old log's records once; none of the new log's half-read.
      const got = await readTopicWithJava(brokers, output, 'read_committed');
      const ids = got.map((g) => (JSON.parse(g.value) as { id: number }).id).sort((a, b) => a - b);
      expect(ids).toEqual(Array.from({ length: 200 }, (_, i) => i));
    } finally {
      r.kill();
      await admin.disconnect();
    }
  }, 180_000);
});

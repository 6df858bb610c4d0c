// The local cluster's real Kafka broker killed (SIGKILL) while a job runs, then started again:
// a keyed windowed job reads a topic and writes another topic exactly-once, checkpointing. The
// broker dies under it: the job must fail (not hang, not go on as if nothing happened) with an
// error naming the connector and the connection error — the Kafka sink when input still flows
// (a send or a commit meets the dead broker), the Kafka source when the job is idle (nothing to
// send or commit: it fails once its brokers were unreachable for 30 s). The broker
// comes back on its own data; the job is restarted from its latest completed checkpoint (what the
// supervisor and the operator do), on fewer slots, fences the dead run's open transactions and drains the input.
// Its read_committed output must equal a reference run over the same input: nothing lost,
// nothing twice. The broker is always started again, even when the test fails.
import { mkdtemp, rm } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterPaths } from '../../../../test/cluster/paths.ts';
import { signalKafkaBroker, startKafkaBroker, stopKafkaBroker } from '../../../../test/cluster/components/kafka.ts';
import { latestCheckpointPath } from '../../checkpoint/coordinator.ts';
import { TributaryError } from '../../errors.ts';
import { createJobExecutor } from '../../job/job-executor.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { createLogger, silentLogger } from '../../telemetry/logger.ts';
import { CollectingSink, type Emitted } from '../../testing/harness.ts';
import { readTopic } from '../../testing/kafka-reader.ts';
import { createTopics, deleteTopicsContaining, testBrokers } from '../../testing/kafka-topics.ts';
import { validateGraph } from '../validate-graph.ts';

const { Kafka, logLevel } = kafkajs;

const CHUNK = 400;
const BASE = 1_700_000_000_000;
/** KDOWN_DIAG=1: the steps with their times on stderr, and the jobs' logs at info. */
const diag = (m: string): void => {
  if (process.env['KDOWN_DIAG']) process.stderr.write(`${new Date().toISOString()} ${m}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('Kafka broker down mid-job (the real broker killed and started again)', () => {
  const bs = testBrokers();
  const run = randomUUID().slice(0, 8);
  const paths = clusterPaths();
  let kafka: KafkaClient;
  let root: string | undefined;
  let brokerStopped = false;
  let brokerFrozen = false;
  // One scenario's topics and state (set by each test before anything runs).
  let input = '';
  let output = '';
  let stateDir = '';
  /** Ids written so far (a chunk whose send failed may be in the topic or not: the reference reads the topic). */
  let nextId = 0;

  beforeAll(async () => {
    kafka = new Kafka({ clientId: 'tributary-kdown-it', brokers: bs, logLevel: logLevel.NOTHING });
    root = await mkdtemp(join(tmpdir(), 'trib-kdown-'));
  });

  afterAll(async () => {
    // A failed run must not leave the cluster without its broker.
    if (brokerFrozen) signalKafkaBroker(paths, 'SIGCONT');
    if (brokerStopped) await startKafkaBroker(paths);
    await deleteTopicsContaining(kafka, run);
    if (root) await rm(root, { recursive: true, force: true });
  }, 120_000);

  const graph = (bounded: boolean): GraphSpec => ({
    sources: [
      {
        name: 'events',
        // Idle, the source is what notices: within its bound, shorter than the 30 s default to spare CI.
        kafka: {
          brokers: bs,
          topic: input,
          groupId: `it-kdown-${run}`,
          brokerUnreachableTimeout: '5s',
          ...(bounded ? { bounded: 'latest' } : {}),
        },
        timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '500ms' },
      },
    ],
    steps: [
      { name: 'by-k', from: 'events', keyBy: 'k' },
      { name: 'per-2s', from: 'by-k', window: { tumbling: { size: '2s' } } },
      { name: 'totals', from: 'per-2s', aggregate: { n: 'count()', v: 'sum(v)', maxId: 'max(id)' } },
    ],
    sinks: [
      {
        name: 'out',
        from: 'totals',
        kafka: { brokers: bs, topic: output, key: 'k', transactionalIdPrefix: `it-kdown-${run}` },
      },
    ],
  });

  async function start(o: {
    p: number;
    restoreFrom?: string;
    bounded?: boolean;
  }): Promise<{ done: Promise<unknown>; stop(): void }> {
    const job = await createJobExecutor(validateGraph(graph(o.bounded ?? false)), {
      parallelism: o.p,
      maxParallelism: 64,
      logger: process.env['KDOWN_DIAG'] ? createLogger('info') : silentLogger(),
      jobName: 'kdown-it',
      checkpointing: { stateDir, intervalMs: 300, timeoutMs: 30_000, retained: 2 },
      restoreFrom: o.restoreFrom,
    });
    const done = job.run();
    done.catch(() => undefined);
    return { done, stop: () => job.stop() };
  }

  /**
   * Writes chunks of CHUNK records (per key in event-time order) until `more()` says stop or a
   * send fails (the broker is gone); resolves with the number of chunks sent.
   */
  async function writeInput(more: (chunk: number) => boolean): Promise<number> {
    // Its own client with few retries: a send to the dead broker fails within seconds.
    const producer = new Kafka({
      clientId: 'tributary-kdown-writer',
      brokers: bs,
      logLevel: logLevel.NOTHING,
      retry: { retries: 1 },
      connectionTimeout: 1000,
    }).producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    let chunk = 0;
    try {
      for (; more(chunk); chunk++) {
        const messages = Array.from({ length: CHUNK }, () => {
          const i = nextId++;
          const k = `k${i % 40}`;
          return { key: k, value: JSON.stringify({ id: i, k, v: i % 7, ts: BASE + i * 5 }) };
        });
        await producer.send({ topic: input, messages });
        // Paces the input so that it is still flowing when the broker dies.
        await sleep(50);
      }
    } catch {
      // The broker died under the writer: the input ends here until it is back.
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
    return chunk;
  }

  async function reference(): Promise<string[]> {
    const got: Emitted[] = [];
    const job = await createJobExecutor(validateGraph(graph(true)), {
      parallelism: 1,
      logger: silentLogger(),
      sinkWriter: () => new CollectingSink(got),
    });
    await job.run();
    return got.map((e) => JSON.stringify(e.rec)).sort();
  }

  /**
   * Busy: the broker dies while input flows. Idle: the input stopped and every window it closed
   * is committed before the broker dies, so only the source can notice.
   */
  async function brokerDies(idle: boolean): Promise<void> {
    try {
      await brokerDiesOnce(idle);
    } finally {
      // The next scenario needs its broker, whatever this one did.
      if (brokerStopped) {
        await startKafkaBroker(paths);
        brokerStopped = false;
      }
    }
  }

  /**
   * A scenario's topics, the job on 2 slots and its input flowing (until stopWriting()),
   * once it has completed a checkpoint and its sink has written.
   */
  async function startScenario(name: string) {
    input = `it-kdown-in-${name}-${run}`;
    output = `it-kdown-out-${name}-${run}`;
    stateDir = join(root!, name);
    nextId = 0;
    await createTopics(kafka, { [input]: 2, [output]: 2 });
    // Leaders elected is not yet offsets served (the broker may still answer NOT_LEADER for a moment),
    // and a job's source start fails on that; the job under test starts once they are.
    const admin = kafka.admin();
    await admin.connect();
    const offsetsServed = (topic: string) =>
      admin.fetchTopicOffsets(topic).then(
        () => true,
        () => false,
      );
    await expect
      .poll(async () => (await offsetsServed(input)) && (await offsetsServed(output)), { timeout: 30_000 })
      .toBe(true);
    await admin.disconnect();
    diag('topics ready');
    const first = await start({ p: 2 });
    diag('job started');
    let writing = true;
    const firstInput = writeInput(() => writing);
    // The broker dies once the job has completed a checkpoint while input flows...
    await expect.poll(() => latestCheckpointPath(stateDir), { timeout: 60_000, interval: 20 }).toBeDefined();
    // ...and the sink is writing: its transactions hold records (windows close as input flows).
    const outputAdmin = kafka.admin();
    await outputAdmin.connect();
    const outputOffsets = async (): Promise<number> =>
      (await outputAdmin.fetchTopicOffsets(output)).reduce((n, p) => n + Number(p.high), 0);
    await expect.poll(outputOffsets, { timeout: 60_000, interval: 20 }).toBeGreaterThan(0);
    diag('checkpoint completed');
    return { first, firstInput, outputAdmin, outputOffsets, stopWriting: () => (writing = false) };
  }

  async function brokerDiesOnce(idle: boolean): Promise<void> {
    const name = idle ? 'idle' : 'busy';
    const { first, firstInput, outputAdmin, outputOffsets, stopWriting } = await startScenario(name);
    if (idle) {
      stopWriting();
      await firstInput;
      // Settled: the end offsets (commit markers included) stay put over several checkpoints.
      let last = -1;
      for (let now = await outputOffsets(); now !== last; now = await outputOffsets()) {
        last = now;
        await sleep(1500);
      }
      diag(`idle: output end offsets ${last}`);
    }
    await outputAdmin.disconnect();
    brokerStopped = true;
    await stopKafkaBroker(paths, 'SIGKILL');
    const tKill = Date.now();

    diag('broker killed');
    const failure = await first.done.then(
      () => undefined,
      (e: unknown) => e,
    );
    const detectS = ((Date.now() - tKill) / 1000).toFixed(1);
    diag(`job ended: ${String(failure)}`);
    stopWriting();
    const chunksBefore = await firstInput;
    expect(failure, 'the job fails when its broker dies').toBeInstanceOf(TributaryError);
    const err = failure as TributaryError;
    const causes: string[] = [];
    for (let c: unknown = err; c instanceof Error; c = c.cause)
      causes.push(`${(c as { code?: string }).code}: ${c.message}`);
    // Busy, whichever call meets the dead broker first reports it: a send (TRIB_CONNECTOR_FAILED) or
    // the commit of a completed checkpoint's transaction (TRIB_SINK_COMMIT_FAILED), both naming the
    // sink — or, if the job happened to be idle at the kill, its source. Idle, the source.
    const sinkFailed =
      /^sink "out": (transactional send to it-kdown-out-\S+|commit of it-kdown-\S+ \(checkpoint \d+\)) failed: /;
    const sourceFailed = new RegExp(
      `^source "events": kafka consumer failed: brokers ${bs.join(',')} unreachable for \\d+ s: `,
    );
    expect(err.code, causes.join(' <- ')).toMatch(/^(TRIB_CONNECTOR_FAILED|TRIB_SINK_COMMIT_FAILED)$/);
    if (idle) expect(err.message, 'the error names the Kafka source and its brokers').toMatch(sourceFailed);
    else
      expect(err.message, 'the error names the Kafka connector and what failed').toSatisfy(
        (m: string) => sinkFailed.test(m) || sourceFailed.test(m),
      );
    // Refused once it is gone; reset when a request was on the wire as it died (a busy sink); or,
    // when the send was looking up its transaction coordinator as the broker died, kafkajs's
    // "Failed to find group coordinator" (the only broker is the coordinator: seen once in CI).
    expect(causes.join(' <- '), 'the cause is the broker gone').toMatch(
      idle
        ? new RegExp(`ECONNREFUSED ${bs[0]}`)
        : new RegExp(`ECONNREFUSED ${bs[0]}|read ECONNRESET|Closed connection|Failed to find group coordinator`),
    );

    await startKafkaBroker(paths);
    const tBack = Date.now();
    brokerStopped = false;
    diag('broker back');
    // More input once the broker is back; the restarted job reads it too.
    await writeInput((c) => c < 10);

    const restoreFrom = await latestCheckpointPath(stateDir);
    expect(restoreFrom, 'a checkpoint completed before the broker died').toBeDefined();
    diag(`restoring ${restoreFrom}`);
    // On one slot (as after losing a node): it must fence the transactions both dead slots left open,
    // not only reuse its own ids, or their records block read_committed readers until they time out.
    const second = await start({ p: 1, restoreFrom, bounded: true });
    expect(((await second.done) as { state: string }).state).toBe('FINISHED');
    const recoverS = ((Date.now() - tBack) / 1000).toFixed(1);

    diag('restored run finished');
    await expectReference(
      `kafka broker down (${name}): failed ${detectS} s after the kill; restored run finished ${recoverS} s after the broker was back; ${chunksBefore} chunks of ${CHUNK} written before the kill, ${nextId} records in all; failure: ${causes.join(' <- ')}`,
    );
  }

  /** Kafka's read_committed output equals a reference run over the whole input topic. */
  async function expectReference(what: string): Promise<void> {
    const ref = await reference();
    expect(ref.length).toBeGreaterThan(100);
    const got = (await readTopic(kafka, output, { expected: ref.length, timeoutMs: 30_000, settleMs: 2000 }))
      .map((r) => r.value)
      .sort();
    process.stderr.write(`${what}; ${got.length} committed windows, reference ${ref.length}\n`);
    expect(got.length).toBe(ref.length);
    expect(got).toEqual(ref);
  }

  it(
    'input flowing: fails naming the Kafka sink, then restarts from its checkpoint: read_committed output equals the reference',
    () => brokerDies(false),
    120_000,
  );

  // A pause shorter than the broker's session with its controller (broker.session.timeout.ms, 9 s): a
  // longer one fences the broker, whose coordinators then reload and may refuse a commit for a moment
  // (GROUP_LOAD_IN_PROGRESS): the job then fails and restarts from its checkpoint, as when it is killed.
  it('hung (SIGSTOP) for 6 s while input flows and transactions commit, then thawed: rides it out without failing; read_committed output equals the reference', async () => {
    const { first, firstInput, outputAdmin, stopWriting } = await startScenario('frozen');
    await outputAdmin.disconnect();
    let ended: unknown = 'running';
    first.done.then(
      (r) => (ended = r),
      (e: unknown) => (ended = e),
    );
    brokerFrozen = true;
    signalKafkaBroker(paths, 'SIGSTOP');
    const t0 = Date.now();
    try {
      await sleep(6_000); // under the bounds (30 s), kafkajs's request timeout (30 s) and the broker's session
    } finally {
      signalKafkaBroker(paths, 'SIGCONT');
      brokerFrozen = false;
    }
    diag('broker thawed');
    await sleep(5_000); // requests held by the freeze complete; the input flows again
    stopWriting();
    const chunks = await firstInput;
    expect(ended, 'the job rode the freeze out').toBe('running');
    const before = await latestCheckpointPath(stateDir);
    // It checkpoints (and commits) again.
    await expect.poll(() => latestCheckpointPath(stateDir), { timeout: 30_000, interval: 100 }).not.toBe(before);
    first.stop();
    expect(((await first.done) as { state: string }).state).toBe('STOPPED');
    // The rest of the input, and the windows still open, through a bounded run from its checkpoint.
    const second = await start({ p: 1, restoreFrom: await latestCheckpointPath(stateDir), bounded: true });
    expect(((await second.done) as { state: string }).state).toBe('FINISHED');
    await expectReference(
      `kafka broker frozen 6 s (${Date.now() - t0} ms from the freeze to the verdict): ${chunks} chunks of ${CHUNK}, ${nextId} records`,
    );
  }, 150_000);

  it(
    'idle (nothing to send or commit): fails naming the Kafka source and its brokers, then restarts from its checkpoint: output equals the reference',
    () => brokerDies(true),
    180_000,
  );
});

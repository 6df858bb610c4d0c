// A slot process links with a running job's slot processes (live rescale, scale out, the links:
// join-link.ts), against the real broker: two SlotProcess instances in this test process,
// linked by real DataPlanes on loopback, run Kafka → keyBy → rolling count → exactly-once Kafka,
// checkpointing every 100 ms, while the input is written. The running slots are told of
// generation 1 (parallelism 3); a process of the wrong generation and one of another job are
// refused by name; slot 2 of generation 1 links both ways with both, then leaves with BYE. The job
// runs on, checkpoints complete, and Kafka's Java read_committed consumer reads exactly the
// reference (0 missing, 0 duplicated).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { deliveryDiff, readTopicWithJava } from '../../../test/harness/java-topic-reader.ts';
import { readMetadata } from '../checkpoint/metadata.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { createLogger, silentLogger } from '../telemetry/logger.ts';
import { kafkaTestRun } from '../testing/kafka-test-run.ts';
import { createTopics, inputProducer } from '../testing/kafka-topics.ts';
import type { JobExecutor } from '../job/job-executor.ts';
import { SlotProcess, type SlotProcessOptions } from './slot-process.ts';

const P = 2;
const PARTITIONS = 4;
const MAXP = 128;
const KEYS = 40;
const CHUNKS = 30;
const PER_CHUNK = 200;
const RECORDS = CHUNKS * PER_CHUNK;
const TAIL = 5;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('a slot process joins a running job: the links (data plane, real Kafka)', () => {
  const { run, bs, kafka } = kafkaTestRun('tributary-xjoin-it');
  const dirs: string[] = [];
  /** Runs still going when a test failed: stopped before their state dirs are removed. */
  const live: [SlotProcess, Promise<unknown>][] = [];
  afterAll(async () => {
    for (const [s] of live) s.stop();
    await Promise.allSettled(live.map(([, r]) => r));
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  const graph = (input: string, output: string): GraphSpec => ({
    sources: [{ name: 'events', kafka: { brokers: bs, topic: input, groupId: `it-xjoin-${input}` } }],
    steps: [
      { name: 'byKey', from: 'events', keyBy: 'k' },
      { name: 'running', from: 'byKey', aggregate: { n: 'count()', maxId: 'max(id)' } },
    ],
    sinks: [
      {
        name: 'out',
        from: 'running',
        kafka: { brokers: bs, topic: output, key: 'k', transactionalIdPrefix: `it-xjoin-${output}` },
      },
    ],
  });

  /** The chunks 100 ms apart; `half` once half of them are written; the last TAIL once `tail` resolves. */
  async function writeInput(k: KafkaClient, topic: string, half: () => void, tail: Promise<void>): Promise<void> {
    const producer = inputProducer(k);
    await producer.connect();
    for (let c = 0; c < CHUNKS; c++) {
      if (c === CHUNKS / 2) half();
      if (c === CHUNKS - TAIL) await tail;
      const messages = Array.from({ length: PER_CHUNK }, (_, j) => {
        const id = c * PER_CHUNK + j;
        return { key: `k${id % KEYS}`, value: JSON.stringify({ id, k: `k${id % KEYS}` }) };
      });
      await producer.send({ topic, messages });
      await sleep(100);
    }
    await producer.disconnect();
  }

  function reference(): string[] {
    const seen = new Map<string, number>();
    const out: string[] = [];
    for (let id = 0; id < RECORDS; id++) {
      const k = `k${id % KEYS}`;
      const n = (seen.get(k) ?? 0) + 1;
      seen.set(k, n);
      out.push(`${k}:${n}:${id}`);
    }
    return out;
  }

  it('slot 2 of generation 1 links with both running slots; wrong generation and job refused by name', async () => {
    const input = `it-xjoin-in-${run}`;
    const output = `it-xjoin-out-${run}`;
    await createTopics(kafka, { [input]: PARTITIONS, [output]: 2 });
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-xjoin-'));
    dirs.push(stateDir);
    let halfWritten!: () => void;
    const half = new Promise<void>((r) => (halfWritten = r));
    let tail!: () => void;
    const held = new Promise<void>((r) => (tail = r));
    let written = false;
    const all = writeInput(kafka, input, halfWritten, held).then(() => (written = true));

    const logger = process.env['LIVE_DIAG'] ? createLogger('warn') : silentLogger();
    const base = (slot: number, parallelism: number, spec: GraphSpec): SlotProcessOptions => ({
      jobName: 'xjoin-it',
      graph: validateGraph(spec),
      slot,
      parallelism,
      maxParallelism: MAXP,
      deploymentId: `dep-${run}`,
      secret: 'secret-of-the-xjoin-test',
      host: '127.0.0.1',
      dataPort: 0,
      discover: () => known,
      logger,
    });
    let release!: (addresses: string[]) => void;
    const known = new Promise<string[]>((r) => (release = r));
    const slots = [...Array(P).keys()].map(
      (slot) =>
        new SlotProcess({
          ...base(slot, P, graph(input, output)),
          checkpointing: { stateDir, intervalMs: 100, timeoutMs: 30_000, retained: 10_000 },
          job: { batchSize: 64 },
        }),
    );
    for (const s of slots) await s.listen();
    const runs = slots.map((s) => s.run());
    for (const r of runs) r.catch(() => undefined);
    slots.forEach((s, i) => live.push([s, runs[i] as Promise<unknown>]));
    release(slots.map((s) => s.address));
    await expect.poll(() => slots.every((s) => s.jobState === 'RUNNING'), { timeout: 60_000 }).toBe(true);
    const job = slots[0]?.executor as JobExecutor;
    await half;

    // Told of generation 1 (parallelism 3) first; the job hash of generation 1 is the job's at 3.
    for (const s of slots) s.prepareJoin(1, 3);
    const joiner = (generation: number, spec: GraphSpec): SlotProcess =>
      new SlotProcess({ ...base(2, 3, spec), join: { generation }, connectTimeoutMs: 1500 });
    const refusal = async (j: SlotProcess): Promise<string> => {
      try {
        await j.link();
        return 'linked';
      } catch (e) {
        return `${(e as { code?: string }).code}: ${(e as Error).message}`;
      } finally {
        await j.dataPlane.destroy();
      }
    };
    expect(await refusal(joiner(2, graph(input, output)))).toMatch(
      /^TRIB_PEER_TIMEOUT: .*refused the connection \(generation\): peer generation 2 is not prepared/,
    );
    expect(await refusal(joiner(1, graph(input, `${output}-other`)))).toMatch(
      /^TRIB_PEER_TIMEOUT: .*refused the connection \(job\): peer job "[0-9a-f]+" is not this slot's/,
    );

    const joined = joiner(1, graph(input, output));
    await joined.listen();
    await Promise.all([joined.link(), ...slots.map((s) => s.addPeer(2, joined.address, 10_000))]);
    expect(joined.dataPlane.connected).toBe(true);
    for (const s of slots) expect([s.dataPlane.outbound.has(2), s.dataPlane.inbound.has(2)]).toEqual([true, true]);
    // Control frames cross the new links both ways.
    const got: [number, unknown][] = [];
    joined.dataPlane.setControlHandler((from, msg) => got.push([from, msg]));
    for (const s of slots) expect(s.dataPlane.sendControl(2, { m: 'probe', from: s.opts.slot })).toBe(true);
    await expect.poll(() => got.length, { timeout: 5000 }).toBe(2);
    expect(written, 'linked while the input is still written').toBe(false);
    // Checkpoints go on with the two running slots as members.
    await job.triggerCheckpoint();
    tail();

    // It leaves with BYE: no link fails, the job runs on.
    await Promise.all(slots.map((s) => s.removePeer(2)));
    await joined.dataPlane.close();
    await all;
    await expect
      .poll(
        async () => {
          const m = await readMetadata((await job.triggerCheckpoint()).path);
          let sum = 0n;
          for (const s of m.sources['events'] ?? [])
            for (const o of Object.values((s.position as { offsets: Record<string, string> }).offsets))
              sum += BigInt(o);
          return Number(sum);
        },
        { timeout: 90_000, interval: 200 },
      )
      .toBe(RECORDS);
    await job.triggerSavepoint({ stop: true });
    for (const r of runs) expect((await r).state).toBe('STOPPED');

    const out = (await readTopicWithJava(bs.join(','), output, 'read_committed')).map((r) => {
      const v = JSON.parse(r.value) as { k: string; n: number; maxId: number };
      return `${v.k}:${v.n}:${v.maxId}`;
    });
    const { missing, duplicated, unexpected } = deliveryDiff(reference(), out);
    expect({ missing: missing.length, duplicated: duplicated.length, unexpected: unexpected.length }).toEqual({
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
  }, 180_000);
});

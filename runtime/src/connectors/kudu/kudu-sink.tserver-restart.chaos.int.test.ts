// The kudu sink while a tablet server of the real Kudu (the local cluster's three, tables
// replicated three ways) crashes and comes back, with the real Kafka: a job upserts a topic's
// records by key into a table, one batch of 20 rows in flight at a time, and runs through
//   1. the tablet server leading most of the table's tablets SIGKILLed between two inputs: the
//      next writes go to the dead leader the client has cached (connection refused), the client
//      finds the new leaders the surviving replicas elect;
//   2. that server started again while writes go on (its replicas catch up as followers);
//   3. the server leading most tablets then SIGKILLed in the middle of a long run of writes
//      (the table already has some of them, not all), and started again;
//   4. the server leading most tablets then stopped cleanly (SIGTERM) while writes go on, and
//      started again.
// The job must ride it out by retrying (it never fails or restarts), and after every step the
// table must equal the reference exactly: each key's last value, so a write lost, repeated out of
// order or applied twice with another value would show. The test's own scans run while a leader
// is down too (a scan's opening is retried at the new leader).
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterPaths } from '../../../../test/cluster/paths.ts';
import { startKuduTserver, stopKuduTserver } from '../../../../test/cluster/components/kudu.ts';
import { JobExecutor } from '../../job/job-executor.ts';
import type { JobResult } from '../../exec/job-status.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { createTopics, deleteTopicsContaining, testBrokers } from '../../testing/kafka-topics.ts';
import { testKuduMasters, testKuduTservers } from '../../testing/kudu-masters.ts';
import { validateGraph } from '../validate-graph.ts';
import { ConnectionPool, parseHostPort } from './client/connection-pool.ts';
import { KuduClient } from './client/kudu-client.ts';
import { MasterClient } from './client/master-client.ts';
import { deadline } from './client/retry.ts';
import type { KuduTable } from './client/table-metadata.ts';
import { TabletLocations } from './client/tablet-locations.ts';

const { Kafka, logLevel } = kafkajs;
const KEYS = 600;

describe('kudu sink while a tablet server crashes and restarts (real Kafka, real Kudu)', () => {
  const run = randomUUID().slice(0, 8);
  const topic = `it-kudu-ts-${run}`;
  const tableName = `it_kudu_tserver_${run}`;
  const paths = clusterPaths();
  const tservers = testKuduTservers();
  const kudu = new KuduClient({ masters: [testKuduMasters()] });
  // Its own client for locations: the sink's cache must go stale on its own.
  const pool = new ConnectionPool({ user: 'tributary-test', connectTimeoutMs: 5_000 });
  const locations = new TabletLocations(
    new MasterClient(
      testKuduMasters()
        .split(',')
        .map((m) => parseHostPort(m, 7051)),
      pool,
    ),
  );
  let kafka: KafkaClient;
  let producer: Producer;
  let table: KuduTable;
  /** Every value produced so far, in order: the reference is each key's last one. */
  let produced = 0;
  const stopped = new Set<number>();

  beforeAll(async () => {
    expect(tservers.length, 'the local cluster runs three tablet servers').toBe(3);
    kafka = new Kafka({ clientId: 'tributary-kudu-ts-it', brokers: testBrokers(), logLevel: logLevel.NOTHING });
    await createTopics(kafka, { [topic]: 1 });
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    table = await kudu.createTable({
      name: tableName,
      columns: [
        { name: 'id', type: 'int64', key: true },
        { name: 'v', type: 'int64' },
      ],
      hashPartitions: [{ columns: ['id'], buckets: 6 }],
      replicas: 3,
    });
  }, 120_000);

  afterAll(async () => {
    // A failed run must not leave the cluster with a tablet server down.
    for (const i of stopped) await startKuduTserver(paths, i);
    await producer?.disconnect();
    if (kafka) await deleteTopicsContaining(kafka, run);
    await kudu.deleteTable(tableName).catch(() => undefined);
    await kudu.close();
    await pool.closeAll();
  }, 180_000);

  async function produce(n: number): Promise<void> {
    for (let start = 0; start < n; start += 2000) {
      const messages = Array.from({ length: Math.min(2000, n - start) }, (_, j) => {
        const v = produced + start + j;
        return { value: JSON.stringify({ id: v % KEYS, v }) };
      });
      await producer.send({ topic, messages });
    }
    produced += n;
  }

  /** id → v as the table holds it. */
  async function tableContents(): Promise<Map<number, number>> {
    const m = new Map<number, number>();
    for await (const rows of kudu.scan(table)) for (const r of rows) m.set(Number(r['id']), Number(r['v']));
    return m;
  }

  /** id → each key's last value among the records produced so far. */
  function reference(): Map<number, number> {
    const m = new Map<number, number>();
    for (let v = Math.max(0, produced - KEYS); v < produced; v++) m.set(v % KEYS, v);
    return m;
  }

  /**
   * Scans the table until `done(contents)` holds; fails if the job ends first (it must retry, not
   * fail) or after `timeoutMs`.
   */
  async function waitForTable(
    job: Promise<JobResult>,
    what: string,
    done: (contents: Map<number, number>) => boolean,
    timeoutMs = 60_000,
  ): Promise<Map<number, number>> {
    let ended: unknown;
    job.then(
      () => (ended = 'finished'),
      (e: unknown) => (ended = e),
    );
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (ended !== undefined) throw new Error(`the job ended while waiting for ${what}: ${String(ended)}`);
      const contents = await tableContents();
      if (done(contents)) return contents;
      if (Date.now() > until) throw new Error(`no ${what} after ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const sorted = (m: Map<number, number>): [number, number][] => [...m].sort((a, b) => a[0] - b[0]);
  const equalsReference = (m: Map<number, number>): boolean =>
    JSON.stringify(sorted(m)) === JSON.stringify(sorted(reference()));

  /** Resolves when the table equals the reference (each key's last value so far). */
  async function tableCatchesUp(job: Promise<JobResult>, after: string): Promise<void> {
    await waitForTable(job, `the reference in the table after ${after}`, equalsReference);
  }

  /** The tablet server leading most of the table's tablets now, and how many it leads. */
  async function busiestLeader(): Promise<{ index: number; leads: number }> {
    locations.invalidate(table.id);
    const tablets = await locations.all(tableName, table.id, deadline(30_000, 'locating tablets'));
    const leads = tservers.map(
      (address) => tablets.filter((t) => t.leader && `${t.leader.host}:${t.leader.port}` === address).length,
    );
    const index = leads.indexOf(Math.max(...leads));
    return { index, leads: leads[index]! };
  }

  async function crash(i: number, signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    stopped.add(i);
    await stopKuduTserver(paths, i, signal);
  }

  async function restart(i: number): Promise<void> {
    await startKuduTserver(paths, i);
    stopped.delete(i);
  }

  it('retries through a leader crash, a restart, a crash mid-write and a clean stop: the table equals the reference', async () => {
    const g: GraphSpec = {
      sources: [{ name: 'in', kafka: { brokers: testBrokers(), topic, groupId: `it-kudu-ts-${run}` } }],
      sinks: [
        {
          name: 'out',
          from: 'in',
          kudu: { masters: testKuduMasters(), table: tableName, batchSize: 20, timeout: '60s' },
        },
      ],
    };
    // One slot and one partition: the records of a key reach the sink in order.
    const job = new JobExecutor(validateGraph(g), {
      parallelism: 1,
      logger: silentLogger(),
      jobName: `kudu-ts-${run}`,
    });
    const done = job.run();
    done.catch(() => undefined);

    const secondsSince = (t: number) => ((Date.now() - t) / 1000).toFixed(1);
    let t = Date.now();
    await produce(3000);
    await tableCatchesUp(done, 'the first input');
    const healthyS = secondsSince(t);

    // 1. The busiest leader crashes between inputs; the sink's next writes meet its corpse.
    const first = await busiestLeader();
    expect(first.leads, 'some tablet server leads a tablet').toBeGreaterThan(0);
    await crash(first.index);
    t = Date.now();
    await produce(3000);
    await tableCatchesUp(done, `tablet server ${first.index} crashed`);
    const afterCrashS = secondsSince(t);
    expect((await busiestLeader()).index, 'leadership moved off the crashed server').not.toBe(first.index);

    // 2. It comes back while the next input is written.
    await produce(3000);
    await restart(first.index);
    await tableCatchesUp(done, `tablet server ${first.index} restarted`);

    // 3. A crash in the middle of a long run of writes: 20,000 records, a thousand batches.
    const second = await busiestLeader();
    const writtenBefore = produced;
    await produce(20_000);
    const midway = await waitForTable(done, 'rows of the long input', (m) =>
      [...m.values()].some((v) => v >= writtenBefore),
    );
    await crash(second.index);
    t = Date.now();
    const want = reference();
    const finalMidway = [...want].filter(([id, v]) => midway.get(id) === v).length;
    expect(finalMidway, 'the crash came before the sink had written the whole input').toBeLessThan(KEYS);
    await tableCatchesUp(done, `tablet server ${second.index} crashed mid-write`);
    const midwayS = secondsSince(t);
    await restart(second.index);
    await tableCatchesUp(done, `tablet server ${second.index} restarted`);

    // 4. A clean stop (SIGTERM) of the busiest leader while an input is written, then a start.
    const third = await busiestLeader();
    await produce(5000);
    await crash(third.index, 'SIGTERM');
    await tableCatchesUp(done, `tablet server ${third.index} stopped`);
    await restart(third.index);
    await tableCatchesUp(done, `tablet server ${third.index} started again`);

    job.stop();
    const result = await done;
    process.stderr.write(
      `kudu tablet server restarts: crashed ${first.index} (leading ${first.leads} of 6 tablets) between inputs, ` +
        `${second.index} (leading ${second.leads}) with ${finalMidway} of ${KEYS} keys at their final value, ` +
        `stopped ${third.index} (leading ${third.leads}); ` +
        `3,000 records written and in the table in ${healthyS} s healthy, ${afterCrashS} s just after a crash; ` +
        `the table caught up ${midwayS} s after the crash mid-write; ` +
        `${result.recordsIn} records in ${(result.durationMs / 1000).toFixed(1)} s, no failure\n`,
    );
    expect(result.recordsIn).toBe(produced);
    expect(sorted(await tableContents())).toEqual(sorted(reference()));
  }, 300_000);
});

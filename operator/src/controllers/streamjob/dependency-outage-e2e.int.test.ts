// The operator's side of the fault matrix (docs/fault-matrix.md), with the REAL runtime, the
// real apiserver, node agent and broker (controller in-process): the broker killed under a
// running StreamJob. While the slots ride it out within brokerUnreachableTimeout, the StreamJob
// must say which dependency is down, for which component, where, and why
// (DependencyUnavailable True, reason KafkaUnavailable, a Warning Event), not just Ready=False;
// once the broker is back it must clear by itself (False, Available, a Normal Event) and the
// job must go on with nothing lost or duplicated (Kafka's own Java consumer, read_committed).
// Then the lookup rows: a second job enriches its records from a kudu and a druid lookup table
// (refreshed every second, bounds that outlast the outages); the Kudu master is killed, then the
// Druid router stopped: each must be named while it lasts (KuduUnavailable, DruidUnavailable:
// the slots, the lookup, where, since, the error, the bound; a Warning Event) and clear once it
// is back (Available, a Normal Event), every record read once and enriched from both tables.
// Both share one harness (one operator, one namespace) to keep the file's cost down.
// The measured time-to-detect and time-to-recover go to stderr for the matrix.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Resources } from '../../kube/index.ts';
import { waitFor } from '../../kube/testing/cluster.ts';
import type { StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { clusterPaths } from '../../../../test/cluster/paths.ts';
import { startKafkaBroker, stopKafkaBroker } from '../../../../test/cluster/components/kafka.ts';
import { startKuduMaster, stopKuduMaster } from '../../../../test/cluster/components/kudu.ts';
import { startDruidService, stopDruidService } from '../../../../test/cluster/components/druid.ts';
import { readTopicWithJava } from '../../../../test/harness/java-topic-reader.ts';
import { KuduClient } from '../../../../runtime/src/connectors/kudu/client/kudu-client.ts';
import { testKuduMasters } from '../../../../runtime/src/testing/kudu-masters.ts';
import { testDruidUrl } from '../../../../runtime/src/testing/druid-dataset.ts';
import { getJob, harnessPerFile, inputProducer, readOutput } from './testing/kafka-job-harness.ts';

const cond = (j: StreamJob, type: string) => j.status?.conditions?.find((c) => c.type === type);
const report = (m: string): void => void process.stderr.write(`kafka fault matrix (operator): ${m}\n`);
const reportLookup = (m: string): void => void process.stderr.write(`lookup fault matrix (operator): ${m}\n`);
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const TITLES: Record<string, string> = { a: 'Anvil', b: 'Bolt', c: 'Clamp' };
const NAMES: Record<string, string> = { de: 'Germany', fr: 'France' };
const N = 200;

describe('a StreamJob whose broker goes away names it in its status, and recovers by itself (real runtime)', () => {
  const harness = harnessPerFile(
    'sjd',
    { in: 2, out: 1, lin: 2, lout: 1 },
    { cadence: { operationMs: 1_000, runningMs: 2_000, orphanSweepMs: 600_000 } },
  );
  const paths = clusterPaths();
  const masters = testKuduMasters();
  const druidUrl = testDruidUrl();
  const kudu = new KuduClient({ masters: masters.split(','), operationTimeoutMs: 30_000 });
  const table = `it_sj_lookup_${randomUUID().slice(0, 8)}`;
  let brokerDown = false;
  let kuduDown = false;
  let routerDown = false;
  afterAll(async () => {
    if (brokerDown) await startKafkaBroker(paths);
    if (kuduDown) await startKuduMaster(paths);
    if (routerDown) await startDruidService(paths, 'router');
    await kudu.deleteTable(table).catch(() => undefined);
    await kudu.close();
  }, 120_000);

  it('DependencyUnavailable True naming Kafka while the broker is gone, False once back; exactly-once output', async () => {
    const h = harness();
    const { kube, ns, kafka, brokers, id } = h;
    const [input, output] = [h.topics.in!, h.topics.out!];
    const name = 'outage';
    await h.createJob(name, {
      checkpointing: { interval: '1s', retained: 2 },
      graph: {
        sources: [
          {
            name: 'clicks',
            kafka: {
              brokers,
              topic: input,
              groupId: `g-${id}`,
              startFrom: 'earliest',
              // The default discovery period (30 s): the consumer's own crashes report the outage.
              // The bound outlasts the outage.
              brokerUnreachableTimeout: '2m',
              schema: { id: 'double' },
            },
          },
        ],
        sinks: [{ name: 'out', from: 'clicks', kafka: { brokers, topic: output, brokerUnreachableTimeout: '2m' } }],
      },
    });
    const send = async (from: number, n: number) => {
      const producer = inputProducer(kafka);
      await producer.connect();
      await producer.send({
        topic: input,
        messages: Array.from({ length: n }, (_, i) => ({ value: JSON.stringify({ id: from + i }) })),
      });
      await producer.disconnect();
    };
    const job = () => getJob(kube, ns, name);
    await waitFor('Ready', async () => cond(await job(), 'Ready')?.status === 'True', 120_000, 250);
    await send(0, 100);
    const available = await waitFor(
      'DependencyUnavailable False',
      async () => {
        const j = await job();
        return cond(j, 'DependencyUnavailable')?.status === 'False' ? j : undefined;
      },
      60_000,
      250,
    );
    expect(cond(available, 'DependencyUnavailable')).toMatchObject({ reason: 'Available' });

    brokerDown = true;
    await stopKafkaBroker(paths, 'SIGKILL'); // returns once its port is free: clients are refused
    const downAt = Date.now();
    const down = await waitFor(
      'DependencyUnavailable True',
      async () => {
        const j = await job();
        return cond(j, 'DependencyUnavailable')?.status === 'True' ? j : undefined;
      },
      60_000,
      250,
    );
    const detectS = (Date.now() - downAt) / 1000;
    const c = cond(down, 'DependencyUnavailable')!;
    expect(c.reason).toBe('KafkaUnavailable');
    // The source (its consumer, its topic checks) or the exactly-once sink (its send fails after
    // kafkajs's retries; the restarted sink waits for the brokers while it recovers) names it first.
    expect(c.message).toMatch(/^kafka unavailable to (source "clicks"|sink "out") \(slots? [0-9,]+\)/);
    expect(c.message).toContain(`at brokers ${brokers}`);
    expect(c.message).toMatch(/ECONNREFUSED|Connection error/);
    expect(c.message).toContain('fails after brokerUnreachableTimeout 2m');
    const events = async () =>
      (await kube.list<{ reason: string; message: string; type?: string; metadata?: object }>(Resources.Event, ns))
        .items;
    await waitFor(
      'a DependencyUnavailable Warning Event',
      async () => (await events()).some((e) => e.reason === 'DependencyUnavailable' && e.type === 'Warning'),
      30_000,
      250,
    );

    await new Promise((r) => setTimeout(r, 5_000)); // the outage lasts: still said, nothing failed for it
    expect(cond(await job(), 'DependencyUnavailable')?.status).toBe('True');

    const startAt = Date.now();
    await startKafkaBroker(paths);
    brokerDown = false;
    const answersS = (Date.now() - startAt) / 1000;
    const backAt = startAt;
    const back = await waitFor(
      'DependencyUnavailable False again',
      async () => {
        const j = await job();
        return cond(j, 'DependencyUnavailable')?.status === 'False' ? j : undefined;
      },
      120_000,
      250,
    );
    const recoverS = (Date.now() - backAt) / 1000;
    expect(cond(back, 'DependencyUnavailable')?.reason).toBe('Available');
    const cleared = (await events()).find((e) => e.reason === 'DependencyAvailable');
    expect(cleared?.type).toBe('Normal');
    expect(cleared?.message).toContain('kafka unavailable to');

    await send(100, 100);
    const reader = await readOutput<{ id: number }>(kafka, output, `sjd-reader-${id}`);
    await waitFor('200 output records', () => reader.arrivals.length >= 200, 120_000, 250).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}; got ${reader.arrivals.length}`);
    });
    await reader.close();
    // The verdict: Kafka's own consumer, read_committed, up to the log end now.
    const java = (await readTopicWithJava(brokers, output, 'read_committed')).map(
      (r) => (JSON.parse(r.value) as { id: number }).id,
    );
    expect(java.sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    const restarts = (await job()).status?.restarts ?? 0;
    report(
      `broker killed under a running StreamJob: DependencyUnavailable True after ${detectS.toFixed(1)} s ` +
        `(running requeue 2 s); False ${recoverS.toFixed(1)} s after the broker's start ` +
        `(it answered metadata and coordinators after ${answersS.toFixed(1)} s); ` +
        `restarts ${restarts}; 200/200 records exactly once`,
    );
  }, 420_000);

  it('DependencyUnavailable names Kudu, then Druid, while each is down, clears after each; every record enriched once', async () => {
    const h = harness();
    const { kube, ns, kafka, brokers, id } = h;
    const [input, output] = [h.topics.lin!, h.topics.lout!];
    const t = await kudu.createTable({
      name: table,
      columns: [
        { name: 'sku', type: 'string', key: true },
        { name: 'title', type: 'string' },
      ],
      hashPartitions: [{ columns: ['sku'], buckets: 2 }],
      replicas: 1,
    });
    await kudu.upsert(
      t,
      Object.entries(TITLES).map(([sku, title]) => ({ sku, title })),
    );
    const values = Object.entries(NAMES)
      .map(([c, n]) => `('${c}', '${n}')`)
      .join(', ');
    const name = 'lookups';
    await h.createJob(name, {
      checkpointing: { interval: '1s', retained: 2 },
      graph: {
        sources: [
          {
            name: 'clicks',
            kafka: { brokers, topic: input, groupId: `g-${id}`, schema: { id: 'double', cc: 'string', sku: 'string' } },
          },
          // Refreshed every second, so an outage is noticed at the next refresh; the bounds outlast the
          // outages. A kudu load's master calls retry a refused master for up to a third of `timeout`:
          // a short one (15 s) makes that wait short too.
          { name: 'items', kudu: { masters, table, mode: 'copy', refresh: '1s', timeout: '15s' } },
          {
            name: 'countries',
            druid: {
              url: druidUrl,
              query: `SELECT * FROM (VALUES ${values}) AS t(code, name)`,
              refresh: '1s',
              timeout: '5s',
              unavailableTimeout: '2m',
            },
          },
        ],
        steps: [
          { name: 'titled', from: 'clicks', lookup: { table: 'items', key: 'sku', column: 'sku', fields: ['title'] } },
          {
            name: 'named',
            from: 'titled',
            lookup: { table: 'countries', key: 'cc', column: 'code', fields: ['name'] },
          },
        ],
        sinks: [{ name: 'out', from: 'named', kafka: { brokers, topic: output } }],
      },
    });
    const send = async (from: number, n: number) => {
      const producer = inputProducer(kafka);
      await producer.connect();
      await producer.send({
        topic: input,
        messages: Array.from({ length: n }, (_, i) => {
          const k = from + i;
          return { value: JSON.stringify({ id: k, cc: k % 2 ? 'fr' : 'de', sku: 'abc'[k % 3] }) };
        }),
      });
      await producer.disconnect();
    };
    const job = () => getJob(kube, ns, name);
    const depStatus = (status: 'True' | 'False', what: string) =>
      waitFor(
        what,
        async () => {
          const j = await job();
          return cond(j, 'DependencyUnavailable')?.status === status ? j : undefined;
        },
        90_000,
        250,
      );
    const events = async () =>
      (await kube.list<{ reason: string; message: string; type?: string; metadata?: object }>(Resources.Event, ns))
        .items;
    const event = (reason: string, text: string) =>
      waitFor(
        `a ${reason} Event naming ${text}`,
        async () => (await events()).find((e) => e.reason === reason && e.message.includes(text)),
        30_000,
        250,
      );
    await waitFor('Ready', async () => cond(await job(), 'Ready')?.status === 'True', 120_000, 250);
    await send(0, 50);
    expect(cond(await depStatus('False', 'DependencyUnavailable False'), 'DependencyUnavailable')?.reason).toBe(
      'Available',
    );
    const since = '\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z';

    // 1. Kudu: the master killed (its port refuses), so every refresh's opening of the table fails.
    kuduDown = true;
    await stopKuduMaster(paths, 'SIGKILL');
    const kuduDownAt = Date.now();
    const kuduCond = cond(await depStatus('True', 'DependencyUnavailable True (Kudu)'), 'DependencyUnavailable')!;
    const kuduDetectS = (Date.now() - kuduDownAt) / 1000;
    expect(kuduCond.reason).toBe('KuduUnavailable');
    expect(kuduCond.message).toMatch(
      new RegExp(
        `^kudu unavailable to lookup "items" \\(slots? [0-9,]+\\) at masters ${esc(masters)} since ${since}: ` +
          `.+; fails after timeout 15s$`,
      ),
    );
    expect((await event('DependencyUnavailable', 'kudu unavailable to lookup "items"')).type).toBe('Warning');
    await send(50, 50); // enriched from the last table meanwhile
    const kuduStartAt = Date.now();
    await startKuduMaster(paths);
    kuduDown = false;
    const kuduStartS = (Date.now() - kuduStartAt) / 1000;
    expect(
      cond(await depStatus('False', 'DependencyUnavailable False (Kudu back)'), 'DependencyUnavailable'),
    ).toMatchObject({
      reason: 'Available',
    });
    const kuduRecoverS = (Date.now() - kuduStartAt) / 1000;
    expect((await event('DependencyAvailable', 'kudu unavailable to lookup "items"')).type).toBe('Normal');

    // 2. Druid: the router (the table's url) stopped, so every refresh is refused.
    routerDown = true;
    await stopDruidService(paths, 'router');
    const druidDownAt = Date.now();
    const druidCond = cond(await depStatus('True', 'DependencyUnavailable True (Druid)'), 'DependencyUnavailable')!;
    const druidDetectS = (Date.now() - druidDownAt) / 1000;
    expect(druidCond.reason).toBe('DruidUnavailable');
    expect(druidCond.message).toMatch(
      new RegExp(
        `^druid unavailable to lookup "countries" \\(slots? [0-9,]+\\) at ${esc(druidUrl)} since ${since}: ` +
          `.*ECONNREFUSED.*; fails after unavailableTimeout 2m$`,
      ),
    );
    expect((await event('DependencyUnavailable', 'druid unavailable to lookup "countries"')).type).toBe('Warning');
    await send(100, 50);
    const druidStartAt = Date.now();
    await startDruidService(paths, 'router');
    routerDown = false;
    const druidStartS = (Date.now() - druidStartAt) / 1000;
    expect(
      cond(await depStatus('False', 'DependencyUnavailable False (Druid back)'), 'DependencyUnavailable'),
    ).toMatchObject({ reason: 'Available' });
    const druidRecoverS = (Date.now() - druidStartAt) / 1000;
    expect((await event('DependencyAvailable', 'druid unavailable to lookup "countries"')).type).toBe('Normal');

    await send(150, N - 150);
    const reader = await readOutput<{ id: number }>(kafka, output, `sjd-lookup-reader-${id}`);
    await waitFor(`${N} output records`, () => reader.arrivals.length >= N, 120_000, 250).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}; got ${reader.arrivals.length}`);
    });
    await reader.close();
    // The verdict: Kafka's own consumer, read_committed: every record once, enriched from both tables.
    const java = (await readTopicWithJava(brokers, output, 'read_committed'))
      .map((r) => JSON.parse(r.value) as { id: number; cc: string; sku: string; title?: string; name?: string })
      .sort((a, b) => a.id - b.id);
    expect(java.map((r) => r.id)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(java.filter((r) => r.title !== TITLES[r.sku] || r.name !== NAMES[r.cc])).toEqual([]);
    const restarts = (await job()).status?.restarts ?? 0;
    expect(restarts, 'both outages ridden out within their bounds').toBe(0);
    reportLookup(
      `kudu master killed under a running StreamJob's kudu lookup table (refresh 1s, timeout 15s): ` +
        `DependencyUnavailable True after ${kuduDetectS.toFixed(1)} s (running requeue 2 s); False ` +
        `${kuduRecoverS.toFixed(1)} s after the master's start began (the start took ${kuduStartS.toFixed(1)} s)`,
    );
    reportLookup(
      `druid router stopped under its druid lookup table (refresh 1s, unavailableTimeout 2m): True after ` +
        `${druidDetectS.toFixed(1)} s; False ${druidRecoverS.toFixed(1)} s after the router's start began (it served ` +
        `after ${druidStartS.toFixed(1)} s); restarts ${restarts}; ${N}/${N} records once, all enriched`,
    );
    reportLookup(`messages: ${kuduCond.message} | ${druidCond.message}`);
  }, 420_000);
});

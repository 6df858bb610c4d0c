// The Druid row of the fault matrix (docs/fault-matrix.md): the DruidDatasource controller while
// Druid's router or overlord process is stopped (a real outage of the shared dev cluster's Druid,
// restored in finally), and while Druid refuses a spec our validation let through. Prints the
// measured time-to-detect and time-to-recover to stderr for the matrix.
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import type { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDruidService, stopDruidService } from '../../../../test/cluster/components/druid.ts';
import type { DruidService } from '../../../../test/cluster/components/druid-config.ts';
import { clusterPaths } from '../../../../test/cluster/paths.ts';
import { inputProducer } from '../../../../runtime/src/testing/kafka-topics.ts';
import type { DruidDatasource } from '../../api/v1alpha1/druiddatasource.ts';
import { DruidClient } from '../../druid/client.ts';
import { Manager, Resources, type KubeClient } from '../../kube/index.ts';
import {
  applyRepoCrd,
  createNamespace,
  deleteNamespace,
  newClient,
  suffix,
  waitFor,
} from '../../kube/testing/cluster.ts';
import { createRegistry } from '../../telemetry/metrics.ts';
import { addDruidDatasourceController } from './controller.ts';
import { DruidDatasources } from './resource.ts';

const druidUrl = process.env.TRIBUTARY_DRUID_URL ?? '';
const brokerUrl = process.env.TRIBUTARY_DRUID_BROKER_URL ?? '';
const kafka = process.env.TRIBUTARY_KAFKA_BROKERS ?? '';
type Event = { reason: string; message: string; type: string; count?: number; involvedObject: { name: string } };

// Short bounds so the outage and its end fit the CI budget; production: 1 s doubling to 30 s.
const druidRetry = { initialMs: 250, maxMs: 3_000, logEveryMs: 30_000 };
const rows = 20;

describe('DruidDatasource under Druid faults (real Druid processes stopped and restarted)', () => {
  let kube: KubeClient;
  let ns: string;
  let mgr: Manager;
  let running: Promise<void>;
  let close: () => Promise<void>;
  let registry: Registry;
  const logLines: { level: number; msg: string; controller?: string }[] = [];
  const druid = new DruidClient({ url: druidUrl });
  const supervisors: string[] = [];
  const topics: string[] = [];
  const k = new Kafka({ clientId: 'it-dds-faults', brokers: kafka.split(','), logLevel: logLevel.NOTHING });

  beforeAll(async () => {
    if (!druidUrl || !brokerUrl || !kafka)
      throw new Error('TRIBUTARY_DRUID_URL / _BROKER_URL / TRIBUTARY_KAFKA_BROKERS not set: the integration setup');
    kube = await newClient();
    await applyRepoCrd(kube, 'druiddatasources.tributary.dev');
    await waitFor('the CRD to be served', async () => (await kube.list(DruidDatasources), true), 30_000, 250);
    ns = await createNamespace(kube, 'dds-faults');
    registry = createRegistry();
    const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line)) });
    mgr = new Manager({ client: kube, registry, logger });
    ({ close } = addDruidDatasourceController(mgr, { namespace: ns, pollIntervalMs: 2_000, druidRetry }));
    running = mgr.run();
  }, 60_000);

  afterAll(async () => {
    mgr?.stop();
    await running?.catch(() => undefined);
    await close?.();
    for (const id of supervisors) {
      await druid.terminate(id).catch(() => undefined);
      await druid.shutdownTasks(id).catch(() => undefined);
    }
    await druid.close();
    const admin = k.admin();
    await admin.connect();
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
    if (ns) await deleteNamespace(kube, ns);
  }, 60_000);

  /** A topic holding `rows` rows (clicks 1 each) before any supervisor reads it. */
  const filledTopic = async (name: string): Promise<string> => {
    const topic = `it_${name.replace(/-/g, '_')}_${suffix()}`;
    const admin = k.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    topics.push(topic);
    const producer = inputProducer(k);
    await producer.connect();
    await producer.send({
      topic,
      messages: Array.from({ length: rows }, (_, i) => ({
        value: JSON.stringify({ ts: Date.now(), country: `c${i % 3}`, clicks: 1 }),
      })),
    });
    await producer.disconnect();
    return topic;
  };
  const make = async (name: string, spec: Partial<DruidDatasource['spec']> = {}): Promise<DruidDatasource> => {
    const dataSource = spec.kafka?.topic ?? `it_${name.replace(/-/g, '_')}_${suffix()}`;
    supervisors.push(dataSource);
    return kube.create<DruidDatasource>(DruidDatasources, {
      apiVersion: 'tributary.dev/v1alpha1',
      kind: 'DruidDatasource',
      metadata: { name, namespace: ns },
      spec: {
        druid: { url: druidUrl },
        dataSource,
        kafka: { bootstrapServers: kafka, topic: dataSource },
        dimensions: ['country'],
        metrics: [{ type: 'longSum', name: 'clicks', fieldName: 'clicks' }],
        ...spec,
      } as DruidDatasource['spec'],
    } as DruidDatasource);
  };
  const get = (name: string) => kube.get<DruidDatasource>(DruidDatasources, ns, name);
  const condition = (ds: DruidDatasource, type: string) => ds.status?.conditions?.find((c) => c.type === type);
  const events = async (name: string, reason: string): Promise<Event[]> =>
    (await kube.list<Event & { metadata: object }>(Resources.Event, ns)).items.filter(
      (e) => e.involvedObject.name === name && e.reason === reason,
    );
  /** How many times the reason was evented (Events aggregate: their count). */
  const evented = async (name: string, reason: string): Promise<number> =>
    (await events(name, reason)).reduce((n, e) => n + (e.count ?? 1), 0);
  const metric = async (name: string, labels: Record<string, string>): Promise<number | undefined> =>
    (await registry.getSingleMetric(name)?.get())?.values.find((v) =>
      Object.entries(labels).every(([l, x]) => v.labels[l] === x),
    )?.value;
  const synced = async (name: string): Promise<boolean> => condition(await get(name), 'Synced')?.status === 'True';
  const sqlSum = async (dataSource: string): Promise<number | undefined> => {
    const res = await fetch(`${brokerUrl}/druid/v2/sql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `SELECT SUM(clicks) AS n FROM "${dataSource}"` }),
    });
    return res.ok ? ((await res.json()) as { n: number }[])[0]?.n : undefined;
  };
  const secs = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

  /**
   * One outage of a Druid process: `before` synced ahead of it and changed during it, `during`
   * created during it (its topic already holding rows), `gone` synced ahead and deleted during
   * it. Asserts the bounded, visible outcome and prints the measured times.
   */
  async function outage(service: DruidService, prefix: string, expectError: RegExp): Promise<void> {
    const paths = clusterPaths();
    const before = `${prefix}-before`;
    const during = `${prefix}-during`;
    const gone = `${prefix}-gone`;
    const duringTopic = await filledTopic(during);
    const beforeDs = await make(before);
    const goneDs = await make(gone);
    for (const name of [before, gone])
      await waitFor(`${name} Synced before the outage`, () => synced(name), 30_000, 250);
    const linesBefore = logLines.length;
    const failuresBefore =
      (await metric('tributary_operator_druid_call_failures_total', { reason: 'DruidUnavailable' })) ?? 0;

    const t0 = Date.now();
    await stopDruidService(paths, service);
    const stoppedMs = Date.now() - t0;
    let restarted = false;
    let message = '';
    try {
      await kube.patch(DruidDatasources, ns, before, { spec: { dimensions: ['country', 'page'] } });
      await make(during, { kafka: { bootstrapServers: kafka, topic: duringTopic } });
      await kube.delete(DruidDatasources, ns, gone);
      for (const name of [before, during]) {
        const cur = await waitFor(
          `${name} Ready False DruidUnavailable`,
          async () => {
            const x = await get(name);
            return condition(x, 'Ready')?.reason === 'DruidUnavailable' ? x : undefined;
          },
          30_000,
          100,
        );
        const ready = condition(cur, 'Ready')!;
        expect(ready.status).toBe('False');
        expect(condition(cur, 'Synced')).toMatchObject({ status: 'Unknown', reason: 'DruidUnavailable' });
        // Names Druid's URL, what failed and the backoff.
        expect(ready.message).toContain(druidUrl);
        expect(ready.message).toMatch(expectError);
        expect(ready.message).toContain('retrying with backoff, at most every 3s');
        expect(await metric('tributary_operator_druid_unavailable', { name })).toBe(1);
        message = ready.message;
      }
      // Deleted meanwhile: the finalizer stays until Druid has terminated the supervisor.
      const stuck = await waitFor(
        `${gone} TerminateFailed`,
        async () => {
          const x = await get(gone);
          return condition(x, 'Ready')?.reason === 'TerminateFailed' ? x : undefined;
        },
        30_000,
        100,
      );
      expect(stuck.metadata.finalizers).toContain('tributary.dev/druid-supervisor');
      expect(condition(stuck, 'Ready')?.message).toMatch(expectError);
      const detectMs = Date.now() - t0;
      // Ride out several retries (≥ 6 failed syncs per object: past the backoff's doubling, at its cap).
      await waitFor(
        'retries under backoff',
        async () =>
          ((await metric('tributary_operator_druid_call_failures_total', { reason: 'DruidUnavailable' })) ?? 0) -
            failuresBefore >=
          12,
        30_000,
        250,
      );
      const outageMs = Date.now() - t0;
      const failures =
        ((await metric('tributary_operator_druid_call_failures_total', { reason: 'DruidUnavailable' })) ?? 0) -
        failuresBefore;
      // Bounded retries: per object ≤ the doublings (250 ms … 3 s: 5) + one per 3 s + one per
      // spec edit; a hot loop makes hundreds.
      expect(failures).toBeLessThanOrEqual(2 * (5 + Math.ceil(outageMs / druidRetry.maxMs) + 1));
      // One Event per object when the reason turned, however many retries.
      for (const name of [before, during]) expect(await evented(name, 'DruidUnavailable')).toBe(1);
      expect(await evented(gone, 'TerminateFailed')).toBe(1);
      // One warning line for the URL (two objects, less than logEveryMs), no per-retry lines.
      const lines = logLines.slice(linesBefore);
      const warned = lines.filter((l) => l.level === 40 && l.msg.includes(`Druid at ${druidUrl} unavailable`));
      expect(warned).toHaveLength(1);
      expect(warned[0]!.msg).toMatch(expectError);
      expect(lines.filter((l) => l.msg.includes('reconcile failed'))).toEqual([]);

      const t1 = Date.now();
      await startDruidService(paths, service);
      restarted = true;
      const serving = Date.now();
      for (const name of [before, during]) await waitFor(`${name} Synced again`, () => synced(name), 120_000, 100);
      await waitFor(
        `${gone} finalized`,
        async () =>
          !(await kube.list<DruidDatasource>(DruidDatasources, ns)).items.some((d) => d.metadata.name === gone),
        120_000,
        100,
      );
      const recoverMs = Date.now() - serving;
      expect(await druid.getSupervisor(goneDs.spec.dataSource!)).toBeUndefined();
      const live = (await druid.getSupervisor(beforeDs.spec.dataSource!)) as unknown as {
        spec: { dataSchema: { dimensionsSpec: { dimensions: unknown[] } } };
      };
      expect(JSON.stringify(live.spec.dataSchema.dimensionsSpec.dimensions)).toContain('page');
      for (const name of [before, during]) {
        expect(await evented(name, 'DruidAvailable')).toBe(1);
        expect((await events(name, 'DruidAvailable'))[0]!.message).toContain(`Druid at ${druidUrl} answers again`);
        expect(await metric('tributary_operator_druid_unavailable', { name })).toBe(0);
        expect((await get(name)).status?.lastError).toBeUndefined();
      }
      // The data outcome: the topic's rows, written before the supervisor existed, reach Druid.
      await waitFor(
        `${rows} rows in ${duringTopic} (Druid SQL)`,
        async () => (await sqlSum(duringTopic)) === rows,
        120_000,
        500,
      );
      const rowsMs = Date.now() - serving;
      process.stderr.write(
        `[druid-faults] ${service} down: stop took ${secs(stoppedMs)}; detect ${secs(detectMs)} (both objects ` +
          `DruidUnavailable); ${failures} failed syncs in ${secs(outageMs)}; restart took ${secs(serving - t1)}; ` +
          `recover ${secs(recoverMs)} after it serves (both Synced, the deleted one finalized); ${rows} rows in SQL ${secs(rowsMs)} after it ` +
          `serves. Ready: ${message}\n`,
      );
    } finally {
      if (!restarted) await startDruidService(paths, service);
    }
    // The next outage counts only its own objects' failures, and Druid's task slots are freed.
    for (const name of [before, during]) await kube.delete(DruidDatasources, ns, name);
    await waitFor(
      'both objects finalized',
      async () => (await kube.list<DruidDatasource>(DruidDatasources, ns)).items.length === 0,
      30_000,
      250,
    );
    for (const id of [beforeDs.spec.dataSource!, goneDs.spec.dataSource!, duringTopic]) await druid.shutdownTasks(id);
  }

  it('router stopped: DruidUnavailable with the URL and error, one Event and log line, backoff; syncs on return', async () => {
    await outage('router', 'router', /DRUID_ERR_UNREACHABLE.*ECONNREFUSED/);
  }, 300_000);

  it("overlord stopped behind a running router: the same, from the router's 5xx", async () => {
    await outage('coordinator', 'overlord', /DRUID_ERR_SERVER/);
  }, 300_000);

  it("a spec Druid refuses though validation passed: SpecRejected with Druid's text, once; others served", async () => {
    // thetaSketch is a valid metric type here, but this Druid has no DataSketches extension loaded.
    const rejected = (): Promise<number> =>
      metric('tributary_operator_druid_call_failures_total', { reason: 'SpecRejected' }).then((v) => v ?? 0);
    const reconciles = (): Promise<number> =>
      metric('tributary_operator_reconcile_total', { controller: 'druiddatasource', result: 'requeue_after' }).then(
        (v) => v ?? 0,
      );
    const rejectedBefore = await rejected();
    const t0 = Date.now();
    await make('theta', { metrics: [{ type: 'thetaSketch', name: 'users', fieldName: 'user' }] });
    const cur = await waitFor(
      'SpecRejected',
      async () => {
        const c = await get('theta');
        return condition(c, 'Synced')?.reason === 'SpecRejected' ? c : undefined;
      },
      30_000,
      100,
    );
    const detectMs = Date.now() - t0;
    expect(condition(cur, 'Synced')?.status).toBe('False');
    const ready = condition(cur, 'Ready')!;
    expect(ready).toMatchObject({ status: 'False', reason: 'SpecRejected' });
    expect(ready.message).toContain(`POST ${druidUrl}/druid/indexer/v1/supervisor → 400`);
    expect(ready.message).toContain("Could not resolve type id 'thetaSketch'");
    expect((await events('theta', 'SpecRejected'))[0]?.message).toContain("Could not resolve type id 'thetaSketch'");

    // Another object syncs meanwhile, and several reconciles of it pass (it polls every 2 s)…
    await make('neighbour');
    await waitFor('the neighbour Synced', () => synced('neighbour'), 30_000, 250);
    const passed = await reconciles();
    await waitFor('5 more reconciles', async () => (await reconciles()) >= passed + 5, 30_000, 250);
    // …while the refused spec was sent once: no retry until the spec changes (or 5 min pass).
    expect((await rejected()) - rejectedBefore).toBe(1);
    expect(await evented('theta', 'SpecRejected')).toBe(1);
    expect(await metric('tributary_operator_druid_unavailable', { name: 'theta' })).toBeUndefined();

    const t1 = Date.now();
    await kube.patch(DruidDatasources, ns, 'theta', {
      spec: { metrics: [{ type: 'longSum', name: 'clicks', fieldName: 'clicks' }] },
    });
    await waitFor('Synced once the spec is fixed', () => synced('theta'), 30_000, 100);
    const recoverMs = Date.now() - t1;
    expect(await druid.getSupervisor(cur.spec.dataSource!)).toBeDefined();
    process.stderr.write(
      `[druid-faults] spec rejected: detect ${secs(detectMs)}; 1 Druid call in ${secs(Date.now() - t0)}; ` +
        `synced ${secs(recoverMs)} after the spec fix. Ready: ${ready.message}\n`,
    );
  }, 120_000);
});

import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Manager, Resources, type KubeClient } from '../../kube/index.ts';
import {
  applyRepoCrd,
  createNamespace,
  deleteNamespace,
  newClient,
  suffix,
  waitFor,
} from '../../kube/testing/cluster.ts';
import { inputProducer } from '../../../../runtime/src/testing/kafka-topics.ts';
import type { Registry } from 'prom-client';
import { createRegistry } from '../../telemetry/metrics.ts';
import type { DruidDatasource } from '../../api/v1alpha1/druiddatasource.ts';
import { DruidClient } from '../../druid/client.ts';
import { addDruidDatasourceController } from './controller.ts';
import { DruidDatasources } from './resource.ts';
import { driftedPaths, desiredSupervisorSpec } from './supervisor-spec.ts';

const druidUrl = process.env.TRIBUTARY_DRUID_URL ?? '';
const kafka = process.env.TRIBUTARY_KAFKA_BROKERS ?? '';
type Event = { reason: string; message: string; involvedObject: { name: string } };

describe('DruidDatasource controller (real kube-apiserver, real Druid)', () => {
  let kube: KubeClient;
  let ns: string;
  let mgr: Manager;
  let running: Promise<void>;
  let close: () => Promise<void>;
  let registry: Registry;
  const druid = new DruidClient({ url: druidUrl });
  const supervisors: string[] = [];

  beforeAll(async () => {
    if (!druidUrl || !kafka)
      throw new Error(
        'TRIBUTARY_DRUID_URL / TRIBUTARY_KAFKA_BROKERS not set: the integration setup starts Druid and Kafka',
      );
    kube = await newClient();
    await applyRepoCrd(kube, 'druiddatasources.tributary.dev');
    await waitFor(
      'the CRD to be served',
      async () => {
        await kube.list(DruidDatasources);
        return true;
      },
      30_000,
      250,
    );
    ns = await createNamespace(kube, 'dds');
    registry = createRegistry();
    mgr = new Manager({ client: kube, registry });
    ({ close } = addDruidDatasourceController(mgr, { namespace: ns, pollIntervalMs: 2_000 }));
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
    if (ns) await deleteNamespace(kube, ns);
  });

  const make = async (name: string, spec: Partial<DruidDatasource['spec']> = {}): Promise<DruidDatasource> => {
    const dataSource = `it_${name.replace(/-/g, '_')}_${suffix()}`;
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
  const events = async (name: string): Promise<Event[]> =>
    (await kube.list<Event & { metadata: object }>(Resources.Event, ns)).items.filter(
      (e) => e.involvedObject.name === name,
    );

  it('creates the supervisor, reports it Synced and Ready, and updates it when the spec changes', async () => {
    const ds = await make('create');
    const id = ds.spec.dataSource!;
    const ready = await waitFor(
      'Synced and a supervisor state',
      async () => {
        const cur = await get('create');
        return condition(cur, 'Synced')?.status === 'True' && cur.status?.state ? cur : undefined;
      },
      60_000,
      500,
    );
    expect(ready.status?.supervisorId).toBe(id);
    expect(ready.status?.observedGeneration).toBe(ready.metadata.generation);
    expect(ready.metadata.finalizers).toContain('tributary.dev/druid-supervisor');
    expect(driftedPaths(desiredSupervisorSpec(ready), await druid.getSupervisor(id))).toEqual([]);
    await waitFor('Ready', async () => condition(await get('create'), 'Ready')?.status === 'True', 60_000, 500);

    await kube.patch(DruidDatasources, ns, 'create', {
      spec: { dimensions: ['country', 'page'], ingestion: { taskCount: 2 } },
    });
    await waitFor(
      'the new spec in Druid',
      async () => {
        const live = (await druid.getSupervisor(id)) as { spec: { ioConfig: { taskCount: number } } } | undefined;
        return live?.spec.ioConfig.taskCount === 2;
      },
      30_000,
      500,
    );
    expect((await events('create')).map((e) => e.reason)).toEqual(expect.arrayContaining(['Created', 'Updated']));
  });

  it("reports Druid's health and lag in status: the unconsumed messages while suspended, none once resumed", async () => {
    // A topic holding 25 messages before the supervisor exists; created suspended, it reads none
    // of them, and Druid's status reports them as its lag (from the stored offsets: none, so
    // the partitions' end offsets). Resumed, its task reads them all and the lag drops to 0.
    const dataSource = `it_lag_${suffix()}`;
    const k = new Kafka({ clientId: 'it-dds-lag', brokers: kafka.split(','), logLevel: logLevel.NOTHING });
    const admin = k.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: dataSource, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = inputProducer(k);
    await producer.connect();
    await producer.send({
      topic: dataSource,
      messages: Array.from({ length: 25 }, (_, i) => ({
        partition: i % 2,
        value: JSON.stringify({ ts: Date.now(), country: `c${i % 3}`, clicks: 1 }),
      })),
    });
    await producer.disconnect();
    supervisors.push(dataSource);
    await make('lag', { dataSource, kafka: { bootstrapServers: kafka, topic: dataSource }, suspend: true });
    const lagging = await waitFor(
      'status.aggregateLag 25 while suspended',
      async () => {
        const cur = await get('lag');
        return cur.status?.aggregateLag === 25 ? cur : undefined;
      },
      120_000,
      500,
    );
    expect(lagging.status).toMatchObject({ state: 'SUSPENDED', healthy: true, supervisorId: dataSource });
    expect(condition(lagging, 'Ready')).toMatchObject({ status: 'True', reason: 'Suspended' });
    const lagMetric = async (): Promise<number | undefined> =>
      (await registry.getSingleMetric('tributary_operator_druid_supervisor_lag')?.get())?.values.find(
        (v) => v.labels['name'] === 'lag',
      )?.value;
    expect(await lagMetric()).toBe(25);

    await kube.patch(DruidDatasources, ns, 'lag', { spec: { suspend: false } });
    const caughtUp = await waitFor(
      'RUNNING, healthy, lag 0',
      async () => {
        const cur = await get('lag');
        return cur.status?.state === 'RUNNING' && cur.status.aggregateLag === 0 && cur.status.healthy ? cur : undefined;
      },
      120_000,
      500,
    );
    expect(condition(caughtUp, 'Ready')).toMatchObject({ status: 'True', reason: 'Running' });
    expect(await lagMetric()).toBe(0);
    // Lag 0 because the 25 were ingested (not skipped): SQL counts them.
    await waitFor(
      'the 25 messages in Druid SQL',
      async () => {
        const res = await fetch(`${druidUrl}/druid/v2/sql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: `SELECT SUM(clicks) AS n FROM "${dataSource}"` }),
        });
        return res.ok && ((await res.json()) as { n: number }[])[0]?.n === 25;
      },
      60_000,
      500,
    );
    const cleanup = k.admin();
    await cleanup.connect();
    await cleanup.deleteTopics({ topics: [dataSource] }).catch(() => undefined);
    await cleanup.disconnect();
  }, 300_000);

  it('reports an unhealthy supervisor: Kafka unreachable, Druid says UNHEALTHY_SUPERVISOR and why', async () => {
    // Nothing listens on port 1. Druid's supervisor turns unhealthy after 3 failed runs: a 5 s
    // period and 2 s Kafka client timeouts (both through specOverrides) make that ~15 s.
    await make('unhealthy', {
      kafka: { bootstrapServers: '127.0.0.1:1', topic: `unhealthy_${suffix()}` },
      specOverrides: {
        spec: {
          ioConfig: {
            period: 'PT5S',
            consumerProperties: { 'default.api.timeout.ms': 2000, 'request.timeout.ms': 2000 },
          },
        },
      },
    });
    const cur = await waitFor(
      'status.healthy false',
      async () => {
        const c = await get('unhealthy');
        return c.status?.healthy === false && c.status.state === 'UNHEALTHY_SUPERVISOR' ? c : undefined;
      },
      120_000,
      500,
    );
    expect(cur.status?.detailedState).toBe('UNABLE_TO_CONNECT_TO_STREAM');
    expect(cur.status?.recentErrors?.join('\n')).toContain('TimeoutException');
    expect(condition(cur, 'Synced')?.status).toBe('True');
    expect(condition(cur, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'UnhealthySupervisor',
      message: 'Druid reports UNABLE_TO_CONNECT_TO_STREAM (unhealthy)',
    });
  }, 180_000);

  it('repairs drift and recreates a supervisor terminated behind its back', async () => {
    const ds = await make('drift');
    const id = ds.spec.dataSource!;
    await waitFor('the supervisor', () => druid.getSupervisor(id), 30_000, 500);
    const desired = desiredSupervisorSpec(await get('drift'));

    const tampered = structuredClone(desired) as unknown as { spec: { ioConfig: { taskCount: number } } };
    tampered.spec.ioConfig.taskCount = 3;
    await druid.upsertSupervisor(tampered as unknown as typeof desired);
    await waitFor(
      'drift repaired',
      async () => driftedPaths(desired, await druid.getSupervisor(id)).length === 0,
      30_000,
      500,
    );

    await druid.terminate(id);
    // The Event follows the create: wait for it (the supervisor alone can be seen in between).
    await waitFor(
      'the Recreated Event',
      async () => (await events('drift')).some((e) => e.reason === 'Recreated'),
      30_000,
      500,
    );
    expect(await druid.getSupervisor(id)).toBeDefined();
  });

  it('suspends and resumes through Druid', async () => {
    // Druid moves a supervisor's state (to SUSPENDED too) on its run loop, every ioConfig.period
    // (30 s by default): a 5 s period lets the test see each transition without waiting one out.
    const ds = await make('suspend', { specOverrides: { spec: { ioConfig: { period: 'PT5S' } } } });
    const id = ds.spec.dataSource!;
    await waitFor('the supervisor', () => druid.getSupervisor(id), 30_000, 500);
    await kube.patch(DruidDatasources, ns, 'suspend', { spec: { suspend: true } });
    await waitFor(
      'SUSPENDED in Druid and in status',
      async () =>
        (await druid.getStatus(id))?.state === 'SUSPENDED' && (await get('suspend')).status?.state === 'SUSPENDED',
      60_000,
      500,
    );
    expect(condition(await get('suspend'), 'Ready')?.reason).toBe('Suspended');
    await kube.patch(DruidDatasources, ns, 'suspend', { spec: { suspend: false } });
    await waitFor('running again', async () => (await druid.getStatus(id))?.suspended === false, 60_000, 500);
  });

  it("shows Druid's rejection of a spec in status and an Event, and recovers when the spec is fixed", async () => {
    await make('rejected', { specOverrides: { spec: { ioConfig: { inputFormat: { type: 'no-such-format' } } } } });
    const cur = await waitFor(
      'SpecRejected',
      async () => {
        const c = await get('rejected');
        return condition(c, 'Synced')?.reason === 'SpecRejected' ? c : undefined;
      },
      30_000,
      500,
    );
    expect(cur.status?.lastError).toContain('no-such-format');
    expect((await events('rejected')).find((e) => e.reason === 'SpecRejected')?.message).toContain('no-such-format');
    await kube.patch(DruidDatasources, ns, 'rejected', { spec: { specOverrides: null } });
    await waitFor(
      'Synced after the fix',
      async () => condition(await get('rejected'), 'Synced')?.status === 'True',
      30_000,
      500,
    );
  });

  it('terminates the supervisor on delete (Terminate) and leaves it running (Retain)', async () => {
    const t = await make('del-terminate');
    const r = await make('del-retain', { deletionPolicy: 'Retain' });
    await waitFor(
      'both supervisors',
      async () => (await druid.getSupervisor(t.spec.dataSource!)) && (await druid.getSupervisor(r.spec.dataSource!)),
      30_000,
      500,
    );
    await waitFor(
      'finalizers',
      async () =>
        (await get('del-retain')).metadata.finalizers?.length === 1 &&
        (await get('del-terminate')).metadata.finalizers?.length === 1,
      30_000,
      250,
    );
    await kube.delete(DruidDatasources, ns, 'del-terminate');
    await kube.delete(DruidDatasources, ns, 'del-retain');
    await waitFor(
      'both objects gone',
      async () => {
        const left = (await kube.list<DruidDatasource>(DruidDatasources, ns)).items.map((d) => d.metadata.name);
        return !left.includes('del-terminate') && !left.includes('del-retain');
      },
      30_000,
      500,
    );
    expect(await druid.getSupervisor(t.spec.dataSource!)).toBeUndefined();
    expect(await druid.getSupervisor(r.spec.dataSource!)).toBeDefined();
  });
});

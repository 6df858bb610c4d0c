// One Druid, two namespaces (real kube-apiserver, real Druid): DruidDatasources in two
// namespaces name the same datasource. The first creates the supervisor and records itself as
// its owner; the second is refused (Synced False, ClaimedElsewhere, naming the owner, and an
// Event), never rewrites the supervisor, and deleting it with deletionPolicy Terminate leaves
// the owner's supervisor running. Without the record, the two would rewrite one supervisor in
// turn and the second's deletion would terminate the first's ingestion.
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
import { createRegistry } from '../../telemetry/metrics.ts';
import type { DruidDatasource } from '../../api/v1alpha1/druiddatasource.ts';
import { DruidClient } from '../../druid/client.ts';
import { addDruidDatasourceController } from './controller.ts';
import { DruidDatasources } from './resource.ts';

const druidUrl = process.env.TRIBUTARY_DRUID_URL ?? '';
const kafka = process.env.TRIBUTARY_KAFKA_BROKERS ?? '';
type Event = { reason: string; message: string; involvedObject: { name: string; namespace?: string } };

describe('DruidDatasource claims across namespaces (real kube-apiserver, real Druid)', () => {
  let kube: KubeClient;
  const namespaces: string[] = [];
  let mgr: Manager;
  let running: Promise<void>;
  const closers: (() => Promise<void>)[] = [];
  const druid = new DruidClient({ url: druidUrl });
  const dataSource = `it_claims_${suffix()}`;

  beforeAll(async () => {
    if (!druidUrl || !kafka)
      throw new Error('TRIBUTARY_DRUID_URL / TRIBUTARY_KAFKA_BROKERS not set: the integration setup starts Druid');
    kube = await newClient();
    await applyRepoCrd(kube, 'druiddatasources.tributary.dev');
    await waitFor('the CRD to be served', async () => (await kube.list(DruidDatasources), true), 30_000, 250);
    for (const p of ['team-a', 'team-b']) namespaces.push(await createNamespace(kube, p));
    // One controller per watched namespace, as the operator runs with --namespaces a,b.
    mgr = new Manager({ client: kube, registry: createRegistry() });
    for (const namespace of namespaces)
      closers.push(addDruidDatasourceController(mgr, { namespace, pollIntervalMs: 2_000 }).close);
    running = mgr.run();
  }, 60_000);

  afterAll(async () => {
    mgr?.stop();
    await running?.catch(() => undefined);
    for (const c of closers) await c();
    await druid.terminate(dataSource).catch(() => undefined);
    await druid.shutdownTasks(dataSource).catch(() => undefined);
    await druid.close();
    for (const ns of namespaces) {
      for (const o of (await kube.list<DruidDatasource>(DruidDatasources, ns).catch(() => ({ items: [] }))).items)
        await kube
          .patch(DruidDatasources, ns, o.metadata.name, { metadata: { finalizers: null } })
          .catch(() => undefined);
      await deleteNamespace(kube, ns);
    }
  });

  const make = (namespace: string, dimensions: string[]) =>
    kube.create<DruidDatasource>(DruidDatasources, {
      apiVersion: 'tributary.dev/v1alpha1',
      kind: 'DruidDatasource',
      metadata: { name: 'clicks', namespace },
      spec: {
        druid: { url: druidUrl },
        dataSource,
        kafka: { bootstrapServers: kafka, topic: dataSource },
        dimensions,
        metrics: [{ type: 'count', name: 'n' }],
        timestamp: { column: 'ts', format: 'millis' },
        granularity: { segment: 'HOUR', query: 'MINUTE', rollup: true },
        ingestion: { taskCount: 1, replicas: 1, taskDuration: 'PT1H', useEarliestOffset: true },
        suspend: false,
        deletionPolicy: 'Terminate',
      },
    } as unknown as DruidDatasource);
  const synced = (ns: string) =>
    kube
      .get<DruidDatasource>(DruidDatasources, ns, 'clicks')
      .then((d) => d.status?.conditions?.find((c) => c.type === 'Synced'));
  const liveDimensions = async () => {
    const live = (await druid.getSupervisor(dataSource)) as
      | {
          context?: Record<string, unknown>;
          spec: { dataSchema: { dimensionsSpec: { dimensions: { name: string }[] } } };
        }
      | undefined;
    return {
      owner: live?.context?.['tributary.dev/owner'],
      dims: live?.spec.dataSchema.dimensionsSpec.dimensions.map((d) => d.name),
    };
  };

  it('the second namespace is refused, never rewrites the supervisor, and its deletion leaves it running', async () => {
    const [a, b] = namespaces as [string, string];
    await make(a, ['country']);
    await waitFor('team-a Synced', async () => (await synced(a))?.status === 'True', 60_000, 500);
    expect(await liveDimensions()).toEqual({ owner: `${a}/clicks`, dims: ['country'] });

    await make(b, ['page']);
    const refused = await waitFor(
      'team-b ClaimedElsewhere',
      async () => {
        const c = await synced(b);
        return c?.reason === 'ClaimedElsewhere' ? c : undefined;
      },
      60_000,
      500,
    );
    expect(refused.status).toBe('False');
    expect(refused.message).toContain(`Druid supervisor ${dataSource} belongs to DruidDatasource ${a}/clicks`);
    const events = (await kube.list<Event & { metadata: object }>(Resources.Event, b)).items;
    expect(events.some((e) => e.reason === 'ClaimedElsewhere' && e.involvedObject.name === 'clicks')).toBe(true);
    // Several of team-b's polls later the supervisor is still team-a's.
    await new Promise((r) => setTimeout(r, 5_000));
    expect(await liveDimensions()).toEqual({ owner: `${a}/clicks`, dims: ['country'] });
    expect((await synced(a))?.status).toBe('True');

    await kube.delete(DruidDatasources, b, 'clicks');
    await waitFor(
      'team-b gone',
      async () => !(await kube.list(DruidDatasources, b)).items.some((o) => o.metadata?.name === 'clicks'),
      60_000,
      500,
    );
    const status = await druid.getStatus(dataSource);
    expect(status?.state).not.toBe('STOPPING');
    expect(await liveDimensions()).toEqual({ owner: `${a}/clicks`, dims: ['country'] });
  });
});

// The recorder against the real kube-apiserver: a failure recorded through a stale copy of the
// object (the informer's, not yet showing the previous write) reports the Ready reason the write
// really replaced, read again after the apiserver's conflict. The reconciler events on a turned
// reason by it, so a retry on a lagging cache does not event the same outage twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../kube/index.ts';
import { StatusWriter } from '../../kube/status-writer.ts';
import { applyRepoCrd, createNamespace, deleteNamespace, newClient, waitFor } from '../../kube/testing/cluster.ts';
import { createRegistry } from '../../telemetry/metrics.ts';
import type { DruidDatasource } from '../../api/v1alpha1/druiddatasource.ts';
import { druidMetrics } from './metrics.ts';
import { statusRecorder } from './record.ts';
import { DruidDatasources } from './resource.ts';

describe('DruidDatasource status recorder (real kube-apiserver)', () => {
  let kube: KubeClient;
  let ns = '';

  beforeAll(async () => {
    kube = await newClient();
    await applyRepoCrd(kube, 'druiddatasources.tributary.dev');
    await waitFor('the CRD to be served', async () => (await kube.list(DruidDatasources), true), 30_000, 250);
    ns = await createNamespace(kube, 'ds-record');
  }, 60_000);

  afterAll(async () => {
    if (ns) await deleteNamespace(kube, ns);
  });

  it('reports the reason a write replaced from the stored status, not from a stale copy', async () => {
    const created = await kube.create<DruidDatasource>(DruidDatasources, {
      apiVersion: 'tributary.dev/v1alpha1',
      kind: 'DruidDatasource',
      metadata: { name: 'clicks', namespace: ns },
      spec: {
        druid: { url: 'http://127.0.0.1:1' },
        kafka: { bootstrapServers: '127.0.0.1:1', topic: 'clicks' },
        dimensions: ['country'],
      },
    } as DruidDatasource);
    const record = statusRecorder({
      statusWriter: new StatusWriter({ client: kube }),
      metrics: druidMetrics(createRegistry()),
      now: () => new Date(),
    });
    expect(await record.failed(created, 'DruidUnavailable', 'Druid down (first attempt)', undefined)).toBeUndefined();
    // `created` is now stale: its resourceVersion and status predate that write.
    const replaced = await record.failed(created, 'DruidUnavailable', 'Druid down (second attempt)', undefined);
    expect(replaced).toBe('DruidUnavailable');
    const stored = await kube.get<DruidDatasource>(DruidDatasources, ns, 'clicks');
    expect(stored.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      reason: 'DruidUnavailable',
      message: 'Druid down (second attempt)',
    });
  });
});

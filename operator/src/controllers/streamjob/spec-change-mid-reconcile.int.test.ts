// A spec changed while a reconcile runs (real kube-apiserver). The reconcile read the job from
// an informer cache that had not seen the change yet, validated that spec, and its first
// status write came back (after a 409 and a re-read) carrying the new one. The new spec here is
// invalid: acting on it as if validated would deploy what the operator must refuse. The stale
// cache is the one thing injected (the jobs cache answers with the copy read before the patch):
// a real informer lags only by chance.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Manager, Resources, type Informer, type KubeClient, type ReconcileContext } from '../../kube/index.ts';
import { applyRepoCrd, newClient, suffix, waitFor } from '../../kube/testing/cluster.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { createRegistry } from '../../telemetry/metrics.ts';
import { RuntimeClient } from '../../runtime-client/client.ts';
import type { StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { streamJobInformers } from './controller.ts';
import { streamJobMetrics } from './metrics.ts';
import { podSelector } from './objects/metadata.ts';
import { streamJobReconciler } from './reconcile.ts';
import { StreamJobs } from './resource.ts';

const graph = (n: string) => ({
  sources: [{ name: 'gen', datagen: { generator: 'schema', rate: 10, fields: { country: { type: 'string' } } } }],
  steps: [{ name: 'm', from: 'gen', map: { n } }],
  sinks: [{ name: 'out', from: 'm', console: {} }],
});

describe('a spec changed during a reconcile (real apiserver)', () => {
  let kube: KubeClient;
  let ns: string;
  const runtime = new RuntimeClient();

  beforeAll(async () => {
    kube = await newClient();
    await applyRepoCrd(kube, 'streamjobs.tributary.dev');
    await waitFor('the CRD', async () => (await kube.list(StreamJobs), true), 30_000, 250);
    ns = `sjgen-${suffix()}`;
    await kube.create(Resources.Namespace, { metadata: { name: ns, labels: { 'tributary.dev/test': 'streamjob' } } });
  }, 60_000);

  afterAll(async () => {
    await runtime.close();
    if (ns) await kube.delete(Resources.Namespace, undefined, ns).catch(() => undefined);
  });

  it('a write that finds a newer generation stops the reconcile: the unvalidated spec is never deployed; the next reconcile refuses it', async () => {
    const mgr = new Manager({ client: kube, registry: createRegistry() });
    const inf = streamJobInformers(mgr, ns);
    const caches = Object.values(inf);
    for (const i of caches) i.start();
    try {
      await Promise.all(caches.map((i) => i.waitForSync()));
      const name = 'moved';
      await kube.create<StreamJob>(StreamJobs, {
        apiVersion: 'tributary.dev/v1alpha1',
        kind: 'StreamJob',
        metadata: { name, namespace: ns },
        spec: {
          replicas: 1,
          graph: graph('country'),
          stateStorage: { pvc: { claimName: name }, path: '/state' },
          savepoints: { onDelete: false },
        },
      } as unknown as StreamJob);
      const stale = await kube.get<StreamJob>(StreamJobs, ns, name);
      expect(stale.metadata.generation).toBe(1);
      // string * int does not type-check: only the operator's validation sees it.
      await kube.patch(StreamJobs, ns, name, { spec: { graph: graph('country * 2') } });

      let served: 'stale' | 'fresh' = 'stale';
      const jobs = {
        get: (namespace: string | undefined, n: string) => (served === 'stale' ? stale : inf.jobs.get(namespace, n)),
      } as unknown as Informer<StreamJob>;
      const reconcile = streamJobReconciler({
        ...inf,
        jobs,
        kube,
        statusWriter: mgr.statusWriter,
        events: mgr.events,
        runtime,
        metrics: streamJobMetrics(createRegistry()),
        defaults: { image: 'tributary/node:test' },
      });
      const ctx: ReconcileContext = { logger: silentLogger(), reconcileId: 'r', signal: new AbortController().signal };
      const req = { key: `${ns}/${name}`, namespace: ns, name };

      // The stale reconcile validated generation 1; its observation write found generation 2.
      const first = await reconcile(req, ctx);
      const after = await kube.get<StreamJob>(StreamJobs, ns, name);
      expect(after.metadata.generation).toBe(2);
      expect(after.status?.pendingOperation).toBeUndefined();
      expect(after.status?.deployed).toBeUndefined();
      expect(after.status?.observedGeneration).toBeUndefined();
      expect(first).toEqual({ requeueAfter: 1 });

      // Run again (as the requeue does) on the current object: the new spec is refused.
      served = 'fresh';
      await waitFor('the cache at generation 2', () => inf.jobs.get(ns, name)?.metadata.generation === 2);
      await reconcile(req, ctx);
      const refused = await kube.get<StreamJob>(StreamJobs, ns, name);
      expect(refused.status?.phase).toBe('Invalid');
      expect(refused.status?.observedGeneration).toBe(2);
      expect(refused.status?.pendingOperation).toBeUndefined();
      expect(refused.status?.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
        status: 'True',
        reason: 'InvalidSpec',
        message: expect.stringContaining('spec.graph.steps[0].map.n: invalid expression "country * 2"'),
      });
      expect((await kube.list(Resources.Pod, ns, { labelSelector: podSelector(name) })).items).toHaveLength(0);
    } finally {
      await Promise.all(caches.map((i) => i.stop()));
    }
  }, 60_000);
});

// The autoscaler's write of spec.replicas against the real kube-apiserver: through the StreamJob CRD's scale
// subresource, under the field manager tributary-autoscaler, and a clean NotFound naming the job once it is
// gone. No operator runs here (nothing acts on the object): ~2 s.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNotFound, KubeApiError, Resources, type KubeClient } from '../../kube/index.ts';
import { applyRepoCrd, newClient, suffix, waitFor } from '../../kube/testing/cluster.ts';
import type { StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { AUTOSCALER_FIELD_MANAGER, writeReplicas } from './autoscaler-scale.ts';
import { StreamJobs } from './resource.ts';

describe('the autoscaler’s scale write (real apiserver)', () => {
  let kube: KubeClient;
  let ns: string;

  beforeAll(async () => {
    kube = await newClient();
    await applyRepoCrd(kube, 'streamjobs.tributary.dev');
    await waitFor('the CRD', async () => (await kube.list(StreamJobs), true), 30_000, 250);
    ns = `sjscale-${suffix()}`;
    await kube.create(Resources.Namespace, { metadata: { name: ns, labels: { 'tributary.dev/test': 'streamjob' } } });
  }, 60_000);

  afterAll(async () => {
    if (ns) await kube.delete(Resources.Namespace, undefined, ns).catch(() => undefined);
    await kube?.close();
  });

  it('lands in spec.replicas with managedFields naming tributary-autoscaler; NotFound names the job once gone', async () => {
    const name = 'sized';
    const created = await kube.create<StreamJob>(StreamJobs, {
      apiVersion: 'tributary.dev/v1alpha1',
      kind: 'StreamJob',
      metadata: { name, namespace: ns } as StreamJob['metadata'],
      spec: {
        replicas: 1,
        autoscaler: { enabled: true, mode: 'Scale', maxReplicas: 4 },
        graph: {
          sources: [{ name: 'gen', datagen: { generator: 'schema', rate: 10, fields: { c: { type: 'string' } } } }],
          sinks: [{ name: 'out', from: 'gen', console: {} }],
        },
        stateStorage: { pvc: { claimName: name }, path: '/state' },
      } as unknown as StreamJob['spec'],
    });

    expect(await writeReplicas(kube, created, 3)).toBe(3);
    const scaled = await kube.get<StreamJob>(StreamJobs, ns, name);
    expect(scaled.spec.replicas).toBe(3);
    expect(scaled.metadata.generation).toBe((created.metadata.generation ?? 0) + 1);
    const fields = (scaled.metadata as { managedFields?: { manager?: string; subresource?: string }[] }).managedFields;
    expect(fields?.some((f) => f.manager === AUTOSCALER_FIELD_MANAGER && f.subresource === 'scale')).toBe(true);
    expect(AUTOSCALER_FIELD_MANAGER).toBe('tributary-autoscaler');

    await kube.delete(StreamJobs, ns, name);
    await waitFor(
      'the job gone',
      async () => kube.get(StreamJobs, ns, name).then(() => false, isNotFound),
      10_000,
      100,
    );
    const err = await writeReplicas(kube, scaled, 2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(isNotFound(err)).toBe(true);
    expect((err as Error).message).toContain(`/namespaces/${ns}/streamjobs/${name}/scale`);
    expect((err as Error).message).toContain(`"${name}" not found`);
  }, 30_000);
});

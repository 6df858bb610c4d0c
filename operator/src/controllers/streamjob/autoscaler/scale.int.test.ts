// The autoscaler's write of spec.replicas against the real kube-apiserver: through the StreamJob CRD's scale
// subresource, under the field manager tributary-autoscaler, and a clean NotFound naming the job once it is
// gone; the write conditional on the job's resourceVersion, so a scale written between the autoscaler's read and
// its write survives; and the reconcile's autoscaler stage (autoscale.ts) making that write from a decision in
// mode Scale, deciding again after a Conflict. No
// operator runs here (nothing acts on the objects; the stage's status writes stay in memory): ~3 s.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isConflict, isNotFound, KubeApiError, Resources, type KubeClient } from '../../../kube/index.ts';
import { applyRepoCrd, newClient, suffix, waitFor } from '../../../kube/testing/cluster.ts';
import type { StreamJob } from '../../../api/v1alpha1/streamjob.ts';
import { EventRecorder } from '../../../kube/index.ts';
import { createRegistry } from '../../../telemetry/metrics.ts';
import { AutoscalerHistories } from './histories.ts';
import { autoscalerMetrics } from './metrics.ts';
import { AUTOSCALER_FIELD_MANAGER, writeReplicas } from './scale.ts';
import type { ReconcilerInternals } from '../job-context.ts';
import { autoscaleAt, recordInMemory } from '../testing/autoscaler-stage.ts';
import { StreamJobs } from '../resource.ts';

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

  const create = (name: string, autoscaler: Record<string, unknown>) =>
    kube.create<StreamJob>(StreamJobs, {
      apiVersion: 'tributary.dev/v1alpha1',
      kind: 'StreamJob',
      metadata: { name, namespace: ns } as StreamJob['metadata'],
      spec: {
        replicas: 1,
        autoscaler,
        graph: {
          sources: [{ name: 'gen', datagen: { generator: 'schema', rate: 10, fields: { c: { type: 'string' } } } }],
          sinks: [{ name: 'out', from: 'gen', console: {} }],
        },
        stateStorage: { pvc: { claimName: name }, path: '/state' },
      } as unknown as StreamJob['spec'],
    });

  /**
   * The reconcile's autoscaler stage over `created`, made Running and Ready (in the apiserver too: a re-read sees
   * it so), its one slot loaded; the stage's own status writes stay in memory.
   */
  const autoscalerStage = async (created: StreamJob) => {
    const status: StreamJob['status'] = {
      phase: 'Running',
      deployed: { id: 'd-1', specHash: 'h', parallelism: 1, startedAt: '2026-01-01T00:00:00Z' },
      conditions: [
        { type: 'Ready', status: 'True', reason: 'Running', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' },
      ],
    };
    const { namespace, name } = created.metadata;
    let job = await kube.patch<StreamJob>(StreamJobs, namespace, name, { status }, { subresource: 'status' });
    const r = {
      deps: { kube, events: new EventRecorder({ client: kube, component: 'autoscaler-test' }) },
      record: recordInMemory,
    } as unknown as ReconcilerInternals;
    const a = { histories: new AutoscalerHistories(), metrics: autoscalerMetrics(createRegistry()) };
    const t0 = Date.now();
    return {
      get job() {
        return job;
      },
      /** One reconcile `sec` s after the first, on the job as this stage last had it. */
      async at(sec: number) {
        job = await autoscaleAt(r, job, a, t0, sec);
      },
    };
  };
  type ManagedFields = { managedFields?: { manager?: string; subresource?: string }[] };

  it('the reconcile stage writes the replicas its decision asks for in mode Scale', async () => {
    const name = 'loaded';
    const stage = await autoscalerStage(
      await create(name, { enabled: true, mode: 'Scale', metricsWindow: '10s', maxReplicas: 4 }),
    );
    await stage.at(0);
    await stage.at(6);
    const decision = stage.job.status?.autoscaler?.decisions?.at(-1);
    expect(decision?.action, JSON.stringify(stage.job.status?.autoscaler)).toBe('ScaleUp');
    const stored = await kube.get<StreamJob>(StreamJobs, ns, name);
    expect(stored.spec.replicas).toBe(decision?.to);
    expect(stored.spec.replicas).toBeGreaterThan(1);
    const fields = (stored.metadata as ManagedFields).managedFields;
    expect(fields?.some((f) => f.manager === 'tributary-autoscaler' && f.subresource === 'scale')).toBe(true);
  }, 30_000);

  it('a scale written between the autoscaler’s read and its write survives: Conflict, no overwrite', async () => {
    const name = 'raced';
    const stage = await autoscalerStage(
      await create(name, { enabled: true, mode: 'Scale', metricsWindow: '10s', maxReplicas: 4 }),
    );
    await stage.at(0);
    // The stage holds the job as read at creation; a user scales it before the stage's next write.
    await kube.scale(StreamJobs, ns, name, 2, 'kubectl-scale');
    await stage.at(6);
    const decision = stage.job.status?.autoscaler?.decisions?.at(-1);
    expect(decision?.action, JSON.stringify(stage.job.status?.autoscaler)).toBe('ScaleUp');
    expect(decision?.to).toBeGreaterThan(2);
    const stored = await kube.get<StreamJob>(StreamJobs, ns, name);
    expect(stored.spec.replicas).toBe(2);
    const fields = (stored.metadata as ManagedFields).managedFields;
    expect(fields?.some((f) => f.manager === 'tributary-autoscaler')).toBe(false);
    // The write alone, from the stale read: a Conflict, not an overwrite.
    const err = await writeReplicas(kube, stage.job, 4).catch((e: unknown) => e);
    expect(isConflict(err), String(err)).toBe(true);
    expect((await kube.get<StreamJob>(StreamJobs, ns, name)).spec.replicas).toBe(2);
  }, 30_000);

  it('a job changed between read and write but not its spec (a label): decided again and written', async () => {
    const name = 'relabelled';
    const stage = await autoscalerStage(
      await create(name, { enabled: true, mode: 'Scale', metricsWindow: '10s', maxReplicas: 4 }),
    );
    await stage.at(0);
    await kube.patch(StreamJobs, ns, name, { metadata: { labels: { team: 'x' } } });
    await stage.at(6);
    const decision = stage.job.status?.autoscaler?.decisions?.at(-1);
    expect(decision?.action, JSON.stringify(stage.job.status?.autoscaler)).toBe('ScaleUp');
    const stored = await kube.get<StreamJob>(StreamJobs, ns, name);
    expect(stored.spec.replicas).toBe(decision?.to);
    expect(stored.metadata.labels?.team).toBe('x');
  }, 30_000);

  it('lands in spec.replicas with managedFields naming tributary-autoscaler; NotFound names the job once gone', async () => {
    const name = 'sized';
    const created = await create(name, { enabled: true, mode: 'Scale', maxReplicas: 4 });

    expect(await writeReplicas(kube, created, 3)).toBe(3);
    const scaled = await kube.get<StreamJob>(StreamJobs, ns, name);
    expect(scaled.spec.replicas).toBe(3);
    expect(scaled.metadata.generation).toBe((created.metadata.generation ?? 0) + 1);
    const fields = (scaled.metadata as ManagedFields).managedFields;
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

// The autoscaler's conditional scale write (autoscale.ts, writeScale) when it meets a 409 Conflict: what it reads
// again, decides again and writes. The apiserver here is a hand-written fake: a Conflict on the write exactly
// when a test wants one cannot be produced on demand (autoscaler/scale.int.test.ts makes real ones by racing a
// `kubectl scale`-like write). The engine, load window and metrics are the real ones.
import { describe, expect, it } from 'vitest';
import type { StreamJob, StreamJobSpec } from '../../../api/v1alpha1/streamjob.ts';
import { KubeApiError, type KubeClient } from '../../../kube/index.ts';
import { createRegistry } from '../../../telemetry/metrics.ts';
import type { Autoscaling } from './autoscale.ts';
import { AutoscalerHistories } from './histories.ts';
import { autoscalerMetrics } from './metrics.ts';
import type { ReconcilerInternals } from '../job-context.ts';
import { autoscaleAt, recordInMemory } from '../testing/autoscaler-stage.ts';
import { sampleJob, sampleSpec } from '../testing/sample-job.ts';

const conflict = () =>
  new KubeApiError(409, 'PATCH …/streamjobs/j/scale: 409 the object has been modified', {
    reason: 'Conflict',
  } as ConstructorParameters<typeof KubeApiError>[2]);

interface Write {
  replicas: number;
  resourceVersion: string | undefined;
}

/**
 * A job at resourceVersion 10, generation 1, one replica, that the autoscaler (mode Scale) wants to scale up at
 * its second reconcile; the fake apiserver answers each scale write with the next of `answers` (Conflict, or
 * success when none is left), and a re-read with `fresh` (the job as it is after whatever conflicted).
 */
function harness(answers: ('conflict' | 'ok')[], fresh: (job: StreamJob) => StreamJob) {
  const spec = {
    ...sampleSpec,
    replicas: 1,
    autoscaler: { enabled: true, mode: 'Scale', metricsWindow: '10s', maxReplicas: 4 },
  } as StreamJobSpec;
  const base = sampleJob(spec, {
    phase: 'Running',
    deployed: { id: 'd-1', specHash: 'h', parallelism: 1, startedAt: '2026-01-01T00:00:00Z' },
    conditions: [
      { type: 'Ready', status: 'True', reason: 'Running', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' },
    ],
  });
  let job: StreamJob = { ...base, metadata: { ...base.metadata, resourceVersion: '10', generation: 1 } };
  const writes: Write[] = [];
  const reads: string[] = [];
  const events: { type: string; reason: string; message: string }[] = [];
  const kube = {
    async scale(_rt: unknown, _ns: string, _name: string, replicas: number, _fm: string, resourceVersion?: string) {
      writes.push({ replicas, resourceVersion });
      if (answers.shift() === 'conflict') throw conflict();
      return { spec: { replicas } };
    },
    async get(_rt: unknown, ns: string, name: string) {
      reads.push(`${ns}/${name}`);
      return fresh(job);
    },
  } as unknown as KubeClient;
  const event = (type: string) => async (_o: unknown, reason: string, message: string) => {
    events.push({ type, reason, message });
  };
  const r = {
    deps: {
      kube,
      events: {
        record: async (_o: unknown, type: string, reason: string, message: string) =>
          void events.push({ type, reason, message }),
        normal: event('Normal'),
        warning: event('Warning'),
      },
    },
    record: recordInMemory,
  } as unknown as ReconcilerInternals;
  const a: Autoscaling = { histories: new AutoscalerHistories(), metrics: autoscalerMetrics(createRegistry()) };
  const t0 = Date.parse('2026-01-01T01:00:00Z');
  return {
    writes,
    reads,
    events,
    get job() {
      return job;
    },
    /** Two reconciles, 6 s apart: the second decides ScaleUp and writes it. */
    async run() {
      for (const sec of [0, 6]) job = await autoscaleAt(r, job, a, t0, sec);
    },
  };
}

const bumped = (job: StreamJob, rv: string, patch: Partial<StreamJob['metadata']> = {}): StreamJob['metadata'] => ({
  ...job.metadata,
  resourceVersion: rv,
  ...patch,
});

describe('the autoscaler’s scale write meeting a Conflict', () => {
  it('writes conditionally on the resourceVersion it decided from', async () => {
    const h = harness([], (j) => j);
    await h.run();
    expect(h.job.status?.autoscaler?.decisions?.at(-1)?.action).toBe('ScaleUp');
    expect(h.writes).toEqual([{ replicas: h.job.status?.autoscaler?.decisions?.at(-1)?.to, resourceVersion: '10' }]);
    expect(h.reads).toEqual([]);
  });

  it('a spec changed first (kubectl scale): re-reads, writes nothing more, says so in a Normal Event', async () => {
    const h = harness(['conflict'], (j) => ({
      ...j,
      metadata: bumped(j, '11', { generation: 2 }),
      spec: { ...j.spec, replicas: 3 },
    }));
    await h.run();
    const to = h.job.status?.autoscaler?.decisions?.at(-1)?.to;
    expect(to).toBeGreaterThan(1);
    expect(h.writes).toEqual([{ replicas: to, resourceVersion: '10' }]);
    expect(h.reads).toEqual(['n/j']);
    const ev = h.events.find((e) => e.reason === 'AutoscalerScaleConflict');
    expect(ev?.type).toBe('Normal');
    expect(ev?.message).toContain(`n/j spec.replicas 1 → ${to} not written`);
    expect(ev?.message).toContain('generation 2, spec.replicas 3');
  });

  it('the same spec changed otherwise (a label): decides again on it, writes with its resourceVersion', async () => {
    const h = harness(['conflict'], (j) => ({ ...j, metadata: bumped(j, '11', { labels: { team: 'x' } }) }));
    await h.run();
    const to = h.job.status?.autoscaler?.decisions?.at(-1)?.to;
    expect(h.writes).toEqual([
      { replicas: to, resourceVersion: '10' },
      { replicas: to, resourceVersion: '11' },
    ]);
    expect(h.events.filter((e) => e.type === 'Warning')).toEqual([]);
  });

  it('decided again to wait (an operation began meanwhile): no write, the new decision recorded', async () => {
    const h = harness(['conflict'], (j) => ({
      ...j,
      metadata: bumped(j, '11'),
      status: { ...j.status, pendingOperation: { step: 'savepoint' } } as unknown as StreamJob['status'],
    }));
    await h.run();
    expect(h.writes).toHaveLength(1);
    expect(h.job.status?.autoscaler?.waiting).toMatch(/^OperationInProgress/);
    expect(h.job.status?.autoscaler?.decisions?.at(-1)?.action).not.toBe('ScaleUp');
  });

  it('a second Conflict: stops there with a Warning; the next decision is made on the job as it is then', async () => {
    const h = harness(['conflict', 'conflict'], (j) => ({ ...j, metadata: bumped(j, '11') }));
    await h.run();
    expect(h.writes.map((w) => w.resourceVersion)).toEqual(['10', '11']);
    const ev = h.events.find((e) => e.reason === 'AutoscalerScaleConflict');
    expect(ev?.type).toBe('Warning');
    expect(ev?.message).toContain('it changed again after a re-read');
  });
});

// The autoscaler's wiring (autoscale.ts) with the real engine, metrics registry and load window: what it writes to
// status.autoscaler and when (idempotent), the cadence it asks for, and what turning it off removes. Events go to
// an apiserver address nothing listens on (recording never throws); the scale write is autoscaler/scale.int.test.ts.
import { afterAll, describe, expect, it } from 'vitest';
import type { SlotLoad, StatusResponse } from '../../../../../runtime/src/control/contract.ts';
import type { AutoscalerStatus } from '../../../api/v1alpha1/autoscaler.ts';
import type { StreamJob, StreamJobSpec } from '../../../api/v1alpha1/streamjob.ts';
import { EventRecorder, KubeClient } from '../../../kube/index.ts';
import { silentLogger } from '../../../telemetry/logger.ts';
import { createRegistry } from '../../../telemetry/metrics.ts';
import { autoscale, decisionIntervalMs, shouldWrite, sooner, type Autoscaling } from './autoscale.ts';
import { AutoscalerHistories, loadSample } from './histories.ts';
import { autoscalerMetrics } from './metrics.ts';
import { resolvePolicy } from './policy.ts';
import type { JobCtx, ReconcilerInternals } from '../job-context.ts';
import { unobserved, type Observation } from '../observer.ts';
import type { StatusWrite } from '../status-writes.ts';
import { sampleJob, sampleSpec } from '../testing/sample-job.ts';

const kube = new KubeClient({ server: 'http://127.0.0.1:9', authHeaders: async () => ({}) }, { timeoutMs: 1_000 });
afterAll(() => kube.close());

const load = (sec: number, lag = 0): SlotLoad => ({
  uptimeMs: sec * 1000,
  busyMs: { eventLoop: sec * 500 },
  backpressuredMs: 0,
  recordsIn: sec * 100,
  sources: [{ source: 'in', partitions: 12, assigned: 12, lag, recordsIn: sec * 100 }],
});

const observed = (sec: number): Observation => ({
  ...unobserved(),
  deploymentId: 'd-1',
  runtime: { state: 'RUNNING', load: load(sec) } as unknown as StatusResponse,
});

function harness(autoscaler: StreamJobSpec['autoscaler']) {
  const registry = createRegistry();
  const a: Autoscaling = { histories: new AutoscalerHistories(), metrics: autoscalerMetrics(registry) };
  const writes: StatusWrite[] = [];
  const spec = { ...sampleSpec, replicas: 1, autoscaler } as StreamJobSpec;
  let job: StreamJob = sampleJob(spec, {
    phase: 'Running',
    deployed: { id: 'd-1', specHash: 'h', parallelism: 1, startedAt: '2026-01-01T00:00:00Z' },
    conditions: [
      { type: 'Ready', status: 'True', reason: 'Running', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' },
    ],
  });
  const r = {
    deps: { kube, events: new EventRecorder({ client: kube, component: 'test' }) },
    async record(c: JobCtx, w: StatusWrite, mutate: (s: NonNullable<StreamJob['status']>) => StreamJob['status']) {
      writes.push(w);
      c.job = { ...c.job, status: mutate(structuredClone(c.job.status ?? {})) };
      return c.job;
    },
  } as unknown as ReconcilerInternals;
  const t0 = Date.parse('2026-01-01T01:00:00Z');
  return {
    a,
    registry,
    writes,
    get job() {
      return job;
    },
    /** One reconcile at t0 + `sec` s with the slots' counters at `sec`, the spec as given. */
    async at(sec: number, s: StreamJobSpec = spec) {
      const c: JobCtx = { job, log: silentLogger(), obs: observed(sec), now: new Date(t0 + sec * 1000) };
      const res = await autoscale(r, c, s, a);
      job = c.job;
      return res;
    },
  };
}

describe('autoscale (the wiring)', () => {
  it('writes status.autoscaler when it changes, refreshes the inputs once per interval, asks for the cadence', async () => {
    const h = harness({ enabled: true, mode: 'Recommend', metricsWindow: '10s' });
    expect(await h.at(0)).toEqual({ requeueAfter: 2_000 });
    expect(h.job.status?.autoscaler?.waiting).toMatch(/^CollectingMetrics/);
    expect(h.writes).toEqual(['autoscaler']);
    // Only the waiting detail changed, within the interval: nothing written.
    await h.at(1);
    expect(h.writes).toHaveLength(1);
    await h.at(6);
    const st = h.job.status?.autoscaler;
    expect(st?.waiting).toBeUndefined();
    expect(st?.recommendedReplicas).toBe(1);
    expect(st?.inputs?.processingRate).toBeCloseTo(100);
    expect(h.writes).toHaveLength(2);
    // Same decision, inputs alike: no write until the interval passed, then one refresh.
    await h.at(7);
    expect(h.writes).toHaveLength(2);
    await h.at(8);
    expect(h.writes).toHaveLength(3);
    const text = await h.registry.metrics();
    expect(text).toMatch(/tributary_operator_autoscaler_recommended_replicas\{namespace="n",name="j"\} 1/);
    expect(text).toMatch(/tributary_operator_autoscaler_input_rate\{namespace="n",name="j"\} 100/);
    expect(text).toMatch(/tributary_operator_autoscaler_busy_ratio\{namespace="n",name="j"\} 0.5/);
    expect(text).toMatch(/tributary_operator_autoscaler_lag\{namespace="n",name="j"\} 0/);
  });

  it('turned off: removes status.autoscaler, the load window and every metric series of the job', async () => {
    const h = harness({ enabled: true, metricsWindow: '10s' });
    await h.at(0);
    await h.at(6);
    h.a.metrics.decided('n', 'j', 'Recommend');
    h.a.metrics.observe('n', 'other', 3, undefined);
    expect(h.a.histories.has('n/j')).toBe(true);
    expect(await h.at(7, { ...sampleSpec, autoscaler: { enabled: false } })).toBeUndefined();
    expect(h.job.status?.autoscaler).toBeUndefined();
    expect(h.writes.at(-1)).toBe('autoscaler');
    expect(h.a.histories.has('n/j')).toBe(false);
    const text = await h.registry.metrics();
    expect(text).not.toMatch(/name="j"/);
    expect(text).toMatch(/recommended_replicas\{namespace="n",name="other"\} 3/);
    // Off and already removed: nothing more to write.
    const n = h.writes.length;
    await h.at(8, { ...sampleSpec, autoscaler: { enabled: false } });
    expect(h.writes).toHaveLength(n);
  });

  it('does nothing for an invalid spec (undefined): the deployed one keeps running, unscaled', async () => {
    const h = harness({ enabled: true });
    const c: JobCtx = { job: h.job, log: silentLogger(), obs: observed(0), now: new Date() };
    expect(await autoscale({} as ReconcilerInternals, c, undefined, h.a)).toBeUndefined();
    expect(h.a.histories.size).toBe(0);
  });
});

describe('autoscale helpers', () => {
  const st: AutoscalerStatus = {
    recommendedReplicas: 2,
    inputs: { processingRate: 1, inputRate: 1, lag: 0, busyRatio: 0.5, windowSeconds: 10 },
    decisions: [{ time: '2026-01-01T00:00:00Z', action: 'Hold', from: 1, to: 2, reason: 'a' }],
  };

  it('writes a significant change at once, a refresh of inputs, waiting detail or a held decision only when due', () => {
    expect(shouldWrite(st, { ...st, recommendedReplicas: 3 }, false)).toBe(true);
    expect(shouldWrite(undefined, st, false)).toBe(true);
    const refreshed = { ...st, inputs: { ...st.inputs!, lag: 5 } };
    expect(shouldWrite(st, refreshed, false)).toBe(false);
    expect(shouldWrite(st, refreshed, true)).toBe(true);
    const heldAgain = { ...st, decisions: [{ ...st.decisions![0]!, time: '2026-01-01T00:00:10Z', reason: 'b' }] };
    expect(shouldWrite(st, heldAgain, false)).toBe(false);
    const waiting = (w: string) => ({ ...st, waiting: w });
    expect(shouldWrite(waiting('CollectingMetrics: 1s'), waiting('CollectingMetrics: 2s'), false)).toBe(false);
    expect(shouldWrite(waiting('CollectingMetrics: 1s'), waiting('NotReady: the job is not Ready'), false)).toBe(true);
    expect(shouldWrite(st, structuredClone(st), true)).toBe(false);
  });

  it('decides six times per metrics window, never more often than every 2 s; the reconcile requeues for it', () => {
    expect(decisionIntervalMs(resolvePolicy({ metricsWindow: '1m' }, 8))).toBe(10_000);
    expect(decisionIntervalMs(resolvePolicy({ metricsWindow: '10s' }, 8))).toBe(2_000);
    // The Running cadence (15 s) or none: the autoscaler's interval wins when sooner.
    expect(sooner({ requeueAfter: 15_000 }, { requeueAfter: 10_000 })).toEqual({ requeueAfter: 10_000 });
    expect(sooner(undefined, { requeueAfter: 2_000 })).toEqual({ requeueAfter: 2_000 });
    expect(sooner({ requeueAfter: 1_000 }, { requeueAfter: 2_000 })).toEqual({ requeueAfter: 1_000 });
    expect(sooner(undefined, undefined)).toBeUndefined();
  });

  it('samples slot 0 from its status and the others from their own answers, only for the deployment running', () => {
    const job = sampleJob(sampleSpec, {
      deployed: { id: 'd-1', specHash: 'h', parallelism: 3, startedAt: '' },
    });
    const obs: Observation = {
      ...observed(4),
      slotRuntime: new Map([
        [1, { state: 'RUNNING', load: load(5) }],
        [2, { error: 'refused' }],
      ]),
    };
    const s = loadSample(job, obs, 42);
    expect(s?.deploymentId).toBe('d-1');
    expect(s?.parallelism).toBe(3);
    expect([...(s?.slots.keys() ?? [])]).toEqual([0, 1]);
    expect(s?.slots.get(1)?.uptimeMs).toBe(5000);
    expect(loadSample(job, { ...obs, deploymentId: 'd-0' }, 42)).toBeUndefined();
  });

  it('keeps one load window per job object: a job recreated under its name starts over', () => {
    const hs = new AutoscalerHistories();
    const job = sampleJob(sampleSpec);
    const w = hs.of(job).window;
    expect(hs.of(job).window).toBe(w);
    expect(hs.of({ ...job, metadata: { ...job.metadata, uid: 'u2' } }).window).not.toBe(w);
    expect(hs.size).toBe(1);
    expect(hs.drop('n/j')).toBe(true);
    expect(hs.size).toBe(0);
  });
});

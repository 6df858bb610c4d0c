// The autoscaler's stage of a StreamJob reconcile, after the job's own work (reconcile.ts): the slots' load
// answers of this reconcile's observation feed the job's load window (histories.ts); the engine
// (decide-scale.ts, pure) decides from it; this stage does the writes, in this order:
//   1. status.autoscaler — before the scale write, so the budget (rescaleTimes) counts a rescale that is made
//      even if this process dies right after it; a scale write that failed costs budget, never exceeds it;
//   2. spec.replicas through the scale subresource (mode Scale, scale.ts) — the spec change then
//      wakes the reconcile, which rescales as for any replicas change. The write is conditional on the job's
//      resourceVersion; on a Conflict the job is read again and the decision made again on it (never the stale
//      value written blindly): a spec changed meanwhile — a `kubectl scale` — wins, and is decided on by the
//      reconcile it wakes;
//   3. the decision's Event, and the metrics (metrics.ts).
// Writes are idempotent: status.autoscaler is written when something a reader acts on changed (recommendation,
// decisions, waiting reason, budget, memory); a change of the inputs or of a waiting detail alone is written at
// most once per decision cadence, so a held decision re-made each reconcile does not write each time.
// A job whose autoscaler is off (or absent) has no status.autoscaler, no load window and no metric series.
import { getCondition, isConflict, isNotFound, type ReconcileResult } from '../../../kube/index.ts';
import type { AutoscalerStatus } from '../../../api/v1alpha1/autoscaler.ts';
import type { StreamJob, StreamJobSpec } from '../../../api/v1alpha1/streamjob.ts';
import { decide, waitingReason, type DecideResult } from './decide-scale.ts';
import { resolvePolicy, type AutoscalerPolicy } from './policy.ts';
import { loadSample, type AutoscalerHistories } from './histories.ts';
import type { AutoscalerMetrics } from './metrics.ts';
import { writeReplicas } from './scale.ts';
import type { JobCtx, ReconcilerInternals } from '../job-context.ts';
import { StreamJobs } from '../resource.ts';
import { stableJson } from '../spec/hash.ts';

/** Decisions are never made more often than this, whatever the metrics window (each asks every slot). */
export const MIN_DECISION_INTERVAL_MS = 2_000;

export interface Autoscaling {
  readonly histories: AutoscalerHistories;
  readonly metrics: AutoscalerMetrics;
}

/** How often a Running job with its autoscaler on is reconciled: six samples per metrics window. */
export function decisionIntervalMs(policy: AutoscalerPolicy): number {
  return Math.max(MIN_DECISION_INTERVAL_MS, Math.round(policy.metricsWindowMs / 6));
}

/** The earlier of the reconcile's own requeue and the autoscaler's (none = none asked). */
export function sooner(a: ReconcileResult | void, b: ReconcileResult | undefined): ReconcileResult | void {
  const ms = [a?.requeueAfter, b?.requeueAfter].filter((x): x is number => x !== undefined);
  return ms.length === 0 ? a : { requeueAfter: Math.min(...ms) };
}

/** What of status.autoscaler a reader acts on: all but the inputs, the waiting detail and a held decision's text. */
function significant(s: AutoscalerStatus | undefined): string {
  if (s === undefined) return '';
  const { inputs: _inputs, waiting, decisions, ...rest } = s;
  void _inputs;
  return stableJson({
    ...rest,
    waiting: waiting === undefined ? undefined : waitingReason(waiting),
    decisions: decisions?.map((d) => [d.action, d.from, d.to]),
  });
}

/** Whether `next` is written over `prev`: a significant change always, any other only when a refresh is due. */
export function shouldWrite(prev: AutoscalerStatus | undefined, next: AutoscalerStatus, refreshDue: boolean): boolean {
  if (significant(prev) !== significant(next)) return true;
  return refreshDue && stableJson(prev) !== stableJson(next);
}

/** Forgets a job (deleted, or its autoscaler off): its load window and its metric series. */
export function forgetJob(a: Autoscaling, key: string): void {
  const [namespace = '', name = ''] = key.split('/', 2);
  a.histories.drop(key);
  a.metrics.forget(namespace, name);
}

/**
 * Runs the autoscaler for `c.job` when `spec` (the validated spec; undefined = invalid, nothing is decided) turns
 * it on. Returns the requeue that keeps decisions coming while the job is Running.
 */
export async function autoscale(
  r: ReconcilerInternals,
  c: JobCtx,
  spec: StreamJobSpec | undefined,
  a: Autoscaling,
): Promise<ReconcileResult | undefined> {
  if (!spec) return undefined;
  const { namespace, name } = c.job.metadata;
  if (spec.autoscaler?.enabled !== true) {
    forgetJob(a, `${namespace}/${name}`);
    if (c.job.status?.autoscaler !== undefined)
      await r.record(c, 'autoscaler', (st) => {
        const { autoscaler: _off, ...rest } = st;
        void _off;
        return rest;
      });
    return undefined;
  }
  const policy = resolvePolicy(spec.autoscaler, spec.maxParallelism);
  const history = a.histories.of(c.job);
  const now = c.now.getTime();
  const sample = loadSample(c.job, c.obs, now);
  if (sample) history.window.add(sample);
  const prev = c.job.status?.autoscaler;
  const inputs = history.window.inputs(now, policy.metricsWindowMs);
  // The decision on the job as `job` has it (replicas, readiness, operation), from the same memory and inputs.
  const decideOn = (job: StreamJob): DecideResult => {
    const ready = getCondition(job.status?.conditions, 'Ready');
    const readyAt = ready?.status === 'True' ? Date.parse(ready.lastTransitionTime ?? '') : NaN;
    return decide({
      now,
      policy,
      current: job.spec.replicas,
      maxParallelism: spec.maxParallelism,
      inputs,
      previous: prev,
      ready: ready?.status === 'True',
      ...(Number.isFinite(readyAt) ? { readySince: readyAt } : {}),
      operationPending: job.status?.pendingOperation !== undefined,
    });
  };
  const result = decideOn(c.job);
  const interval = decisionIntervalMs(policy);
  if (shouldWrite(prev, result.status, now - history.lastWriteAt >= interval)) {
    await r.record(c, 'autoscaler', (st) => ({ ...st, autoscaler: result.status }));
    history.lastWriteAt = now;
  }
  a.metrics.observe(namespace, name, result.status.recommendedReplicas, result.status.inputs);
  await act(r, c, policy, result, prev, a, decideOn);
  return c.job.status?.phase === 'Running' ? { requeueAfter: interval } : undefined;
}

/** The scale write (mode Scale) and the decision's Event; a decision that is new is counted. */
async function act(
  r: ReconcilerInternals,
  c: JobCtx,
  policy: AutoscalerPolicy,
  result: DecideResult,
  prev: AutoscalerStatus | undefined,
  a: Autoscaling,
  decideOn: (job: StreamJob) => DecideResult,
): Promise<void> {
  const job = c.job;
  const { namespace, name } = job.metadata;
  const newest = result.status.decisions?.at(-1);
  const before = prev?.decisions?.at(-1);
  if (newest && (newest.time !== before?.time || newest.action !== before.action) && result.event)
    a.metrics.decided(namespace, name, newest.action);
  if (result.event) await r.deps.events.record(job, result.event.type, result.event.reason, result.event.message);
  const to = result.scaleTo;
  if (policy.mode !== 'Scale' || to === undefined || to === job.spec.replicas) return;
  await writeScale(r, c, to, decideOn);
}

/**
 * Writes `to` to spec.replicas, conditional on the resourceVersion the decision was made from. On a Conflict the
 * job is read again, once: a job at another generation (its spec changed: a `kubectl scale`, or an edit that may
 * turn the autoscaler off) is not written — the reconcile its change wakes validates the new spec and decides on
 * its replicas; a job changed otherwise (metadata, status) gets the decision made again on it, written only if it
 * still asks for `to` and recorded if it changed. A second Conflict waits for the next decision.
 */
async function writeScale(
  r: ReconcilerInternals,
  c: JobCtx,
  to: number,
  decideOn: (job: StreamJob) => DecideResult,
): Promise<void> {
  const { namespace, name } = c.job.metadata;
  const from = c.job.spec.replicas;
  const what = `${namespace}/${name} spec.replicas ${from} → ${to}`;
  let job = c.job;
  for (let attempt = 0; ; attempt++) {
    try {
      await writeReplicas(r.deps.kube, job, to);
      c.log.info({ from, to, attempt }, 'autoscaler: spec.replicas written');
      return;
    } catch (err) {
      if (isNotFound(err)) return; // deleted meanwhile: its next reconcile forgets it
      const conflict = isConflict(err);
      c.log.warn({ err, to, conflict }, 'autoscaler: the scale write failed');
      if (!conflict || attempt > 0) {
        const again = conflict ? 'it changed again after a re-read; the next decision is made on it' : '';
        await r.deps.events.warning(
          c.job,
          conflict ? 'AutoscalerScaleConflict' : 'AutoscalerScaleFailed',
          `could not write ${what}: ${again || (err as Error).message}`,
        );
        return;
      }
    }
    let fresh: StreamJob;
    try {
      fresh = await r.deps.kube.get<StreamJob>(StreamJobs, namespace, name);
    } catch (err) {
      if (isNotFound(err)) return;
      c.log.warn({ err }, 'autoscaler: re-reading the job after a scale conflict failed');
      return; // the next reconcile reads it anyway
    }
    if (fresh.metadata.generation !== job.metadata.generation) {
      const now = fresh.spec.replicas;
      c.log.info({ from, to, now, generation: fresh.metadata.generation }, 'autoscaler: the spec changed first');
      await r.deps.events.normal(
        c.job,
        'AutoscalerScaleConflict',
        `${what} not written: the spec changed first (generation ${fresh.metadata.generation}, spec.replicas ${now}); the autoscaler decides again on it`,
      );
      return;
    }
    const again = decideOn(fresh);
    if (again.scaleTo !== to) {
      c.log.info({ from, to, again: again.scaleTo }, 'autoscaler: decided again after a scale conflict');
      await r.record(c, 'autoscaler', (st) => ({ ...st, autoscaler: again.status }));
      return;
    }
    job = fresh;
  }
}

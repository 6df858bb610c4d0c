import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Phase, StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { autoscalerMetrics, type AutoscalerMetrics } from './autoscaler/metrics.ts';

export interface StreamJobMetrics {
  readonly savepointDuration: Histogram<'result' | 'reason'>;
  readonly rescaleDowntime: Histogram<'kind'>;
  readonly operations: Counter<'kind' | 'result'>;
  readonly restarts: Counter;
  readonly jobsByPhase: Gauge<'phase'>;
  /** Savepoint folders the orphan sweep deleted (operation/sweep-orphans.ts). */
  readonly orphanSavepointsDeleted: Counter;
  /** Orphan sweeps that could not list or delete (each also a Warning Event). */
  readonly orphanSweepFailures: Counter;
  /** Per job, while its autoscaler is on (autoscaler/metrics.ts). */
  readonly autoscaler: AutoscalerMetrics;
  /** Per job: 1 while its Ready condition is True, else 0; `reason` is the condition's (Suspended, Finished, ...). */
  readonly jobReady: Gauge<'namespace' | 'name' | 'reason'>;
  /** Per job: the restarts status.restartTimes records, counted as they appear (the alerts' restart loop). */
  readonly jobRestarts: Counter<'namespace' | 'name'>;
  /**
   * Per job with the health check on (spec.health.checkpointTimeout): 1 while its CheckpointProgress
   * condition is True, 0 while False; no series while the condition is absent (check off, nothing deployed).
   */
  readonly checkpointProgress: Gauge<'namespace' | 'name'>;
  /** Per job: restarts the health check started (restartOnUnhealthy), counted when the restart is recorded. */
  readonly unhealthyRestarts: Counter<'namespace' | 'name'>;
  setPhase(key: string, phase: Phase | undefined): void;
  /** The job as last read or written: its phase and per-job series. */
  observeJob(job: StreamJob): void;
  /** The job is gone: its phase no longer counts and its per-job series are removed. */
  forget(key: string): void;
}

const byRegistry = new WeakMap<Registry, StreamJobMetrics>();
const PHASES: readonly Phase[] = [
  'Deploying',
  'Running',
  'Savepointing',
  'Upgrading',
  'Suspended',
  'Restarting',
  'Finished',
  'Failed',
  'Invalid',
];

/** Whether the RFC 3339 time `t` is later than `than` (always, when there is none). */
const after = (t: string, than: string | undefined): boolean => than === undefined || Date.parse(t) > Date.parse(than);

export function streamJobMetrics(registry: Registry): StreamJobMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const savepointDuration = new Histogram({
    name: 'tributary_operator_savepoint_duration_seconds',
    help: 'From trigger to COMPLETED/FAILED, per savepoint the operator asked for.',
    labelNames: ['result', 'reason'],
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
    registers,
  });
  const rescaleDowntime = new Histogram({
    name: 'tributary_operator_rescale_downtime_seconds',
    help: 'From the old pods stopping (savepoint done or deletion begun) to the new deployment RUNNING.',
    labelNames: ['kind'],
    buckets: [0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120],
    registers,
  });
  const operations = new Counter({
    name: 'tributary_operator_streamjob_operations_total',
    help: 'StreamJob operations finished, by kind and result.',
    labelNames: ['kind', 'result'],
    registers,
  });
  const restarts = new Counter({
    name: 'tributary_operator_streamjob_restarts_total',
    help: 'Whole-job restarts after a slot failure.',
    registers,
  });
  const jobsByPhase = new Gauge({
    name: 'tributary_operator_streamjobs',
    help: 'StreamJobs by phase.',
    labelNames: ['phase'],
    registers,
  });
  const orphanSavepointsDeleted = new Counter({
    name: 'tributary_operator_orphan_savepoints_deleted_total',
    help: 'Savepoint folders the orphan sweep deleted (nothing in status or spec referenced them).',
    registers,
  });
  const orphanSweepFailures = new Counter({
    name: 'tributary_operator_orphan_sweep_failures_total',
    help: 'Orphan savepoint sweeps that could not list or delete a folder.',
    registers,
  });
  const jobReady = new Gauge({
    name: 'tributary_operator_streamjob_ready',
    help: 'Per StreamJob: 1 while its Ready condition is True, else 0; reason is the condition reason.',
    labelNames: ['namespace', 'name', 'reason'],
    registers,
  });
  const jobRestarts = new Counter({
    name: 'tributary_operator_streamjob_job_restarts_total',
    help: 'Per StreamJob: whole-job restarts after a slot failure, as status.restartTimes records them.',
    labelNames: ['namespace', 'name'],
    registers,
  });
  const checkpointProgress = new Gauge({
    name: 'tributary_operator_streamjob_checkpoint_progress',
    help: 'Per StreamJob with spec.health.checkpointTimeout: 1 while its CheckpointProgress condition is True, 0 while False.',
    labelNames: ['namespace', 'name'],
    registers,
  });
  const unhealthyRestarts = new Counter({
    name: 'tributary_operator_streamjob_unhealthy_restarts_total',
    help: 'Per StreamJob: restarts the health check started (spec.health.restartOnUnhealthy), no checkpoint completed within spec.health.checkpointTimeout.',
    labelNames: ['namespace', 'name'],
    registers,
  });
  for (const p of PHASES) jobsByPhase.set({ phase: p }, 0);
  const perJob = new Map<string, { reason: string; newestRestart: string | undefined }>();
  const phases = new Map<string, Phase>();
  const recount = () => {
    const counts = new Map<Phase, number>(PHASES.map((p) => [p, 0]));
    for (const p of phases.values()) counts.set(p, (counts.get(p) ?? 0) + 1);
    for (const [p, n] of counts) jobsByPhase.set({ phase: p }, n);
  };
  const m: StreamJobMetrics = {
    savepointDuration,
    rescaleDowntime,
    operations,
    restarts,
    jobsByPhase,
    orphanSavepointsDeleted,
    orphanSweepFailures,
    autoscaler: autoscalerMetrics(registry),
    jobReady,
    jobRestarts,
    checkpointProgress,
    unhealthyRestarts,
    setPhase(key, phase) {
      if (phase === undefined || phases.get(key) === phase) return;
      phases.set(key, phase);
      recount();
    },
    observeJob(job) {
      const { namespace, name } = job.metadata;
      const key = `${namespace}/${name}`;
      m.setPhase(key, job.status?.phase);
      const ready = job.status?.conditions?.find((c) => c.type === 'Ready');
      const reason = ready?.reason ?? 'Unknown';
      const times = job.status?.restartTimes ?? [];
      const newest = times.at(-1);
      const prev = perJob.get(key);
      // The first sight of a job (an operator start) is the baseline: its earlier restarts were counted before.
      if (prev && newest !== undefined && newest !== prev.newestRestart)
        jobRestarts.inc({ namespace, name }, times.filter((t) => after(t, prev.newestRestart)).length);
      else if (!prev) {
        jobRestarts.inc({ namespace, name }, 0);
        // From 0, so that increase() sees the first restart the health check starts.
        unhealthyRestarts.inc({ namespace, name }, 0);
      }
      if (prev && prev.reason !== reason) jobReady.remove({ namespace, name, reason: prev.reason });
      jobReady.set({ namespace, name, reason }, ready?.status === 'True' ? 1 : 0);
      const progress = job.status?.conditions?.find((c) => c.type === 'CheckpointProgress');
      if (progress) checkpointProgress.set({ namespace, name }, progress.status === 'True' ? 1 : 0);
      else checkpointProgress.remove({ namespace, name });
      perJob.set(key, { reason, newestRestart: newest ?? prev?.newestRestart });
    },
    forget(key) {
      if (phases.delete(key)) recount();
      const prev = perJob.get(key);
      if (!prev) return;
      perJob.delete(key);
      const [namespace = '', name = ''] = key.split('/');
      jobReady.remove({ namespace, name, reason: prev.reason });
      jobRestarts.remove({ namespace, name });
      checkpointProgress.remove({ namespace, name });
      unhealthyRestarts.remove({ namespace, name });
    },
  };
  byRegistry.set(registry, m);
  return m;
}

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Phase } from '../../api/v1alpha1/streamjob.ts';
import { autoscalerMetrics, type AutoscalerMetrics } from './autoscaler-metrics.ts';

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
  /** Per job, while its autoscaler is on (autoscaler-metrics.ts). */
  readonly autoscaler: AutoscalerMetrics;
  setPhase(key: string, phase: Phase | undefined): void;
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
  for (const p of PHASES) jobsByPhase.set({ phase: p }, 0);
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
    setPhase(key, phase) {
      if (phase === undefined || phases.get(key) === phase) return;
      phases.set(key, phase);
      recount();
    },
    forget(key) {
      if (phases.delete(key)) recount();
    },
  };
  byRegistry.set(registry, m);
  return m;
}

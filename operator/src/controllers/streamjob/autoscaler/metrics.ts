// The autoscaler's Prometheus metrics, per StreamJob (labels namespace, name): what it recommends, the inputs it
// decided from, and its decisions by action. A job's series exist only while its autoscaler is on: `forget`
// removes every one of them (the job deleted, or its autoscaler turned off), so a dashboard never shows a stale
// recommendation as current.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AutoscalerDecision, AutoscalerInputs } from '../../../api/v1alpha1/autoscaler.ts';

type JobLabels = 'namespace' | 'name';

export interface AutoscalerMetrics {
  readonly recommendedReplicas: Gauge<JobLabels>;
  readonly decisions: Counter<JobLabels | 'action'>;
  readonly busyRatio: Gauge<JobLabels>;
  readonly inputRate: Gauge<JobLabels>;
  readonly lag: Gauge<JobLabels>;
  /** The gauges of one job from its last decision's recommendation and inputs (absent ones are left as they were). */
  observe(namespace: string, name: string, recommended: number | undefined, inputs: AutoscalerInputs | undefined): void;
  /** One decision of the job (an Event was emitted for it). */
  decided(namespace: string, name: string, action: AutoscalerDecision['action']): void;
  /** Removes every series of the job. */
  forget(namespace: string, name: string): void;
}

const byRegistry = new WeakMap<Registry, AutoscalerMetrics>();

export function autoscalerMetrics(registry: Registry): AutoscalerMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const labelNames = ['namespace', 'name'] as const;
  const recommendedReplicas = new Gauge({
    name: 'tributary_operator_autoscaler_recommended_replicas',
    help: 'Replicas the StreamJob needs by the autoscaler’s last decision (status.autoscaler.recommendedReplicas).',
    labelNames,
    registers,
  });
  const decisions = new Counter({
    name: 'tributary_operator_autoscaler_decisions_total',
    help: 'Autoscaler decisions that changed something or were held back, by action (ScaleUp, ScaleDown, Hold, Recommend).',
    labelNames: [...labelNames, 'action'],
    registers,
  });
  const busyRatio = new Gauge({
    name: 'tributary_operator_autoscaler_busy_ratio',
    help: 'Busy share of the busiest slot’s bottleneck over the autoscaler’s metrics window, in [0, 1].',
    labelNames,
    registers,
  });
  const inputRate = new Gauge({
    name: 'tributary_operator_autoscaler_input_rate',
    help: 'Records per second arriving at the StreamJob’s sources over the autoscaler’s metrics window.',
    labelNames,
    registers,
  });
  const lag = new Gauge({
    name: 'tributary_operator_autoscaler_lag',
    help: 'Records behind the end of the StreamJob’s Kafka source partitions, summed, at the last decision.',
    labelNames,
    registers,
  });
  /** Actions counted per job: a counter's series is removed by its full label set. */
  const actions = new Map<string, Set<AutoscalerDecision['action']>>();
  const m: AutoscalerMetrics = {
    recommendedReplicas,
    decisions,
    busyRatio,
    inputRate,
    lag,
    observe(namespace, name, recommended, inputs) {
      const labels = { namespace, name };
      if (recommended !== undefined) recommendedReplicas.set(labels, recommended);
      if (!inputs) return;
      busyRatio.set(labels, inputs.busyRatio);
      inputRate.set(labels, inputs.inputRate);
      lag.set(labels, inputs.lag);
    },
    decided(namespace, name, action) {
      const key = `${namespace}/${name}`;
      const seen = actions.get(key) ?? new Set();
      seen.add(action);
      actions.set(key, seen);
      decisions.inc({ namespace, name, action });
    },
    forget(namespace, name) {
      const labels = { namespace, name };
      for (const g of [recommendedReplicas, busyRatio, inputRate, lag]) g.remove(labels);
      const key = `${namespace}/${name}`;
      for (const action of actions.get(key) ?? []) decisions.remove({ ...labels, action });
      actions.delete(key);
    },
  };
  byRegistry.set(registry, m);
  return m;
}

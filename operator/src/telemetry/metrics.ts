// The kube/ machinery's metrics (KubeMetrics): reconciles, work queues, informers, status writes,
// Events, leader election, kube-apiserver requests. Each controller's own are its metrics.ts
// (StreamJobMetrics, DruidMetrics), so no one type is "the operator's metrics" (and runtime/'s
// OperatorMetrics is a stream operator's). Names mirror controller-runtime's
// `controller_runtime_*` and client-go's `workqueue_*`, prefixed `tributary_operator_`. Metrics
// live in a Registry the caller owns (never prom-client's global one), so tests can make fresh
// registries; `kubeMetrics` memoizes per registry so several controllers and queues can share
// one without double-registration errors.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

const PREFIX = 'tributary_operator_';

export interface KubeMetrics {
  readonly registry: Registry;
  /** result: success | error | requeue_after | terminal_error */
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileTerminalErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  readonly activeWorkers: Gauge<'controller'>;
  readonly maxConcurrentReconciles: Gauge<'controller'>;
  readonly workqueueDepth: Gauge<'name'>;
  readonly workqueueAdds: Counter<'name'>;
  readonly workqueueRetries: Counter<'name'>;
  readonly workqueueQueueDuration: Histogram<'name'>;
  readonly workqueueWorkDuration: Histogram<'name'>;
  /** Restarts of an informer's list+watch loop after an error (not the routine watch timeouts). */
  readonly informerRestarts: Counter<'resource'>;
  readonly informerRelists: Counter<'resource'>;
  /** result: written | skipped | conflict */
  readonly statusWrites: Counter<'result'>;
  /** result: created | aggregated | dropped | failed */
  readonly events: Counter<'result'>;
  readonly leaderStatus: Gauge<'name'>;
  /** Requests to the kube-apiserver with no answer, a timeout, 429 or 5xx (code: status, transport, timeout). */
  readonly kubeRequestFailures: Counter<'verb' | 'code'>;
  /** 0 from the first troubled kube request to the next one answered (kube/api-health.ts). */
  readonly apiserverAvailable: Gauge;
  /** Time from sending a kube request (not a watch) to its whole answer, by verb (client-go's request latency). */
  readonly kubeRequestDuration: Histogram<'verb'>;
}

const byRegistry = new WeakMap<Registry, KubeMetrics>();

export function createRegistry(): Registry {
  return new Registry();
}

export function kubeMetrics(registry: Registry): KubeMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  // Exponential buckets like controller-runtime's reconcile_time_seconds (5ms .. ~80s).
  const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
  const queueBuckets = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1, 10, 100, 1000];
  const m: KubeMetrics = {
    registry,
    reconcileTotal: new Counter({
      name: `${PREFIX}reconcile_total`,
      help: 'Reconciliations per controller and result.',
      labelNames: ['controller', 'result'],
      registers,
    }),
    reconcileErrors: new Counter({
      name: `${PREFIX}reconcile_errors_total`,
      help: 'Reconciliation errors per controller.',
      labelNames: ['controller'],
      registers,
    }),
    reconcileTerminalErrors: new Counter({
      name: `${PREFIX}terminal_reconcile_errors_total`,
      help: 'Terminal (not retried) reconciliation errors per controller.',
      labelNames: ['controller'],
      registers,
    }),
    reconcileTime: new Histogram({
      name: `${PREFIX}reconcile_time_seconds`,
      help: 'Duration of reconciliations per controller.',
      labelNames: ['controller'],
      buckets: durationBuckets,
      registers,
    }),
    activeWorkers: new Gauge({
      name: `${PREFIX}active_workers`,
      help: 'Workers currently running a reconcile, per controller.',
      labelNames: ['controller'],
      registers,
    }),
    maxConcurrentReconciles: new Gauge({
      name: `${PREFIX}max_concurrent_reconciles`,
      help: 'Configured workers per controller.',
      labelNames: ['controller'],
      registers,
    }),
    workqueueDepth: new Gauge({
      name: `${PREFIX}workqueue_depth`,
      help: 'Keys waiting in the work queue.',
      labelNames: ['name'],
      registers,
    }),
    workqueueAdds: new Counter({
      name: `${PREFIX}workqueue_adds_total`,
      help: 'Adds handled by the work queue.',
      labelNames: ['name'],
      registers,
    }),
    workqueueRetries: new Counter({
      name: `${PREFIX}workqueue_retries_total`,
      help: 'Rate-limited re-adds handled by the work queue.',
      labelNames: ['name'],
      registers,
    }),
    workqueueQueueDuration: new Histogram({
      name: `${PREFIX}workqueue_queue_duration_seconds`,
      help: 'Time a key waits in the queue before being processed.',
      labelNames: ['name'],
      buckets: queueBuckets,
      registers,
    }),
    workqueueWorkDuration: new Histogram({
      name: `${PREFIX}workqueue_work_duration_seconds`,
      help: 'Time processing a key takes.',
      labelNames: ['name'],
      buckets: queueBuckets,
      registers,
    }),
    informerRestarts: new Counter({
      name: `${PREFIX}informer_restarts_total`,
      help: 'List+watch restarts after an error, per resource.',
      labelNames: ['resource'],
      registers,
    }),
    informerRelists: new Counter({
      name: `${PREFIX}informer_relists_total`,
      help: 'Full lists made by informers, per resource.',
      labelNames: ['resource'],
      registers,
    }),
    statusWrites: new Counter({
      name: `${PREFIX}status_writes_total`,
      help: 'Status subresource writes by result.',
      labelNames: ['result'],
      registers,
    }),
    events: new Counter({
      name: `${PREFIX}events_total`,
      help: 'Kubernetes Events recorded by result.',
      labelNames: ['result'],
      registers,
    }),
    leaderStatus: new Gauge({
      name: `${PREFIX}leader_election_master_status`,
      help: '1 while this process holds the lease.',
      labelNames: ['name'],
      registers,
    }),
    kubeRequestFailures: new Counter({
      name: `${PREFIX}kube_request_failures_total`,
      help: 'Requests to the kube-apiserver that got no answer, timed out, or were answered 429 or 5xx, by verb and code.',
      labelNames: ['verb', 'code'],
      registers,
    }),
    apiserverAvailable: new Gauge({
      name: `${PREFIX}kube_apiserver_available`,
      help: '1 while the kube-apiserver answers; 0 from its first failed request to the next answered one.',
      registers,
    }),
    kubeRequestDuration: new Histogram({
      name: `${PREFIX}kube_request_duration_seconds`,
      help: 'Time from sending a request to the kube-apiserver (not a watch) to its whole answer or failure, by verb.',
      labelNames: ['verb'],
      buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
  };
  byRegistry.set(registry, m);
  return m;
}

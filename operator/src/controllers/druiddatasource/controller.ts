import {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  type Controller,
  type Manager,
} from '../../kube/index.ts';
import type { DruidDatasource } from '../../api/v1alpha1/druiddatasource.ts';
import { DruidClients } from './druid-clients.ts';
import { druidMetrics } from './metrics.ts';
import { druidDatasourceReconciler } from './reconcile.ts';
import { DruidDatasources } from './resource.ts';

export interface DruidDatasourceControllerOptions {
  /** Watch one namespace; all when omitted. */
  readonly namespace?: string;
  readonly workers?: number;
  readonly pollIntervalMs?: number;
}

/** Registers the DruidDatasource controller on a manager; returns it and what to close on shutdown. */
export function addDruidDatasourceController(
  mgr: Manager,
  opts: DruidDatasourceControllerOptions = {},
): { controller: Controller<DruidDatasource>; close: () => Promise<void> } {
  const datasources = mgr.informer<DruidDatasource>(
    DruidDatasources,
    opts.namespace ? { namespace: opts.namespace } : {},
  );
  const druid = new DruidClients(mgr.client);
  const controller = mgr.addController<DruidDatasource>({
    name: 'druiddatasource',
    for: datasources,
    // Status-only updates are our own writes; reconciling on them would only re-poll Druid.
    forUpdatePredicate: (oldObj, newObj) =>
      oldObj.metadata.generation !== newObj.metadata.generation ||
      oldObj.metadata.deletionTimestamp !== newObj.metadata.deletionTimestamp ||
      JSON.stringify(oldObj.metadata.finalizers) !== JSON.stringify(newObj.metadata.finalizers),
    workers: opts.workers ?? 2,
    // Druid unreachable is retried through the queue's per-key backoff. client-go's default cap
    // (1,000 s) would leave a datasource unsynced for many minutes after a short Druid outage;
    // capped at 30 s, it converges within half a minute of Druid's return.
    rateLimiter: new MaxOfRateLimiter<string>(
      new ItemExponentialFailureRateLimiter<string>(100, 30_000),
      new BucketRateLimiter<string>(10, 100),
    ),
    reconcile: druidDatasourceReconciler({
      datasources,
      kube: mgr.client,
      druid,
      statusWriter: mgr.statusWriter,
      events: mgr.events,
      metrics: druidMetrics(mgr.metrics.registry),
      ...(opts.pollIntervalMs === undefined ? {} : { pollIntervalMs: opts.pollIntervalMs }),
    }),
  });
  return { controller, close: () => druid.close() };
}

import {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  type Controller,
  type Manager,
} from '../../kube/index.ts';
import type { DruidDatasource } from '../../api/v1alpha1/druiddatasource.ts';
import { DruidClients } from './druid-clients.ts';
import type { DruidRetryOptions } from './druid-outage.ts';
import { druidMetrics } from './metrics.ts';
import { druidDatasourceReconciler } from './reconcile.ts';
import { DruidDatasources } from './resource.ts';

export interface DruidDatasourceControllerOptions {
  /** Watch one namespace; all when omitted. */
  readonly namespace?: string;
  readonly workers?: number;
  readonly pollIntervalMs?: number;
  /**
   * While Druid is unavailable: the retry backoff (initialMs 1 s, doubling to maxMs 30 s) and the
   * interval of its warning line (logEveryMs 30 s); druid-outage.ts.
   */
  readonly druidRetry?: Partial<DruidRetryOptions>;
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
    // Druid unavailable is retried by the reconcile's own backoff (druid-outage.ts, druidRetry);
    // this limiter paces other errors (kube API, credentials, a terminate on deletion). client-go's
    // default cap (1,000 s) would leave a datasource unsynced for many minutes; capped at 30 s.
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
      ...(opts.druidRetry === undefined ? {} : { druidRetry: opts.druidRetry }),
    }),
  });
  return { controller, close: () => druid.close() };
}

// The DruidDatasource reconcile: get → finalizer → observe (the object, the live supervisor with
// its claim) → decide (decide.ts, pure) → act (act.ts) → observe Druid's status → record
// (record.ts). Level-based, as Druid has no watch: every run reads the live supervisor again.
//
// Protocol:
//  * Owns one Druid Kafka supervisor per object, id spec.dataSource (default metadata.name), and
//    within it only the keys desiredSupervisorSpec sets (drift compares those; Druid's own are
//    left alone); plus its finalizer and its status. Supervisor ids are global in Druid: the
//    claimant is recorded in the supervisor's context (supervisor-claim.ts), and an object that
//    does not hold the claim never updates, suspends, resumes or terminates it (ClaimedElsewhere).
//  * Writes first the finalizer, before any Druid write, so no supervisor it created outlives a
//    deletion it did not see; the claim travels inside the upsert that creates the supervisor.
//  * Idempotent: every Druid write (act.ts), so status is recorded after acting, from what Druid
//    reports then; no intent is recorded ahead (nothing destroyed needs remembering, unlike a
//    StreamJob's pods). A reconcile killed between act and record is repeated harmlessly.
//  * Druid down (unreachable or 5xx) or refusing the credentials (401/403): status Synced Unknown,
//    Ready False (DruidUnavailable, DruidUnauthorized), a Warning Event, and the error thrown so
//    the queue retries with its backoff (capped at 30 s: controller.ts); a deletion with
//    deletionPolicy Terminate keeps its finalizer until Druid has terminated the supervisor
//    (TerminateFailed). Druid rejecting the spec (4xx): SpecRejected, Synced False, looked at
//    again in 5 min or at a spec edit. Credentials unusable: the reason, an Event, retried.
//  * Polls a settled supervisor every pollIntervalMs (30 s), every 5 s (or pollIntervalMs if
//    shorter) after acting or while it is not settled, one claimed elsewhere every 60 s.
import type { Logger } from 'pino';
import {
  addFinalizer,
  hasFinalizer,
  isBeingDeleted,
  removeFinalizer,
  type EventRecorder,
  type Informer,
  type KubeClient,
  type ReconcileContext,
  type ReconcileRequest,
  type ReconcileResult,
  type StatusWriter,
} from '../../kube/index.ts';
import { dataSourceOf, type DruidDatasource } from '../../api/v1alpha1/druiddatasource.ts';
import type { DruidClient } from '../../druid/client.ts';
import { DruidError } from '../../druid/errors.ts';
import type { SupervisorSpec } from '../../druid/types.ts';
import { act, actOnDeletion } from './act.ts';
import { claimRetryMs, decide, decideDeletion, deletionReadsLive, druidFailure, nextPollMs } from './decide.ts';
import { CredentialsError, type DruidClients } from './druid-clients.ts';
import type { DruidMetrics } from './metrics.ts';
import { statusRecorder } from './record.ts';
import { DruidDatasources, supervisorFinalizer } from './resource.ts';
import { withOwnerMarker } from './supervisor-claim.ts';
import { desiredSupervisorSpec, specHash } from './supervisor-spec.ts';

export interface DruidDatasourceReconcilerDeps {
  readonly datasources: Informer<DruidDatasource>;
  readonly kube: KubeClient;
  readonly druid: DruidClients;
  readonly statusWriter: StatusWriter;
  readonly events: EventRecorder;
  readonly metrics: DruidMetrics;
  /** How often a healthy datasource is re-read from Druid (state, lag, drift). */
  readonly pollIntervalMs?: number;
  readonly now?: () => Date;
}

const defaultPollMs = 30_000;

export function druidDatasourceReconciler(deps: DruidDatasourceReconcilerDeps) {
  const record = statusRecorder({
    statusWriter: deps.statusWriter,
    metrics: deps.metrics,
    now: deps.now ?? (() => new Date()),
  });

  return async (req: ReconcileRequest, ctx: ReconcileContext): Promise<ReconcileResult | void> => {
    const ds = deps.datasources.get(req.namespace, req.name);
    if (!ds) {
      deps.metrics.forget(req.namespace ?? '', req.name);
      return;
    }
    const id = dataSourceOf(ds);
    const log = ctx.logger.child({ supervisor: id });

    if (isBeingDeleted(ds)) return finalize(ds, id, log);
    const current = hasFinalizer(ds, supervisorFinalizer)
      ? ds
      : await addFinalizer(deps.kube, DruidDatasources, ds, supervisorFinalizer);
    const client = await clientFor(current);

    const desired = withOwnerMarker(desiredSupervisorSpec(current), current);
    const hash = specHash(desired);
    try {
      const action = decide(current, id, desired, await client.getSupervisor(id));
      if (action.kind === 'refuse') {
        if (current.status?.lastError !== action.conflict)
          await deps.events.warning(current, 'ClaimedElsewhere', action.conflict);
        await record.failed(current, 'ClaimedElsewhere', action.conflict, undefined);
        return { requeueAfter: claimRetryMs };
      }
      await act(client, deps.events, current, id, desired, action);
      const status = await client.getStatus(id);
      log.debug({ action: action.kind, state: status?.state }, 'supervisor observed');
      const settled = await record.observed(current, id, hash, status);
      return { requeueAfter: nextPollMs(action, settled, deps.pollIntervalMs ?? defaultPollMs) };
    } catch (err) {
      if (!(err instanceof DruidError)) throw err;
      const failure = druidFailure(err);
      await record.failed(current, failure.reason, err.message, hash);
      await deps.events.warning(current, failure.reason, err.message);
      if (failure.retry === 'backoff') throw err; // rate-limited retry: Druid may come back
      return { requeueAfter: failure.afterMs }; // a spec edit re-triggers us sooner
    }
  };

  /** The object's Druid client; unusable credentials are recorded (and evented once) and thrown. */
  async function clientFor(ds: DruidDatasource): Promise<DruidClient> {
    try {
      return await deps.druid.for(ds);
    } catch (err) {
      if (!(err instanceof CredentialsError)) throw err;
      if (ds.status?.lastError !== err.message) await deps.events.warning(ds, err.reason, err.message);
      await record.failed(ds, err.reason, err.message, undefined);
      throw err;
    }
  }

  async function finalize(ds: DruidDatasource, id: string, log: Logger): Promise<void> {
    if (!hasFinalizer(ds, supervisorFinalizer)) return;
    // Credentials are needed only to terminate; their failure propagates (retried, finalizer kept).
    const client = deletionReadsLive(ds) ? await deps.druid.for(ds) : undefined;
    const live = client ? await liveOrUnknown(client, id) : undefined;
    const action = decideDeletion(ds, id, live);
    try {
      await actOnDeletion(client, deps.events, ds, id, action);
    } catch (err) {
      if (err instanceof DruidError) {
        await record.failed(ds, 'TerminateFailed', err.message, ds.status?.lastSyncedSpecHash);
        await deps.events.warning(ds, 'TerminateFailed', `cannot terminate Druid supervisor ${id}: ${err.message}`);
      }
      throw err; // the finalizer stays until Druid has terminated it
    }
    if (action.kind === 'retain-claimed')
      log.info({ conflict: action.conflict }, 'finalized without terminating a supervisor owned elsewhere');
    else log.info({ policy: ds.spec.deletionPolicy }, 'finalized');
    deps.metrics.forget(ds.metadata.namespace, ds.metadata.name);
    await removeFinalizer(deps.kube, DruidDatasources, ds, supervisorFinalizer);
  }
}

/** Druid unreachable while deleting: unknown, and the terminate that follows fails and says so. */
function liveOrUnknown(client: DruidClient, id: string): Promise<SupervisorSpec | undefined> {
  return client.getSupervisor(id).catch(() => undefined);
}

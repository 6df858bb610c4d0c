// The DruidDatasource reconcile: get → finalizer → observe (the object, the live supervisor with
// its claim) → decide (decide-supervisor.ts, pure) → act (act.ts) → observe Druid's status → record
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
//    Ready False (DruidUnavailable, DruidUnauthorized) with Druid's URL and error, a Warning Event
//    when the reason turns and a Normal DruidAvailable when Druid answers again, the gauge
//    tributary_operator_druid_unavailable, and a retry after a bounded exponential backoff
//    (druid-outage.ts: 1 s doubling to 30 s by default, controller option druidRetry), logged
//    once per Druid URL when it starts and then at most every 30 s. A deletion with
//    deletionPolicy Terminate keeps its finalizer until Druid has terminated the supervisor
//    (TerminateFailed, retried with the same backoff, log and Event). Druid rejecting the spec (4xx):
//    SpecRejected with Druid's text, Synced False, an Event when the text changes, looked at
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
import {
  claimRetryMs,
  decide,
  decideDeletion,
  deletionReadsLive,
  druidFailure,
  nextPollMs,
  type FailureReason,
} from './decide-supervisor.ts';
import { CredentialsError, type DruidClients } from './druid-clients.ts';
import { DruidOutages, type DruidRetryOptions } from './druid-outage.ts';
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
  /** Backoff and log interval while Druid is unavailable (druid-outage.ts has the defaults). */
  readonly druidRetry?: Partial<DruidRetryOptions>;
  readonly now?: () => Date;
}

const defaultPollMs = 30_000;

export function druidDatasourceReconciler(deps: DruidDatasourceReconcilerDeps) {
  const now = deps.now ?? (() => new Date());
  const record = statusRecorder({ statusWriter: deps.statusWriter, metrics: deps.metrics, now });
  const outages = new DruidOutages(deps.druidRetry);
  /**
   * Per object: the spec hash Druid refused and until when it is not sent again. Only a changed
   * spec (another hash) or the end of the wait sends it again, whatever else triggers a reconcile
   * (our own finalizer write, a resync). In memory: an operator restart sends it once more.
   */
  const rejected = new Map<string, { hash: string; until: number }>();

  return async (req: ReconcileRequest, ctx: ReconcileContext): Promise<ReconcileResult | void> => {
    const ds = deps.datasources.get(req.namespace, req.name);
    const key = `${req.namespace ?? ''}/${req.name}`;
    if (!ds) {
      deps.metrics.forget(req.namespace ?? '', req.name);
      outages.forget(key);
      rejected.delete(key);
      return;
    }
    const id = dataSourceOf(ds);
    const log = ctx.logger.child({ supervisor: id });

    if (isBeingDeleted(ds)) return finalize(ds, key, id, log);
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
      const refusedFor = rejected.get(key);
      const waitMs = refusedFor && refusedFor.hash === hash ? refusedFor.until - now().getTime() : 0;
      if (waitMs > 0 && (action.kind === 'create' || action.kind === 'update')) return { requeueAfter: waitMs };
      await act(client, deps.events, current, id, desired, action);
      rejected.delete(key);
      const status = await client.getStatus(id);
      log.debug({ action: action.kind, state: status?.state }, 'supervisor observed');
      const settled = await record.observed(current, id, hash, status);
      await druidAnswered(current, key, client.url, log);
      return { requeueAfter: nextPollMs(action, settled, deps.pollIntervalMs ?? defaultPollMs) };
    } catch (err) {
      if (!(err instanceof DruidError)) throw err;
      const failure = druidFailure(err);
      deps.metrics.druidCallFailures.inc({ reason: failure.reason });
      const prevReason = readyReason(current);
      if (failure.retry === 'later') {
        rejected.set(key, { hash, until: now().getTime() + failure.afterMs });
        // A rejection names what Druid refused: evented when that changes, not on every look.
        await record.failed(current, failure.reason, err.message, hash);
        if (prevReason !== failure.reason || current.status?.lastError !== err.message)
          await deps.events.warning(current, failure.reason, err.message);
        return { requeueAfter: failure.afterMs }; // a spec edit re-triggers us sooner
      }
      return { requeueAfter: await retryLater(current, key, client.url, failure.reason, '', err, hash, log) };
    }
  };

  /**
   * A Druid call to retry with backoff (Druid down, failing, refusing credentials; a terminate):
   * status and gauge every time, the Event when the reason turns, the log line when the URL's
   * throttle allows. Returns the delay before the next attempt.
   */
  async function retryLater(
    ds: DruidDatasource,
    key: string,
    url: string,
    reason: FailureReason,
    what: string,
    err: DruidError,
    hash: string | undefined,
    log: Logger,
  ): Promise<number> {
    const failure = outages.failed(key, url, now());
    const message = `${what}${err.message} (retrying with backoff, at most every ${Math.round(outages.maxMs / 1000)}s)`;
    if (err.retriable || err.code === 'DRUID_ERR_UNAUTHORIZED')
      deps.metrics.druidUnavailable.set({ namespace: ds.metadata.namespace, name: ds.metadata.name }, 1);
    // One Event when the reason turns, judged on the status the write replaced, not on the informer's copy.
    if ((await record.failed(ds, reason, message, hash)) !== reason) await deps.events.warning(ds, reason, message);
    if (failure.log)
      log.warn(
        { druid: url, reason, since: failure.since.toISOString(), failures: failure.failures },
        `Druid at ${url} unavailable; retrying with backoff (next in ${failure.retryInMs} ms, ` +
          `at most every ${outages.maxMs} ms; logged again at most every ${outages.logEveryMs} ms): ${what}${err.message}`,
      );
    return failure.retryInMs;
  }

  /** After a sync that reached Druid: an outage recorded in status or in memory ends (Event, log, gauge). */
  async function druidAnswered(ds: DruidDatasource, key: string, url: string, log: Logger): Promise<void> {
    deps.metrics.druidUnavailable.set({ namespace: ds.metadata.namespace, name: ds.metadata.name }, 0);
    const ended = outages.recovered(key, url);
    const prevReason = readyReason(ds);
    if (prevReason !== 'DruidUnavailable' && prevReason !== 'DruidUnauthorized' && !ended) return;
    const lasted = ended
      ? ` after ${Math.round((now().getTime() - ended.since.getTime()) / 1000)}s and ${ended.failures} failed attempts`
      : '';
    log.info({ druid: url, failures: ended?.failures }, `Druid at ${url} answers again${lasted}`);
    if (prevReason === 'DruidUnavailable' || prevReason === 'DruidUnauthorized')
      await deps.events.normal(ds, 'DruidAvailable', `Druid at ${url} answers again${lasted}`);
  }

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

  async function finalize(ds: DruidDatasource, key: string, id: string, log: Logger): Promise<ReconcileResult | void> {
    if (!hasFinalizer(ds, supervisorFinalizer)) return;
    // Credentials are needed only to terminate; their failure propagates (retried, finalizer kept).
    const client = deletionReadsLive(ds) ? await deps.druid.for(ds) : undefined;
    const live = client ? await liveOrUnknown(client, id) : undefined;
    const action = decideDeletion(ds, id, live);
    try {
      await actOnDeletion(client, deps.events, ds, id, action);
    } catch (err) {
      if (!(err instanceof DruidError) || !client) throw err;
      deps.metrics.druidCallFailures.inc({ reason: 'TerminateFailed' });
      // The finalizer stays until Druid has terminated the supervisor.
      const what = `cannot terminate Druid supervisor ${id}: `;
      const hash = ds.status?.lastSyncedSpecHash;
      return { requeueAfter: await retryLater(ds, key, client.url, 'TerminateFailed', what, err, hash, log) };
    }
    if (client && outages.recovered(key, client.url))
      log.info({ druid: client.url }, `Druid at ${client.url} answers again`);
    if (action.kind === 'retain-claimed')
      log.info({ conflict: action.conflict }, 'finalized without terminating a supervisor owned elsewhere');
    else log.info({ policy: ds.spec.deletionPolicy }, 'finalized');
    deps.metrics.forget(ds.metadata.namespace, ds.metadata.name);
    outages.forget(key);
    rejected.delete(key);
    await removeFinalizer(deps.kube, DruidDatasources, ds, supervisorFinalizer);
  }
}

function readyReason(ds: DruidDatasource): string | undefined {
  return ds.status?.conditions?.find((c) => c.type === 'Ready')?.reason;
}

/** Druid unreachable while deleting: unknown, and the terminate that follows fails and says so. */
function liveOrUnknown(client: DruidClient, id: string): Promise<SupervisorSpec | undefined> {
  return client.getSupervisor(id).catch(() => undefined);
}

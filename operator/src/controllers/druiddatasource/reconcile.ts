import type { Logger } from 'pino';
import {
  addFinalizer,
  hasFinalizer,
  isBeingDeleted,
  removeFinalizer,
  setCondition,
  type EventRecorder,
  type Informer,
  type KubeClient,
  type ReconcileContext,
  type ReconcileRequest,
  type ReconcileResult,
  type StatusWriter,
} from '../../kube/index.ts';
import { dataSourceOf, type DruidDatasource, type DruidDatasourceStatus } from '../../api/v1alpha1/druiddatasource.ts';
import type { DruidClient } from '../../druid/client.ts';
import { DruidError } from '../../druid/errors.ts';
import type { SupervisorStatus } from '../../druid/types.ts';
import { CredentialsError, type DruidClients } from './druid-clients.ts';
import type { DruidMetrics } from './metrics.ts';
import { DruidDatasources, supervisorFinalizer } from './resource.ts';
import { claimConflict, withOwnerMarker } from './supervisor-claim.ts';
import { desiredSupervisorSpec, driftedPaths, specHash } from './supervisor-spec.ts';

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

/** Druid has no watch: we poll a settled supervisor, faster while it is on its way. */
const defaultPollMs = 30_000;
const settlingPollMs = 5_000;
/** A supervisor owned elsewhere: looked at again now and then (its owner may let go). */
const claimRetryMs = 60_000;

/**
 * Level-based: every run reads the live supervisor from Druid, compares the keys we own,
 * and converges (create, update, suspend/resume, recreate after an outside terminate).
 * Druid unreachable or failing → conditions say so and the key backs off; Druid rejecting
 * the spec → its message in status and an Event, and we wait for a spec change.
 */
export function druidDatasourceReconciler(deps: DruidDatasourceReconcilerDeps) {
  const now = deps.now ?? (() => new Date());
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

    let client: DruidClient;
    try {
      client = await deps.druid.for(current);
    } catch (err) {
      if (!(err instanceof CredentialsError)) throw err;
      if (current.status?.lastError !== err.message) await deps.events.warning(current, err.reason, err.message);
      await writeFailure(current, err.reason, err.message, undefined);
      throw err;
    }

    const desired = withOwnerMarker(desiredSupervisorSpec(current), current);
    const hash = specHash(desired);
    let action: string | undefined;
    try {
      const live = await client.getSupervisor(id);
      const conflict = claimConflict(current, id, live);
      if (conflict !== undefined) {
        if (current.status?.lastError !== conflict) await deps.events.warning(current, 'ClaimedElsewhere', conflict);
        await writeFailure(current, 'ClaimedElsewhere', conflict, undefined);
        return { requeueAfter: claimRetryMs };
      }
      const drift = driftedPaths(desired, live);
      if (live === undefined) {
        await client.upsertSupervisor(desired);
        action = current.status?.supervisorId ? 'Recreated' : 'Created';
        const why = current.status?.supervisorId ? ' (it was terminated outside the operator)' : '';
        await deps.events.normal(current, action, `Druid supervisor ${id} created${why}`);
      } else if (drift.length === 1 && drift[0] === 'suspended') {
        if (current.spec.suspend) await client.suspend(id);
        else await client.resume(id);
        action = current.spec.suspend ? 'Suspended' : 'Resumed';
        await deps.events.normal(current, action, `Druid supervisor ${id} ${action.toLowerCase()}`);
      } else if (drift.length > 0) {
        await client.upsertSupervisor(desired);
        action = 'Updated';
        await deps.events.normal(
          current,
          action,
          `Druid supervisor ${id} updated; differed at ${drift.slice(0, 5).join(', ')}`,
        );
      }
      const status = await client.getStatus(id);
      log.debug({ action, state: status?.state }, 'supervisor observed');
      const healthy = await writeObserved(current, id, hash, status);
      return { requeueAfter: action || !healthy ? settlingPollMs : (deps.pollIntervalMs ?? defaultPollMs) };
    } catch (err) {
      if (!(err instanceof DruidError)) throw err;
      if (err.retriable || err.code === 'DRUID_ERR_UNAUTHORIZED') {
        const reason = err.code === 'DRUID_ERR_UNAUTHORIZED' ? 'DruidUnauthorized' : 'DruidUnavailable';
        await writeFailure(current, reason, err.message, hash);
        await deps.events.warning(current, reason, err.message);
        throw err; // rate-limited retry: Druid may come back
      }
      // Druid refused what we sent: retrying the same spec cannot help; a spec edit re-triggers us.
      await writeFailure(current, 'SpecRejected', err.message, hash);
      await deps.events.warning(current, 'SpecRejected', err.message);
      return { requeueAfter: 5 * 60_000 };
    }
  };

  async function finalize(ds: DruidDatasource, id: string, log: Logger): Promise<void> {
    if (!hasFinalizer(ds, supervisorFinalizer)) return;
    if (ds.spec.deletionPolicy === 'Terminate') {
      const client = await deps.druid.for(ds);
      const conflict = await client.getSupervisor(id).then(
        (live) => claimConflict(ds, id, live),
        () => undefined, // Druid unreachable: the terminate below fails and says so
      );
      if (conflict !== undefined) {
        await deps.events.normal(ds, 'Retained', `Druid supervisor ${id} not terminated: ${conflict}`);
        log.info({ conflict }, 'finalized without terminating a supervisor owned elsewhere');
        deps.metrics.forget(ds.metadata.namespace, ds.metadata.name);
        await removeFinalizer(deps.kube, DruidDatasources, ds, supervisorFinalizer);
        return;
      }
      try {
        await client.terminate(id);
      } catch (err) {
        if (err instanceof DruidError) {
          await writeFailure(ds, 'TerminateFailed', err.message, ds.status?.lastSyncedSpecHash);
          await deps.events.warning(ds, 'TerminateFailed', `cannot terminate Druid supervisor ${id}: ${err.message}`);
        }
        throw err; // the finalizer stays until Druid has terminated it
      }
      await deps.events.normal(ds, 'Terminated', `Druid supervisor ${id} terminated (deletionPolicy Terminate)`);
    } else {
      await deps.events.normal(ds, 'Retained', `Druid supervisor ${id} left running (deletionPolicy Retain)`);
    }
    log.info({ policy: ds.spec.deletionPolicy }, 'finalized');
    deps.metrics.forget(ds.metadata.namespace, ds.metadata.name);
    await removeFinalizer(deps.kube, DruidDatasources, ds, supervisorFinalizer);
  }

  /** Returns whether the supervisor is where the spec wants it (running and healthy, or suspended). */
  async function writeObserved(
    ds: DruidDatasource,
    id: string,
    hash: string,
    s: SupervisorStatus | undefined,
  ): Promise<boolean> {
    const generation = ds.metadata.generation;
    const state = s?.state ?? 'NOT_FOUND';
    const settled = ds.spec.suspend
      ? state === 'SUSPENDED'
      : s !== undefined && s.healthy && (state === 'RUNNING' || state === 'IDLE');
    deps.metrics.supervisorState.remove({ namespace: ds.metadata.namespace, name: ds.metadata.name });
    deps.metrics.supervisorState.set({ namespace: ds.metadata.namespace, name: ds.metadata.name, state }, 1);
    if (s?.aggregateLag !== undefined)
      deps.metrics.supervisorLag.set({ namespace: ds.metadata.namespace, name: ds.metadata.name }, s.aggregateLag);
    await deps.statusWriter.update<DruidDatasource>(DruidDatasources, ds, (prev) => {
      let conditions = setCondition(
        prev?.conditions,
        {
          type: 'Synced',
          status: 'True',
          reason: 'InSync',
          message: `supervisor ${id} matches the spec`,
        },
        generation,
        now(),
      );
      conditions = setCondition(
        conditions,
        {
          type: 'Ready',
          status: settled ? 'True' : 'False',
          reason: settled ? (ds.spec.suspend ? 'Suspended' : 'Running') : pascal(state),
          message: s
            ? `Druid reports ${s.detailedState}${s.healthy ? '' : ' (unhealthy)'}`
            : `supervisor ${id} not found`,
        },
        generation,
        now(),
      );
      const next: DruidDatasourceStatus = {
        ...prev,
        supervisorId: id,
        state,
        detailedState: s?.detailedState ?? state,
        healthy: s?.healthy ?? false,
        recentErrors: s?.recentErrors ?? [],
        observedGeneration: generation,
        lastSyncedSpecHash: hash,
        conditions: conditions as DruidDatasourceStatus['conditions'],
      };
      if (s?.aggregateLag !== undefined) next.aggregateLag = s.aggregateLag;
      delete next.lastError;
      return next;
    });
    return settled;
  }

  async function writeFailure(
    ds: DruidDatasource,
    reason: string,
    message: string,
    hash: string | undefined,
  ): Promise<void> {
    const generation = ds.metadata.generation;
    await deps.statusWriter.update<DruidDatasource>(DruidDatasources, ds, (prev) => {
      const refused = ['SpecRejected', 'CredentialsUnavailable', 'InsecureCredentials', 'ClaimedElsewhere'];
      const synced = refused.includes(reason) ? 'False' : 'Unknown';
      let conditions = setCondition(
        prev?.conditions,
        { type: 'Synced', status: synced, reason, message },
        generation,
        now(),
      );
      conditions = setCondition(conditions, { type: 'Ready', status: 'False', reason, message }, generation, now());
      const next: DruidDatasourceStatus = {
        ...prev,
        observedGeneration: generation,
        lastError: message,
        conditions: conditions as DruidDatasourceStatus['conditions'],
      };
      if (hash === undefined) delete next.lastSyncedSpecHash;
      return next;
    });
  }
}

function pascal(state: string): string {
  return state
    .toLowerCase()
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

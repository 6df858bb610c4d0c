// What a DruidDatasource reconcile writes to status: what Druid reports once the supervisor was
// acted on (Synced True, Ready from Druid's state and health, lag), or why it could not be
// (Synced False or Unknown, Ready False, the reason and message). The status builders are pure;
// the recorder writes them through the status writer (conflicts retried there) and the gauges.
import { setCondition, type StatusWriter } from '../../kube/index.ts';
import type { DruidDatasource, DruidDatasourceStatus } from '../../api/v1alpha1/druiddatasource.ts';
import type { SupervisorStatus } from '../../druid/types.ts';
import { refusedReasons, type DS, type FailureReason } from './decide-supervisor.ts';
import type { DruidMetrics } from './metrics.ts';
import { DruidDatasources } from './resource.ts';

/** Whether the supervisor is where the spec wants it: running and healthy, or suspended. */
export function supervisorSettled(ds: DS, s: SupervisorStatus | undefined): boolean {
  const state = s?.state ?? 'NOT_FOUND';
  return ds.spec.suspend
    ? state === 'SUSPENDED'
    : s !== undefined && s.healthy && (state === 'RUNNING' || state === 'IDLE');
}

export function observedStatus(
  prev: DruidDatasourceStatus | undefined,
  ds: DS,
  id: string,
  hash: string,
  s: SupervisorStatus | undefined,
  now: Date,
): DruidDatasourceStatus {
  const generation = ds.metadata.generation;
  const state = s?.state ?? 'NOT_FOUND';
  const settled = supervisorSettled(ds, s);
  let conditions = setCondition(
    prev?.conditions,
    { type: 'Synced', status: 'True', reason: 'InSync', message: `supervisor ${id} matches the spec` },
    generation,
    now,
  );
  conditions = setCondition(
    conditions,
    {
      type: 'Ready',
      status: settled ? 'True' : 'False',
      reason: settled ? (ds.spec.suspend ? 'Suspended' : 'Running') : pascal(state),
      message: s ? `Druid reports ${s.detailedState}${s.healthy ? '' : ' (unhealthy)'}` : `supervisor ${id} not found`,
    },
    generation,
    now,
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
}

/** `hash` undefined: nothing was synced this time (credentials, claim), so lastSyncedSpecHash goes. */
export function failedStatus(
  prev: DruidDatasourceStatus | undefined,
  ds: DS,
  reason: FailureReason,
  message: string,
  hash: string | undefined,
  now: Date,
): DruidDatasourceStatus {
  const generation = ds.metadata.generation;
  const synced = refusedReasons.has(reason) ? 'False' : 'Unknown';
  let conditions = setCondition(prev?.conditions, { type: 'Synced', status: synced, reason, message }, generation, now);
  conditions = setCondition(conditions, { type: 'Ready', status: 'False', reason, message }, generation, now);
  const next: DruidDatasourceStatus = {
    ...prev,
    observedGeneration: generation,
    lastError: message,
    conditions: conditions as DruidDatasourceStatus['conditions'],
  };
  if (hash === undefined) delete next.lastSyncedSpecHash;
  return next;
}

export interface StatusRecorder {
  /** Records what Druid reports; returns whether the supervisor is settled. */
  observed(ds: DruidDatasource, id: string, hash: string, s: SupervisorStatus | undefined): Promise<boolean>;
  /**
   * Records a failure; returns the Ready reason it replaced, as the status writer last read it: the informer's copy
   * of `ds` may lag the previous write (a retry 250 ms later on a loaded machine), the written status does not.
   */
  failed(
    ds: DruidDatasource,
    reason: FailureReason,
    message: string,
    hash: string | undefined,
  ): Promise<string | undefined>;
}

export function statusRecorder(deps: {
  readonly statusWriter: StatusWriter;
  readonly metrics: DruidMetrics;
  readonly now: () => Date;
}): StatusRecorder {
  return {
    async observed(ds, id, hash, s) {
      const labels = { namespace: ds.metadata.namespace, name: ds.metadata.name };
      deps.metrics.setSupervisorState(labels.namespace, labels.name, s?.state ?? 'NOT_FOUND');
      if (s?.aggregateLag !== undefined) deps.metrics.supervisorLag.set(labels, s.aggregateLag);
      await deps.statusWriter.update<DruidDatasource>(DruidDatasources, ds, (prev) =>
        observedStatus(prev, ds, id, hash, s, deps.now()),
      );
      return supervisorSettled(ds, s);
    },
    async failed(ds, reason, message, hash) {
      let replaced: string | undefined;
      // Called again on the fresh object after a conflict: the last call saw what the write replaced.
      await deps.statusWriter.update<DruidDatasource>(DruidDatasources, ds, (prev) => {
        replaced = prev?.conditions?.find((c) => c.type === 'Ready')?.reason;
        return failedStatus(prev, ds, reason, message, hash, deps.now());
      });
      return replaced;
    },
  };
}

function pascal(state: string): string {
  return state
    .toLowerCase()
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

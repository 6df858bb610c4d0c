// Carries out a decision (decide-supervisor.ts) against Druid and says so in an Event. Every write here is
// idempotent on Druid's side: an upsert posts the whole desired spec (create or replace),
// suspend and resume set a state, a terminate of a supervisor that is gone succeeds. A reconcile
// that dies between a write and its status record repeats nothing harmful: the next one observes
// the result and decides 'none'. A Druid error propagates to the reconcile (reconcile.ts).
import { ErrorCodes, OperatorError, type EventRecorder } from '../../kube/index.ts';
import type { DruidDatasource } from '../../api/v1alpha1/druiddatasource.ts';
import type { DruidClient } from '../../druid/client.ts';
import type { SupervisorSpec } from '../../druid/types.ts';
import type { DeletionAction, SyncAction } from './decide-supervisor.ts';

type Druid = Pick<DruidClient, 'upsertSupervisor' | 'suspend' | 'resume' | 'terminate'>;
type Events = Pick<EventRecorder, 'normal'>;

/** A sync action other than 'refuse' (which writes nothing to Druid: reconcile.ts records it). */
export async function act(
  druid: Druid,
  events: Events,
  ds: DruidDatasource,
  id: string,
  desired: SupervisorSpec,
  action: Exclude<SyncAction, { kind: 'refuse' }>,
): Promise<void> {
  switch (action.kind) {
    case 'none':
      return;
    case 'create': {
      await druid.upsertSupervisor(desired);
      const why = action.recreate ? ' (it was terminated outside the operator)' : '';
      await events.normal(ds, action.recreate ? 'Recreated' : 'Created', `Druid supervisor ${id} created${why}`);
      return;
    }
    case 'suspend':
      await druid.suspend(id);
      await events.normal(ds, 'Suspended', `Druid supervisor ${id} suspended`);
      return;
    case 'resume':
      await druid.resume(id);
      await events.normal(ds, 'Resumed', `Druid supervisor ${id} resumed`);
      return;
    case 'update':
      await druid.upsertSupervisor(desired);
      await events.normal(
        ds,
        'Updated',
        `Druid supervisor ${id} updated; differed at ${action.drift.slice(0, 5).join(', ')}`,
      );
      return;
  }
}

/**
 * The Druid side of a deletion; the finalizer is removed by the caller once this returned.
 * `druid` is needed (and only then obtained: credentials) for deletionPolicy Terminate.
 */
export async function actOnDeletion(
  druid: Druid | undefined,
  events: Events,
  ds: DruidDatasource,
  id: string,
  action: DeletionAction,
): Promise<void> {
  switch (action.kind) {
    case 'retain':
      await events.normal(ds, 'Retained', `Druid supervisor ${id} left running (deletionPolicy Retain)`);
      return;
    case 'retain-claimed':
      await events.normal(ds, 'Retained', `Druid supervisor ${id} not terminated: ${action.conflict}`);
      return;
    case 'terminate':
      if (!druid) throw new OperatorError(ErrorCodes.INVARIANT, `${id}: terminate decided without a Druid client`);
      await druid.terminate(id);
      await events.normal(ds, 'Terminated', `Druid supervisor ${id} terminated (deletionPolicy Terminate)`);
      return;
  }
}

// The orphan sweep: savepoint folders of the job's state location that nothing references
// (orphan-savepoints.ts chooses them) are deleted through slot 0 (GET /v1/savepoints to list,
// DELETE /v1/savepoints/{sp-<n>} to delete). Runs after a savepoint is recorded and on a slow
// cadence while the job runs with no operation pending. Best effort: a listing or deletion that
// fails is a Warning Event (SavepointSweepFailed) and a counted failure, never a blocked
// reconcile; a listing that fails deletes nothing (never "nothing there").
import type { StreamJob } from '../../../api/v1alpha1/streamjob.ts';
import type { JobCtx, ReconcilerInternals } from '../job-context.ts';
import { slot0Url } from '../observer.ts';
import { orphanSavepoints } from './orphan-savepoints.ts';
import { defaultCadence } from '../phases.ts';
import { deployedSpec } from '../spec/diff.ts';
import { effectiveStateStorage } from '../state-storage.ts';

/** Retain when the spec or the deployed spec (what the pods run) says so: deleting needs both to say Delete. */
export function retentionOf(r: ReconcilerInternals, job: StreamJob): 'Delete' | 'Retain' {
  return [job.spec, deployedSpec(job.status)].some(
    (s) => s && effectiveStateStorage(s, r.deps.defaults).retention !== 'Delete',
  )
    ? 'Retain'
    : 'Delete';
}

export async function sweepOrphanSavepoints(r: ReconcilerInternals, c: JobCtx): Promise<void> {
  const { deps } = r;
  const retention = retentionOf(r, c.job);
  if (retention !== 'Delete') return;
  const base = slot0Url(c.obs);
  if (!base || !c.obs.token) return; // no slot 0 to ask: the next sweep will
  const failed = async (what: string, err: unknown) => {
    deps.metrics.orphanSweepFailures.inc();
    const why = (err as Error).message;
    c.log.warn({ err: why }, `orphan savepoint sweep: ${what}`);
    await deps.events.warning(c.job, 'SavepointSweepFailed', `orphan savepoint sweep: ${what}: ${why}`);
  };
  let folders;
  try {
    folders = await deps.runtime.listSavepoints(base, c.obs.token);
  } catch (err) {
    await failed('could not list the savepoint folders (nothing deleted)', err);
    return;
  }
  const deleted: string[] = [];
  for (const f of orphanSavepoints(c.job, retention, folders)) {
    try {
      await deps.runtime.deleteSavepoint(base, c.obs.token, f.name);
      deleted.push(f.name);
      deps.metrics.orphanSavepointsDeleted.inc();
    } catch (err) {
      await failed(`could not delete ${f.name}`, err);
    }
  }
  if (deleted.length > 0) {
    c.log.info({ deleted }, 'orphan savepoints deleted');
    await deps.events.normal(
      c.job,
      'OrphanSavepointsDeleted',
      `deleted savepoint folders nothing references: ${deleted.join(', ')}`,
    );
  }
}

/**
 * The steady-state sweep, at most once per cadence.orphanSweepMs per job (`last`: job uid → time of the last sweep,
 * kept by the controller; lost on an operator restart, which only makes the next sweep come sooner).
 */
export async function sweepIfDue(r: ReconcilerInternals, c: JobCtx, last: Map<string, number>): Promise<void> {
  const every = r.deps.cadence?.orphanSweepMs ?? defaultCadence.orphanSweepMs ?? 10 * 60_000;
  const key = c.job.metadata.uid ?? `${c.job.metadata.namespace}/${c.job.metadata.name}`;
  const prev = last.get(key);
  if (prev !== undefined && c.now.getTime() - prev < every) return;
  last.set(key, c.now.getTime());
  await sweepOrphanSavepoints(r, c);
}

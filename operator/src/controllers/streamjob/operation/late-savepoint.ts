// A stop-with-savepoint the operator gave up on after savepoints.timeout may still complete in
// the runtime (its writes were only slow: a storage that hung and came back) — and then the
// job has stopped with it. A retry that ignored it would trigger a new savepoint against a
// stopping job and never finish. So the savepoints given up on are asked again at every step of
// the retried operation, and one that completed is taken as the operation's savepoint.
import type { PendingOperation } from '../../../api/v1alpha1/streamjob.ts';
import type { JobCtx, ReconcilerInternals } from '../job-context.ts';
import { slot0Url } from '../observer.ts';

/** At most this many given-up savepoints are remembered per operation (the newest). */
export const TIMED_OUT_KEPT = 5;

/** A savepoint of `op` given up earlier that has completed since, if any. */
export async function lateSavepoint(
  r: ReconcilerInternals,
  c: JobCtx,
  op: PendingOperation,
): Promise<{ id: string; path: string } | undefined> {
  const base = slot0Url(c.obs);
  if (!base || !c.obs.token) return undefined;
  for (const id of op.timedOutSavepointIds ?? []) {
    const s = await r.deps.runtime.savepoint(base, c.obs.token, id).catch(() => undefined);
    if (s?.state === 'COMPLETED' && s.path) {
      c.log.info({ savepoint: id, path: s.path }, 'a savepoint given up after its timeout completed late: using it');
      return { id, path: s.path };
    }
  }
  return undefined;
}

/** The ids to remember after `op`'s current savepoint timed out. */
export function withTimedOut(op: PendingOperation): string[] | undefined {
  const ids = [...(op.timedOutSavepointIds ?? []), ...(op.savepointId ? [op.savepointId] : [])];
  return ids.length > 0 ? ids.slice(-TIMED_OUT_KEPT) : undefined;
}

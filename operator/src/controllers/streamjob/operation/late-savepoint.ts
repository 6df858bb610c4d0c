// A stop-with-savepoint the operator gave up on — after savepoints.timeout, or because asking
// for it failed (slot 0 unreachable for a moment, an error answer) — may still complete in the
// runtime, and then the job has stopped with it: slots 1..n end, slot 0 idles. A retry that
// ignored it would trigger a new savepoint against a stopped job and never finish (and Ready
// would go on describing pods that no longer run). So every savepoint given up on before its
// outcome was known is kept in the operation (`timedOutSavepointIds`, the field's name older
// than its meaning) and asked again at every reconcile of the retried operation, backoff
// included: one that completed is taken as the operation's savepoint; one the runtime says
// FAILED is forgotten; one that cannot be asked is kept, and the failure is reported (a
// SavepointInProgress condition Unknown and a Warning Event), never swallowed.
import type { PendingOperation } from '../../../api/v1alpha1/streamjob.ts';
import { RuntimeError } from '../../../runtime-client/client.ts';
import type { JobCtx, ReconcilerInternals } from '../job-context.ts';
import { slot0Url } from '../observer.ts';

/** At most this many given-up savepoints are remembered per operation (the newest). */
export const TIMED_OUT_KEPT = 5;

export interface LateSavepoints {
  /** A savepoint given up on that has completed since. */
  completed?: { id: string; path: string };
  /** Ids the runtime says FAILED: their outcome is known, they are forgotten. */
  failed: string[];
  /** Why ids could not be asked (kept, asked again). */
  errors: { id: string; message: string }[];
}

/** Asks slot 0 for each savepoint of `op` given up on earlier. */
export async function lateSavepoints(r: ReconcilerInternals, c: JobCtx, op: PendingOperation): Promise<LateSavepoints> {
  const out: LateSavepoints = { failed: [], errors: [] };
  const ids = op.timedOutSavepointIds ?? [];
  const base = slot0Url(c.obs);
  if (!base || !c.obs.token) {
    const why = base ? 'no control token' : 'slot 0 of the deployed pods has no pod IP';
    out.errors = ids.map((id) => ({ id, message: why }));
    return out;
  }
  for (const id of ids) {
    try {
      const s = await r.deps.runtime.savepoint(base, c.obs.token, id);
      if (s.state === 'COMPLETED' && s.path) {
        c.log.info({ savepoint: id, path: s.path }, 'a savepoint given up on completed late: using it');
        out.completed = { id, path: s.path };
        return out;
      }
      if (s.state === 'FAILED') out.failed.push(id);
    } catch (err) {
      if (!(err instanceof RuntimeError)) throw err;
      out.errors.push({ id, message: err.message });
    }
  }
  return out;
}

/** The ids to remember after `op`'s current savepoint was given up on with its outcome unknown. */
export function withTimedOut(op: PendingOperation): string[] | undefined {
  const ids = [...(op.timedOutSavepointIds ?? []), ...(op.savepointId ? [op.savepointId] : [])];
  return ids.length > 0 ? [...new Set(ids)].slice(-TIMED_OUT_KEPT) : undefined;
}

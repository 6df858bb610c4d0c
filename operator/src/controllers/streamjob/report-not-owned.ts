// Status for an object the operator refused to adopt (OPERATOR_NOT_OWNED): Degraded with
// reason ForeignObject and the object named, lastError, and a Warning Event once per distinct
// message. The reconcile then fails and is retried with backoff, so removing or renaming the
// object is enough for the job to proceed; the first reconcile that gets through clears it.
import type { OperatorError } from '../../kube/index.ts';
import { jobCondition, setJobCondition } from './conditions.ts';
import type { JobCtx, ReconcilerInternals } from './job-context.ts';

export const FOREIGN_OBJECT_REASON = 'ForeignObject';

export async function reportNotOwned(r: ReconcilerInternals, c: JobCtx, err: OperatorError): Promise<void> {
  const message = err.message;
  const prev = jobCondition(c.job.status, 'Degraded');
  if (prev?.reason !== FOREIGN_OBJECT_REASON || prev.message !== message)
    await r.deps.events.warning(c.job, FOREIGN_OBJECT_REASON, message);
  await r.record(c, 'not-owned', (st) => {
    setJobCondition(
      st,
      { type: 'Degraded', status: 'True', reason: FOREIGN_OBJECT_REASON, message },
      c.job.metadata.generation,
      c.now,
    );
    st.lastError = message;
    return st;
  });
}

/** Degraded ForeignObject → False (Recovered) once a reconcile got past every create. */
export async function clearNotOwned(r: ReconcilerInternals, c: JobCtx): Promise<void> {
  if (jobCondition(c.job.status, 'Degraded')?.reason !== FOREIGN_OBJECT_REASON) return;
  await r.record(c, 'owned', (st) => {
    setJobCondition(
      st,
      { type: 'Degraded', status: 'False', reason: 'Recovered', message: 'every object of the job is its own' },
      c.job.metadata.generation,
      c.now,
    );
    delete st.lastError;
    return st;
  });
}

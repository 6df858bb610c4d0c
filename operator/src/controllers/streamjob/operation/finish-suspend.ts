// Suspend, old-pods-gone → done: no pods, nothing deployed; the state the operation stopped
// with (its savepoint, else the newest retained state) is where a resume starts. In last-state
// mode the suspended pods may have completed checkpoints (and committed their transactions)
// after resumeFrom was chosen, until they were gone: the lineage is kept (status.resumeLatest)
// and the resumed pods restore its newest state from storage when they start; resumeFrom is
// the fallback.
import type { PendingOperation } from '../../../api/v1alpha1/streamjob.ts';
import { setJobCondition } from '../conditions.ts';
import type { JobCtx, ReconcilerInternals, StepResult } from '../job-context.ts';

export async function finishSuspend(r: ReconcilerInternals, c: JobCtx, op: PendingOperation): StepResult {
  const gen = () => c.job.metadata.generation;
  const resumes = op.restoreLatestSince
    ? `the newest state of the suspended deployment (else ${op.restoreFrom ?? 'empty state'})`
    : (op.restoreFrom ?? 'empty state');
  await r.record(c, 'suspended', (s) => {
    delete s.pendingOperation;
    delete s.deployed;
    if (op.restoreFrom) s.resumeFrom = op.restoreFrom;
    if (op.restoreLatestSince)
      s.resumeLatest = {
        since: op.restoreLatestSince,
        ...(op.restoreLatestLineage ? { lineage: op.restoreLatestLineage } : {}),
      };
    else delete s.resumeLatest;
    s.phase = 'Suspended';
    s.replicas = 0;
    s.readyReplicas = 0;
    setJobCondition(
      s,
      { type: 'Ready', status: 'False', reason: 'Suspended', message: `suspended; resumes from ${resumes}` },
      gen(),
      c.now,
    );
    setJobCondition(s, { type: 'Progressing', status: 'False', reason: 'Suspended', message: 'no pods' }, gen(), c.now);
    return s;
  });
  r.deps.metrics.operations.inc({ kind: 'suspend', result: 'completed' });
  await r.deps.events.normal(c.job, 'Suspended', `pods removed; resumes from ${resumes}`);
}

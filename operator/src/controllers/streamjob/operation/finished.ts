// A bounded job ran to the end of its input: every slot pod of the deployed deployment exited 0
// with the finished termination message (runtime/src/control/finished.ts), which a slot writes
// only after the job's final checkpoint completed and its sinks committed their output. The
// job is Finished: no restart, no restart counted, and the completed pods are kept (like a
// Kubernetes Job's) so that `kubectl logs` still shows them; they hold no resources, and go
// with the job or when a new deployment replaces them. Ends an operation whose new
// deployment finished before it was ever seen running (run-deployment.ts).
import type { PendingOperation, StreamJobStatus } from '../../../api/v1alpha1/streamjob.ts';
import { degradedByOperation, operationName, removeJobCondition, setJobCondition } from '../conditions.ts';
import type { JobCtx, ReconcilerInternals, StepResult } from '../job-context.ts';
import type { Observation } from '../observer.ts';
import { describeOp } from './kinds.ts';

/** Ready's message for a finished job. */
export function finishedMessage(obs: Pick<Observation, 'finishedSlots' | 'deploymentId'>): string {
  let recordsIn = 0;
  let recordsOut = 0;
  for (const t of obs.finishedSlots.values()) {
    recordsIn += t.recordsIn;
    recordsOut += t.recordsOut;
  }
  const cp = obs.finishedSlots.get(0)?.lastCheckpoint;
  const final = cp ? `, final checkpoint ${cp.id} at ${cp.path}` : '';
  return `input ended: ${obs.finishedSlots.size} slot(s) of deployment ${obs.deploymentId} finished (${recordsIn} records in, ${recordsOut} out${final}); output committed`;
}

export async function recordFinished(r: ReconcilerInternals, c: JobCtx, op?: PendingOperation): StepResult {
  const gen = () => c.job.metadata.generation;
  const message = finishedMessage(c.obs);
  const final = c.obs.finishedSlots.get(0)?.lastCheckpoint;
  await r.record(c, 'finished', (s: StreamJobStatus) => {
    delete s.pendingOperation;
    s.phase = 'Finished';
    s.replicas = 0;
    s.readyReplicas = 0;
    // Slot 0 exits right after the final checkpoint: the observation that would have reported it never comes.
    if (final) s.lastCheckpoint = { ...final };
    setJobCondition(s, { type: 'Ready', status: 'False', reason: 'Finished', message }, gen(), c.now);
    if (op)
      setJobCondition(
        s,
        { type: 'Progressing', status: 'False', reason: `${operationName(op.kind)}Completed`, message: describeOp(op) },
        gen(),
        c.now,
      );
    if (degradedByOperation(s)) {
      setJobCondition(s, { type: 'Degraded', status: 'False', reason: 'Recovered', message }, gen(), c.now);
      delete s.lastError;
    }
    removeJobCondition(s, 'WaitingForInput');
    return s;
  });
  if (op) r.deps.metrics.operations.inc({ kind: op.kind, result: 'completed' });
  c.log.info({ deployment: c.obs.deploymentId, message }, 'job finished');
  await r.deps.events.normal(c.job, 'Finished', message);
  return r.after(c.job);
}

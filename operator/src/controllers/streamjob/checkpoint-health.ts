// The job health check (spec.health; docs/operator/health.md), the Flink operator's checkpoint
// progress check: a running job whose newest completed checkpoint is older than
// spec.health.checkpointTimeout is unhealthy. Pure: what the reconcile observed in, a verdict out.
//
// Invariants:
//  * The age runs from the later of the newest completed checkpoint and the deployment's start
//    (status.deployed.startedAt): a new deployment (a restart, a rescale) gets a whole bound to
//    complete its first checkpoint, so a restart the check started is not judged by the
//    checkpoints of the deployment it replaced.
//  * Only a job that runs is judged: phase Running, no operation pending, and slot 0 answering
//    RUNNING. Anything else (no answer, a restore, an operation in flight) says nothing, and the
//    condition keeps what it said last; an operation's own progress is watched by the operation.
//  * Once False, the condition turns True only when a checkpoint completes: a new deployment
//    within its bound and with none completed yet has not shown that it is healthy. Only a
//    job past its bound (`overdue`) is restarted.
//  * "N failed checkpoints in a row" is the runtime's (checkpointing.tolerableFailedCheckpoints:
//    the job fails and restartPolicy restarts it); this check bounds the time instead, which is
//    what a checkpoint that hangs until checkpointing.timeout, again and again, stretches.
import type { StatusResponse } from '../../../../runtime/src/control/contract.ts';
import type { StreamJobSpec, StreamJobStatus } from '../../api/v1alpha1/streamjob.ts';
import { parseDuration } from '../../../../runtime/src/graph/duration.ts';

export type CheckpointProgressReason = 'CheckpointsCompleting' | 'CheckpointsStalled';

export interface CheckpointHealth {
  readonly healthy: boolean;
  readonly reason: CheckpointProgressReason;
  readonly message: string;
  /** Past the bound now (what a restart acts on); a job can be unhealthy and not overdue (see above). */
  readonly overdue: boolean;
  /** When the verdict would change if nothing completes (healthy: when the bound passes); ms from now. */
  readonly recheckInMs?: number;
}

export interface HealthInput {
  readonly spec: Pick<StreamJobSpec, 'health'>;
  /** Status before this reconcile's observation is recorded. */
  readonly status: Pick<StreamJobStatus, 'phase' | 'deployed' | 'lastCheckpoint' | 'pendingOperation'>;
  /** Slot 0's answer this reconcile; undefined when it did not answer. */
  readonly runtime: Pick<StatusResponse, 'state' | 'lastCheckpoint'> | undefined;
  readonly now: Date;
  /** The condition as it stands: after a stall, only a completed checkpoint makes it True again. */
  readonly wasHealthy: boolean | undefined;
}

/** spec.health.checkpointTimeout in ms; undefined when the check is off (absent, or unreadable: validation says so). */
export function checkpointTimeoutMs(spec: Pick<StreamJobSpec, 'health'>): number | undefined {
  const ms = parseDuration(spec.health?.checkpointTimeout);
  return ms !== undefined && ms > 0 ? ms : undefined;
}

/** The newest completed checkpoint the operator knows of: slot 0's answer, else status.lastCheckpoint. */
function newestCheckpoint(i: HealthInput): { id: number; at: number; completedAt: string } | undefined {
  const candidates = [i.runtime?.lastCheckpoint, i.status.lastCheckpoint].flatMap((cp) => {
    const at = Date.parse(cp?.completedAt ?? '');
    return cp && Number.isFinite(at) ? [{ id: cp.id, at, completedAt: cp.completedAt }] : [];
  });
  return candidates.sort((a, b) => b.at - a.at)[0];
}

/** The verdict of this reconcile; undefined = nothing to say (check off, or the job is not running). */
export function checkpointHealth(i: HealthInput): CheckpointHealth | undefined {
  const bound = checkpointTimeoutMs(i.spec);
  const deployed = i.status.deployed;
  if (bound === undefined || !deployed) return undefined;
  if (i.status.phase !== 'Running' || i.status.pendingOperation || i.runtime?.state !== 'RUNNING') return undefined;
  const started = Date.parse(deployed.startedAt);
  const cp = newestCheckpoint(i);
  const fromCheckpoint = cp !== undefined && !(Number.isFinite(started) && cp.at < started);
  const since = fromCheckpoint ? cp.at : started;
  if (!Number.isFinite(since)) return undefined;
  const age = Math.max(0, i.now.getTime() - since);
  const limit = `spec.health.checkpointTimeout ${i.spec.health?.checkpointTimeout}`;
  const last = cp ? `the last completed checkpoint is ${cp.id} at ${cp.completedAt}` : 'no checkpoint completed yet';
  const what = fromCheckpoint
    ? `checkpoint ${cp.id} completed at ${cp.completedAt}`
    : `deployment ${deployed.id} started at ${deployed.startedAt}`;
  // Messages carry no running age: a condition whose message changed every reconcile would be a
  // status write every reconcile.
  if (age > bound)
    return {
      healthy: false,
      overdue: true,
      reason: 'CheckpointsStalled',
      message: fromCheckpoint
        ? `no checkpoint completed for longer than ${limit}: ${last}`
        : `no checkpoint completed for longer than ${limit} since ${what}; ${last}`,
    };
  const recheckInMs = bound - age + 1;
  if (!fromCheckpoint && i.wasHealthy === false)
    return {
      healthy: false,
      overdue: false,
      reason: 'CheckpointsStalled',
      message: `waiting for the first checkpoint of ${what} (${limit}); ${last}`,
      recheckInMs,
    };
  return {
    healthy: true,
    overdue: false,
    reason: 'CheckpointsCompleting',
    message: `${what}, within ${limit}`,
    recheckInMs,
  };
}

// The two policies that decide whether a redeploy may go ahead without the state it asked for.
// Pure, from the job, the observation and one clock reading.
//
//  * A failed savepoint with savepoints.onFailure fallbackToCheckpoint: the newest completed
//    checkpoint stands in for it only if it completed within maxCheckpointAge; otherwise the
//    operation blocks (the old pods keep running, the savepoint is retried) and the job is
//    Stalled with reason NoFreshCheckpoint, naming the checkpoint and its age.
//  * A stateful job (upgradeMode savepoint or last-state) that has run before and would now
//    start with no state at all (nothing runs to take a savepoint from, and no checkpoint,
//    savepoint or restore.savepointPath exists) is refused — Stalled NoStateToRestore — unless
//    spec.initialState is `empty`. A restart is exempt: its lineage started empty and never
//    completed a checkpoint, so starting empty again loses nothing that was ever saved.
import type { PendingOperation, StreamJob } from '../../../api/v1alpha1/streamjob.ts';
import type { Observation } from '../observer.ts';
import { freshCheckpoint } from './savepoints.ts';
import { durationMs } from '../validation.ts';
import { modeFor } from './kinds.ts';

export type CheckpointFallback =
  | { use: { path: string; completedAt: string } }
  /** `why`: which checkpoint there is (if any) and why it may not be used. */
  | { refuse: string };

/** With onFailure fallbackToCheckpoint: the checkpoint to restore instead of the failed savepoint, or why not. */
export function checkpointFallback(job: StreamJob, obs: Observation | undefined, now: Date): CheckpointFallback {
  const cp = freshCheckpoint(job, obs, now);
  if (cp) return { use: cp };
  const limit = job.spec.savepoints?.maxCheckpointAge ?? '10m';
  const latest = obs?.runtime?.lastCheckpoint ?? job.status?.lastCheckpoint;
  if (!latest?.path)
    return { refuse: `no completed checkpoint to fall back to (savepoints.maxCheckpointAge ${limit})` };
  const age = Math.max(0, (now.getTime() - Date.parse(latest.completedAt)) / 1000);
  return {
    refuse: `the latest checkpoint ${latest.path} completed ${age.toFixed(0)}s ago (${latest.completedAt}), older than savepoints.maxCheckpointAge ${limit} (${durationMs(limit, 10 * 60_000) / 1000}s)`,
  };
}

/** Why `op` may not start the job empty, or undefined when it may (it has state, or empty is allowed). */
export function emptyStartRefusal(
  job: StreamJob,
  op: PendingOperation,
  restoreFrom: string | undefined,
): string | undefined {
  if (restoreFrom || op.kind === 'restart' || op.kind === 'suspend') return undefined;
  if (modeFor(job.spec) === 'stateless' || job.spec.initialState === 'empty') return undefined;
  // A new job's first deployment (deploymentCounter 1: this operation's own) has no state to lose.
  if (op.kind === 'deploy' && (job.status?.deploymentCounter ?? 0) <= 1) return undefined;
  return (
    `upgradeMode ${job.spec.upgradeMode ?? 'savepoint'}: no savepoint or checkpoint to restore for this ${op.kind} ` +
    `and no pods running to take a savepoint from; refusing to start the job empty. Set spec.restore.savepointPath ` +
    `to a savepoint or checkpoint to start from, or spec.initialState: empty to start without state`
  );
}

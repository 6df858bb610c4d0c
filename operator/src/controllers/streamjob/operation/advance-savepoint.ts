// Advances the savepoint an operation waits on by one reconcile (stop-with-savepoint before a
// redeploy or a suspend, a manual savepoint, the final savepoint on delete), the same for all
// three: trigger it with the requestId already in status and record its id, or poll it; on
// completion observe its duration. What a completed or failed savepoint means is the operation's own.
import type { ReconcileResult } from '../../../kube/index.ts';
import type { PendingOperation, StreamJobStatus } from '../../../api/v1alpha1/streamjob.ts';
import type { SavepointFailureReason } from '../conditions.ts';
import type { JobCtx, ReconcilerInternals } from '../job-context.ts';
import type { StatusWrite } from '../status-writes.ts';
import { driveSavepoint, savepointRequestId } from './savepoints.ts';
import { effectiveStateStorage, stateLocation } from '../state-storage.ts';

export type SavepointOutcome =
  /** Triggered (and recorded) or still in progress: the reconcile ends here. */
  | { state: 'waiting'; result: ReconcileResult }
  | { state: 'completed'; id: string; path: string; /** Seconds since the operation started. */ took: number }
  /**
   * `attempt` and `delay`: the next try, if the operation retries. `unresolved`: the savepoint was
   * triggered and its outcome is unknown (it timed out, or asking for it failed): it may still
   * complete; only one the runtime reported FAILED is resolved.
   */
  | {
      state: 'failed';
      reason: SavepointFailureReason;
      message: string;
      attempt: number;
      delay: number;
      unresolved: boolean;
    };

export interface AdvanceSavepointOptions {
  /** Stop the job with the savepoint (every slot ends after it). */
  stop: boolean;
  /** `reason` label of tributary_operator_savepoint_duration_seconds. */
  metricReason: string;
  triggered: {
    /** Name of the status write that records the savepoint id. */
    write: StatusWrite;
    /** More status to write with the id. */
    status?: (s: StreamJobStatus, id: string) => void;
    /** Message of the SavepointTriggered Event. */
    event: (id: string) => string;
  };
}

/**
 * How soon a savepoint in flight is asked again (ms). A stop-with-savepoint halts processing at
 * its barrier, so every moment between its completion and the operator noticing is downtime
 * (a rescale's, an upgrade's): it is asked every 100 ms, which costs slot 0 one status read
 * each. A savepoint that leaves the job running is asked less often.
 */
export function savepointPollMs(stop: boolean, state: 'triggered' | 'in-progress'): number {
  if (stop) return 100;
  return state === 'triggered' ? 300 : 500;
}

/** `op` must carry its savepointRequestId (and savepointId once triggered). */
export async function advanceSavepoint(
  r: ReconcilerInternals,
  c: JobCtx,
  op: PendingOperation,
  o: AdvanceSavepointOptions,
): Promise<SavepointOutcome> {
  const location = stateLocation(c.job, effectiveStateStorage(c.job.spec, r.deps.defaults));
  const p = await driveSavepoint(r.deps.runtime, c.job, op, c.obs, o.stop, c.now, location);
  switch (p.state) {
    case 'triggered':
      await r.record(c, o.triggered.write, (s) => {
        s.pendingOperation = { ...op, savepointId: p.id, step: 'savepoint-triggered' };
        o.triggered.status?.(s, p.id);
        return s;
      });
      await r.deps.events.normal(c.job, 'SavepointTriggered', o.triggered.event(p.id));
      return { state: 'waiting', result: { requeueAfter: savepointPollMs(o.stop, 'triggered') } };
    case 'in-progress':
      return { state: 'waiting', result: { requeueAfter: savepointPollMs(o.stop, 'in-progress') } };
    case 'completed': {
      const took = (c.now.getTime() - Date.parse(op.startedAt)) / 1000;
      r.deps.metrics.savepointDuration.observe({ result: 'completed', reason: o.metricReason }, took);
      return { state: 'completed', id: p.id, path: p.path, took };
    }
    case 'failed': {
      const attempt = (op.attempt ?? 1) + 1;
      return {
        state: 'failed',
        reason: p.reason,
        message: p.message,
        attempt,
        delay: r.runtimeBackoff(c.job, attempt - 1),
        unresolved: op.savepointId !== undefined && p.reason !== 'SavepointFailed',
      };
    }
  }
}

/**
 * `op` to be retried as `failed.attempt` after `failed.delay`: a new requestId (so a new
 * savepoint, not the failed one again) and no savepoint id. `counter`: status.deploymentCounter.
 */
export function retryLater(
  c: JobCtx,
  op: PendingOperation,
  counter: number,
  failed: { attempt: number; delay: number },
  message: string,
): PendingOperation {
  const { attempt, delay } = failed;
  const next: PendingOperation = {
    ...op,
    attempt,
    savepointRequestId: savepointRequestId(c.job, op.kind, counter, attempt),
    notBefore: new Date(c.now.getTime() + delay).toISOString(),
    step: 'savepoint-failed',
    message,
  };
  delete next.savepointId;
  return next;
}

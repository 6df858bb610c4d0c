// Savepoints through slot 0's control API. The idempotency key (requestId) is written to
// status.pendingOperation.savepointRequestId *before* the POST, so an operator restarted
// after the POST asks again with the same key and gets the same savepoint id back.
import type { PendingOperation, SavepointRecord, StreamJob } from '../../../api/v1alpha1/streamjob.ts';
import { RuntimeError, RuntimeErrorCodes, type RuntimeClient } from '../../../runtime-client/client.ts';
import type { SavepointFailureReason } from '../conditions.ts';
import { slot0Url, type Observation } from '../observer.ts';
import { durationMs } from '../validation.ts';

export type SavepointProgress =
  | { state: 'triggered'; id: string }
  | { state: 'in-progress' }
  | { state: 'completed'; id: string; path: string; checkpointId?: number }
  | { state: 'failed'; reason: SavepointFailureReason; message: string };

export function savepointRequestId(job: StreamJob, kind: string, counter: number, attempt: number): string {
  return `${job.metadata.uid}-${kind}-${counter}-a${attempt}`;
}

/**
 * One look at the savepoint of `op` (which carries savepointRequestId): trigger it if not yet
 * (returns `triggered`, the caller records the id), else poll it. Never throws for runtime
 * errors: they are `failed` with a reason the caller reports.
 */
export async function driveSavepoint(
  client: RuntimeClient,
  job: StreamJob,
  op: PendingOperation,
  obs: Observation,
  stop: boolean,
  now: Date,
  /** The job's state location, named when a savepoint times out (a storage that does not answer is the usual cause). */
  location?: string,
): Promise<SavepointProgress> {
  const base = slot0Url(obs);
  if (!base || !obs.token)
    return {
      state: 'failed',
      reason: 'Slot0Unavailable',
      message: 'slot 0 of the running deployment has no pod IP (not running)',
    };
  const timeoutMs = durationMs(job.spec.savepoints?.timeout, 5 * 60_000);
  try {
    if (!op.savepointId) {
      const accepted = await client.triggerSavepoint(base, obs.token, {
        stop,
        ...(op.savepointRequestId ? { requestId: op.savepointRequestId } : {}),
      });
      if (!accepted?.id)
        return { state: 'failed', reason: 'SavepointRejected', message: 'slot 0 accepted the savepoint without an id' };
      return { state: 'triggered', id: accepted.id };
    }
    const s = await client.savepoint(base, obs.token, op.savepointId);
    if (s.state === 'COMPLETED') {
      if (!s.path)
        return { state: 'failed', reason: 'SavepointFailed', message: `savepoint ${s.id} completed without a path` };
      return {
        state: 'completed',
        id: s.id,
        path: s.path,
        ...(s.checkpointId === undefined ? {} : { checkpointId: s.checkpointId }),
      };
    }
    if (s.state === 'FAILED')
      return {
        state: 'failed',
        reason: 'SavepointFailed',
        message: `savepoint ${s.id} failed: ${s.error ?? 'no reason given'}`,
      };
    const since = Date.parse(op.notBefore ?? op.startedAt);
    if (now.getTime() - since > timeoutMs)
      return {
        state: 'failed',
        reason: 'SavepointTimeout',
        message: `savepoint ${op.savepointId} not complete after ${job.spec.savepoints?.timeout ?? '5m'}${location ? ` (its state goes to ${location}: a storage that does not answer keeps it pending)` : ''}`,
      };
    return { state: 'in-progress' };
  } catch (err) {
    if (err instanceof RuntimeError) {
      const reason: SavepointFailureReason =
        err.code === RuntimeErrorCodes.unreachable
          ? 'Slot0Unreachable'
          : err.code === RuntimeErrorCodes.unauthorized
            ? 'Unauthorized'
            : err.code === RuntimeErrorCodes.notFound
              ? 'SavepointLost'
              : 'SavepointRejected';
      return { state: 'failed', reason, message: err.message };
    }
    throw err;
  }
}

/** Appends a savepoint and trims to historyLimit; returns the new list and the dropped records. */
export function addToHistory(
  history: readonly SavepointRecord[] | undefined,
  rec: SavepointRecord,
  limit: number,
): { kept: SavepointRecord[]; dropped: SavepointRecord[] } {
  const all = [...(history ?? []).filter((r) => r.path !== rec.path), rec];
  const keep = Math.max(1, limit);
  return { kept: all.slice(-keep), dropped: all.slice(0, Math.max(0, all.length - keep)) };
}

/** The latest checkpoint if it is younger than maxCheckpointAge. */
export function freshCheckpoint(
  job: StreamJob,
  obs: Observation | undefined,
  now: Date,
): { path: string; completedAt: string } | undefined {
  const cp = obs?.runtime?.lastCheckpoint ?? job.status?.lastCheckpoint;
  if (!cp?.path) return undefined;
  const maxAge = durationMs(job.spec.savepoints?.maxCheckpointAge, 10 * 60_000);
  return now.getTime() - Date.parse(cp.completedAt) <= maxAge ? cp : undefined;
}

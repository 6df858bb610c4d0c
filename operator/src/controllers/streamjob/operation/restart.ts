// Restart: a slot of the running (or the new) deployment failed, or the health check found its
// checkpoints stalled (spec.health.restartOnUnhealthy). All slots restart from the
// newest state of the lineage after restartPolicy backoff; past maxRestarts (those in
// restartPolicy.window when set: restart-count.ts) the job is Failed (pods removed) until the
// spec or restartNonce changes.
import { setJobCondition } from '../conditions.ts';
import { deletePods } from '../idempotent-writes.ts';
import type { JobCtx, ReconcilerInternals, StepResult } from '../job-context.ts';
import { deployedSpec } from '../spec/diff.ts';
import { parseDuration } from '../../../../../runtime/src/graph/duration.ts';
import { NO_PROGRESS_AFTER, restartsWithoutCheckpoint } from './checkpoint-progress.ts';
import { countRestart } from './restart-count.ts';
import { latestRestorePoint } from './restore-point.ts';
import { startOperation } from './start.ts';

/**
 * Why the deployment restarts: `failure` (a slot failed or vanished, or the runtime FAILED) or `health` (the
 * health check found no checkpoint completed within spec.health.checkpointTimeout: checkpoint-health.ts). It
 * names the Event (SlotFailed, RestartUnhealthy) and Degraded's reason (SlotFailed, CheckpointsStalled).
 */
export type RestartCause = 'failure' | 'health';

export async function startRestart(
  r: ReconcilerInternals,
  c: JobCtx,
  why: string,
  cause: RestartCause = 'failure',
): StepResult {
  const { job, now } = c;
  const st = job.status ?? {};
  const window = job.spec.restartPolicy?.window;
  // validation.ts refuses a window that is not a positive duration; an invalid spec still
  // restarts what is deployed, and its unreadable window counts as none (the count without one).
  const ms = parseDuration(window);
  const windowMs = ms !== undefined && ms > 0 ? ms : undefined;
  const { restarts, restartTimes } = countRestart(st, now, windowMs);
  const max = job.spec.restartPolicy?.maxRestarts ?? 10;
  const within = windowMs !== undefined ? ` within ${window}` : '';
  const spec = deployedSpec(st) ?? job.spec;
  if (restarts > max) {
    await deletePods(r.deps.kube, c.log, c.obs.pods);
    // Failed ends the operation a failing new deployment was still in (run-deployment): left
    // pending, it would be advanced again and re-create the slot pods just deleted.
    await r.record(c, 'failed', (s) => {
      delete s.pendingOperation;
      s.phase = 'Failed';
      s.lastError = `${why}; gave up after ${max} restarts${within}`;
      setJobCondition(
        s,
        { type: 'Ready', status: 'False', reason: 'Failed', message: s.lastError },
        job.metadata.generation,
        now,
      );
      setJobCondition(
        s,
        { type: 'Degraded', status: 'True', reason: 'MaxRestartsExceeded', message: s.lastError },
        job.metadata.generation,
        now,
      );
      return s;
    });
    await r.deps.events.warning(
      c.job,
      'Failed',
      `${why}; gave up after ${max} restarts${within} (change the spec or restartNonce to try again)`,
    );
    return;
  }
  r.deps.metrics.restarts.inc();
  const delay = r.runtimeBackoff(job, restarts);
  const withoutCheckpoint = restartsWithoutCheckpoint(st);
  const noProgress = withoutCheckpoint >= NO_PROGRESS_AFTER;
  // The count, the Degraded condition and the restart operation are one status write: a
  // reader never sees the failure counted while the phase still says Running with no
  // operation pending, and an operator killed in between cannot count the same failure twice.
  await r.deps.events.warning(
    c.job,
    cause === 'health' ? 'RestartUnhealthy' : 'SlotFailed',
    `${why}; restarting all slots from the latest checkpoint (restart ${restarts}/${max}${within})`,
  );
  if (noProgress)
    await r.deps.events.warning(
      c.job,
      'NoCheckpointProgress',
      `no checkpoint completed in the last ${withoutCheckpoint} deployments (each restart replays from the same state); last failure: ${why}`,
    );
  try {
    return await startOperation(r, c, {
      kind: 'restart',
      spec,
      mode: 'restore',
      restoreFrom: latestRestorePoint(c.job),
      extra: { notBefore: new Date(now.getTime() + delay).toISOString(), message: why },
      alsoRecord: (s) => {
        s.restarts = restarts;
        s.restartTimes = restartTimes;
        s.restartsWithoutCheckpoint = withoutCheckpoint;
        s.lastError = why;
        const progress = noProgress ? `; no checkpoint completed in the last ${withoutCheckpoint} deployments` : '';
        setJobCondition(
          s,
          {
            type: 'Degraded',
            status: 'True',
            reason: noProgress ? 'NoCheckpointProgress' : cause === 'health' ? 'CheckpointsStalled' : 'SlotFailed',
            message: `${why}${progress}; restart ${restarts}/${max}${within} in ${Math.round(delay / 1000)}s`,
          },
          job.metadata.generation,
          now,
        );
      },
    });
  } finally {
    // Counted once the restart is recorded (c.job is the object as written, its newest restart time
    // this one), even when a later step of the operation throws; a write that failed is decided again
    // by the next reconcile, which counts it then.
    const { namespace, name } = c.job.metadata;
    if (cause === 'health' && c.job.status?.restartTimes?.at(-1) === restartTimes.at(-1))
      r.deps.metrics.unhealthyRestarts.inc({ namespace, name });
  }
}

// CheckpointProgress: the job health check's verdict (checkpoint-health.ts) as a condition, with
// an Event each time it turns: Warning CheckpointsStalled when it turns False, Normal
// CheckpointsCompleting when a checkpoint completes again. The restart it may ask for is
// decide-operation.ts's (restartOnUnhealthy). While the check is off, or nothing is deployed, the
// condition is absent; while the job does not run (an operation, a restore, no answer from slot
// 0) it keeps what it said last.
//
// Ready and kstatus ignore it, as they ignore DependencyUnavailable: the pods run what the spec
// asks (nothing is left to reconcile), and the operator itself acts on it when asked to
// (restartOnUnhealthy); Stalled is for what only the user can unblock.
import type { StreamJob, StreamJobSpec, StreamJobStatus } from '../../api/v1alpha1/streamjob.ts';
import { checkpointHealth, checkpointTimeoutMs, type CheckpointHealth } from './checkpoint-health.ts';
import { jobCondition, removeJobCondition, setJobCondition } from './conditions.ts';
import type { JobCtx, ReconcilerInternals } from './job-context.ts';
import type { Observation } from './observer.ts';

/** The verdict for `job` as observed (status as last written, slot 0's answer). */
export function healthOf(job: StreamJob, obs: Pick<Observation, 'runtime'>, now: Date): CheckpointHealth | undefined {
  const prev = jobCondition(job.status, 'CheckpointProgress');
  return checkpointHealth({
    spec: job.spec,
    status: job.status ?? {},
    runtime: obs.runtime,
    now,
    wasHealthy: prev === undefined ? undefined : prev.status === 'True',
  });
}

/** The verdict of this reconcile, with the Event of a transition. */
export async function reportHealth(r: ReconcilerInternals, c: JobCtx): Promise<CheckpointHealth | undefined> {
  const health = healthOf(c.job, c.obs, c.now);
  const prev = jobCondition(c.job.status, 'CheckpointProgress');
  if (health && !health.healthy && prev?.status !== 'False')
    await r.deps.events.warning(c.job, 'CheckpointsStalled', health.message);
  if (health?.healthy && prev?.status === 'False')
    await r.deps.events.normal(c.job, 'CheckpointsCompleting', `${health.message} (was: ${prev.message})`);
  return health;
}

/** Sets, keeps or removes the condition in `st`. */
export function recordHealth(
  st: StreamJobStatus,
  spec: Pick<StreamJobSpec, 'health'>,
  health: CheckpointHealth | undefined,
  gen: number | undefined,
  now: Date,
): void {
  if (!st.deployed || checkpointTimeoutMs(spec) === undefined) removeJobCondition(st, 'CheckpointProgress');
  else if (health)
    setJobCondition(
      st,
      {
        type: 'CheckpointProgress',
        status: health.healthy ? 'True' : 'False',
        reason: health.reason,
        message: health.message,
      },
      gen,
      now,
    );
}

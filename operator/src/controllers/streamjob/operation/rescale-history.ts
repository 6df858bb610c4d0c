// status.rescales: the job's rescale history, written by the operator in the same status writes
// as the operation it belongs to (the intent, and the write that records the new pods running),
// so a reader never sees a rescale without its operation. Bounded: the newest MAX_RESCALES.
// Cause: the autoscaler when its last scale (status.autoscaler.lastRescale, or its newest
// ScaleUp/ScaleDown decision) set the replicas this operation deploys; anyone else is `user`.
import type { PendingOperation, RescaleRecord, StreamJobStatus } from '../../../api/v1alpha1/streamjob.ts';

export const MAX_RESCALES = 10;

/** Adds the rescale `op` starts, when it changes the deployed parallelism to `replicas`. */
export function recordRescaleStart(s: StreamJobStatus, op: PendingOperation, replicas: number, now: Date): void {
  const from = s.deployed?.parallelism;
  if (op.kind !== 'rescale' && op.kind !== 'upgrade' && op.kind !== 'liveRescale') return;
  if (from === undefined || from === replicas || !op.targetDeploymentId) return;
  const a = s.autoscaler;
  const scaled = [...(a?.decisions ?? [])].reverse().find((d) => d.action === 'ScaleUp' || d.action === 'ScaleDown');
  const byAutoscaler = a?.lastRescale?.to === replicas || (scaled?.to === replicas && scaled.from === from);
  const rec: RescaleRecord = {
    startedAt: now.toISOString(),
    from,
    to: replicas,
    cause: byAutoscaler ? 'autoscaler' : 'user',
    mode: op.kind === 'liveRescale' ? 'live' : (op.mode ?? 'savepoint'),
    deployment: op.targetDeploymentId,
  };
  s.rescales = [...(s.rescales ?? []), rec].slice(-MAX_RESCALES);
}

/** Marks the rescale that started `deployment` as completed. */
export function recordRescaleDone(s: StreamJobStatus, deployment: string, now: Date): void {
  const rec = s.rescales?.find((r) => r.deployment === deployment && !r.completedAt);
  if (rec) rec.completedAt = now.toISOString();
}

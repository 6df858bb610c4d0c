// Adapts a JobExecutor (all slots, or slot 0 of a distributed deployment) to the control
// server: GET /v1/status from job.status(), savepoints through the job's coordinator. The
// server defines what it needs (StatusSource, SavepointControl: control/server.ts) and the
// executor's side implements it here, so control/ never imports the executor.
import type { JobExecutor } from './job-executor.ts';
import { MAX_WATERMARK, MIN_WATERMARK } from '../core/watermark.ts';
import type { CompletedCheckpoint } from '../checkpoint/coordinator.ts';
import { CONTRACT_VERSION, type CheckpointSummary, type JobState, type StatusResponse } from '../control/contract.ts';
import type { MigrationTracker } from '../control/migration-tracker.ts';
import type { SavepointControl, StatusSource } from '../control/server.ts';

export function jobStatusSource(
  job: JobExecutor,
  info: { jobName: string; deploymentId: string; slot: number; migrations?: MigrationTracker },
): StatusSource {
  const map: Record<string, JobState> = {
    CREATED: 'CREATED',
    RUNNING: 'RUNNING',
    STOPPING: 'STOPPING',
    FINISHED: 'FINISHED',
    STOPPED: 'FINISHED',
    FAILED: 'FAILED',
  };
  return {
    status(): StatusResponse {
      const s = job.status();
      const out: StatusResponse = {
        contractVersion: CONTRACT_VERSION,
        jobName: info.jobName,
        deploymentId: info.deploymentId,
        slot: info.slot,
        parallelism: s.parallelism,
        state: map[s.state] ?? 'RUNNING',
        recordsIn: s.recordsIn,
        recordsOut: s.recordsOut,
        ...(s.lastCheckpoint ? { lastCheckpoint: checkpointSummary(s.lastCheckpoint) } : {}),
        ...(s.recentCheckpoints ? { recentCheckpoints: s.recentCheckpoints.map(checkpointSummary) } : {}),
        ...(s.watermark > MIN_WATERMARK && s.watermark < MAX_WATERMARK ? { watermarkMs: s.watermark } : {}),
        ...(s.error ? { error: s.error } : {}),
        ...(s.waitingForInput ? { waitingForInput: s.waitingForInput } : {}),
        ...(s.unreadPartitions ? { unreadPartitions: s.unreadPartitions } : {}),
        ...(s.unavailable ? { unavailable: s.unavailable } : {}),
        ...(s.load ? { load: s.load } : {}),
        ...(s.nodes ? { nodes: s.nodes } : {}),
        ...(s.recordsDropped ? { recordsDropped: s.recordsDropped } : {}),
      };
      const migration = info.migrations?.current();
      if (migration) return { ...out, migration };
      return out;
    },
    ready: () => job.status().state !== 'CREATED' && job.status().state !== 'FAILED',
  };
}

/** A completed checkpoint; the one a coordinator reports from before its run (the restored) has no figures. */
function checkpointSummary(c: CompletedCheckpoint): CheckpointSummary {
  return {
    id: c.id,
    completedAt: c.completedAt,
    path: c.path,
    kind: c.kind,
    ...(c.durationMs > 0
      ? { durationMs: c.durationMs, bytes: c.stateSize, fullBytes: c.fullStateSize ?? c.stateSize }
      : {}),
  };
}

export function jobSavepointControl(job: JobExecutor): SavepointControl | undefined {
  const c = job.coordinator;
  if (!c) return undefined;
  return { request: (req) => job.requestSavepoint(req), get: (id) => c.savepointStatus(id) };
}

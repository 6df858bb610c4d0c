// Which state of the deployed lineage a new deployment can restore. Pure, from status.
import type { StreamJob } from '../../../api/v1alpha1/streamjob.ts';

/** Deployments a lineage lists at most (newest first); older ones fall back to `since`-by-time. */
export const LINEAGE_MAX = 16;

/** A deployment as checkpoints record it (JobConfig.deployment): unique for the life of the state location. */
export function deploymentRef(job: StreamJob, deploymentId: string): string {
  return `${job.metadata.uid ?? job.metadata.name}/${deploymentId}`;
}

/**
 * Start of the deployed lineage: state triggered since then belongs to it. A deployment that
 * itself resolved the newest state (restoreLatestSince) continues the lineage it restored.
 * Only for state whose metadata names no deployment (written by an older runtime): the rest is
 * placed by `lineageOf`, without comparing the operator's clock with slot 0's.
 */
export function lineageSince(job: StreamJob): string | undefined {
  const d = job.status?.deployed;
  return d ? (d.restoreLatestSince ?? d.startedAt) : undefined;
}

/**
 * The deployments whose checkpoints and savepoints are the deployed lineage, newest first: the
 * deployed one, then (if it resolved the newest state itself) the lineage it chose from.
 */
export function lineageOf(job: StreamJob): string[] | undefined {
  const d = job.status?.deployed;
  if (!d) return undefined;
  const inherited = d.restoreLatestSince ? (d.restoreLatestLineage ?? []) : [];
  return [deploymentRef(job, d.id), ...inherited].slice(0, LINEAGE_MAX);
}

/**
 * The newest state of the deployed job: a checkpoint or savepoint taken since it started, else what it restored from.
 */
export function latestRestorePoint(job: StreamJob): string | undefined {
  const st = job.status ?? {};
  const started = Date.parse(st.deployed?.startedAt ?? '1970-01-01T00:00:00Z');
  const candidates: { path: string; at: number }[] = [];
  if (st.lastCheckpoint?.path)
    candidates.push({ path: st.lastCheckpoint.path, at: Date.parse(st.lastCheckpoint.completedAt) });
  for (const s of st.savepoints ?? []) candidates.push({ path: s.path, at: Date.parse(s.completedAt) });
  const newest = candidates.filter((x) => x.at >= started).sort((a, b) => b.at - a.at)[0];
  return newest?.path ?? st.deployed?.restoredFrom ?? st.resumeFrom;
}

// What a StreamJob's own object says, as the dashboard shows it (pure): the summary row, the
// checkpoints and savepoints, the rescales. Rates and lag come from the sampler's series, the rest
// from status (which every operator replica's informer holds, leader or not).
import type { StreamJob } from '../api/v1alpha1/streamjob.ts';
import type {
  DashboardCheckpoint,
  DashboardJobSummary,
  DashboardRescale,
} from '../../../runtime/src/dashboard/model.ts';
import { DashboardPaths } from '../../../runtime/src/dashboard/model.ts';
import { withoutUserinfo } from './redact.ts';

/** The newest interval's figures the sampler has for a job (absent before two samples). */
export interface JobRates {
  readonly inputRate?: number | undefined;
  readonly outputRate?: number | undefined;
  readonly lag?: number | undefined;
}

export function summaryOf(job: StreamJob, now: number, rates: JobRates = {}): DashboardJobSummary {
  const { namespace = '', name = '' } = job.metadata;
  const st = job.status ?? {};
  const ready = st.conditions?.find((c) => c.type === 'Ready');
  const completed = st.lastCheckpoint ? Date.parse(st.lastCheckpoint.completedAt) : NaN;
  return {
    namespace,
    name,
    phase: st.phase ?? 'Pending',
    ...(ready ? { ready: { status: ready.status, reason: ready.reason } } : {}),
    replicas: job.spec.replicas,
    ...(rates.inputRate !== undefined ? { inputRate: rates.inputRate } : {}),
    ...(rates.outputRate !== undefined ? { outputRate: rates.outputRate } : {}),
    ...(rates.lag !== undefined ? { lag: rates.lag } : {}),
    ...(Number.isFinite(completed) ? { lastCheckpointAgeSeconds: Math.max(0, (now - completed) / 1000) } : {}),
    restarts: st.restarts ?? 0,
    ...(st.autoscaler?.recommendedReplicas !== undefined
      ? { recommendedReplicas: st.autoscaler.recommendedReplicas }
      : {}),
    url: DashboardPaths.jobPage(namespace, name),
  };
}

/**
 * The checkpoints the sampler saw (`seen`, with duration and size when the slots report them), the
 * last completed checkpoint and the savepoints of status, newest first, one row per kind and id.
 */
export function checkpointsOf(job: StreamJob, seen: readonly DashboardCheckpoint[] = []): DashboardCheckpoint[] {
  const st = job.status ?? {};
  const rows = new Map<string, DashboardCheckpoint>();
  const put = (c: DashboardCheckpoint) => {
    const key = `${c.kind}/${c.id}`;
    rows.set(key, { ...rows.get(key), ...c, path: withoutUserinfo(c.path) });
  };
  if (st.lastCheckpoint)
    put({
      id: st.lastCheckpoint.id,
      kind: 'checkpoint',
      completedAt: st.lastCheckpoint.completedAt,
      path: st.lastCheckpoint.path,
    });
  for (const c of seen) put(c);
  for (const s of st.savepoints ?? []) {
    const id = Number(s.id.replace(/^\D+/, ''));
    put({ id: Number.isSafeInteger(id) ? id : 0, kind: 'savepoint', completedAt: s.completedAt, path: s.path });
  }
  return [...rows.values()].sort((a, b) => Date.parse(b.completedAt) - Date.parse(a.completedAt) || b.id - a.id);
}

/** How a rescale of this job moves its state (spec.upgradeMode): savepoint, last-state or stateless. */
function modeOf(job: StreamJob): string {
  return job.spec.upgradeMode ?? 'savepoint';
}

/**
 * Rescales, newest first: status.rescales (the operator's own history, controllers/streamjob/
 * operation/rescale-history.ts), and the autoscaler's rescales that status.autoscaler.decisions still holds
 * and status.rescales does not (a job last rescaled by an operator that did not record them).
 */
export function rescalesOf(job: StreamJob): DashboardRescale[] {
  const st = job.status ?? {};
  const out: DashboardRescale[] = (st.rescales ?? []).map((r) => ({
    at: r.startedAt,
    from: r.from,
    to: r.to,
    cause: r.cause,
    mode: r.mode,
    ...(r.completedAt ? { completedAt: r.completedAt } : {}),
  }));
  const oldest = out.reduce((t, r) => Math.min(t, Date.parse(r.at)), Infinity);
  for (const d of st.autoscaler?.decisions ?? [])
    if ((d.action === 'ScaleUp' || d.action === 'ScaleDown') && Date.parse(d.time) < oldest)
      out.push({
        at: d.time,
        from: d.from,
        to: d.to,
        cause: 'autoscaler',
        mode: st.deployed ? modeOf(job) : 'savepoint',
      });
  return out.sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
}

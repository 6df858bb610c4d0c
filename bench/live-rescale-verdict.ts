// What a StreamJob's status says of a rescale bench/live-rescale-pods.ts asked for: whether it ran
// as asked. The operator falls back to a savepoint rescale when a live one is not possible
// (LiveRescaleNotPossible, LiveRescaleAborted) and restarts from a checkpoint when one fails: both
// keep the output exactly-once, so only the status tells them apart from what the bench measures.
import type { MigrationRecord, StreamJobStatus } from '../operator/src/api/v1alpha1/streamjob.ts';
import type { Mode } from './live-rescale-stats.ts';

/** One rescale as requested: its mode, from and to, and the deployment running when it was. */
export interface Requested {
  mode: Mode;
  from: number;
  to: number;
  deployment: string;
}

/**
 * The migration of the live rescale requested at `t0` (epoch ms): status.migration keeps the
 * previous live rescale until the operator records this one.
 */
export function requestedMigration(s: StreamJobStatus, r: Requested, t0: number): MigrationRecord | undefined {
  const m = s.migration;
  return m && m.from === r.from && m.to === r.to && Date.parse(m.startedAt) >= t0 - 1000 ? m : undefined;
}

/**
 * Why the status of a job done with rescale `r` (Running at r.to, no operation pending) says it did
 * not run as asked, if so: status.rescales' newest entry must be it, completed, in its mode; live
 * keeps the deployment and its migration COMPLETED; savepoint starts another deployment.
 */
export function notAsRequested(s: StreamJobStatus, r: Requested, t0: number): string | undefined {
  const last = s.rescales?.at(-1);
  const dep = s.deployed?.id;
  if (!last || last.from !== r.from || last.to !== r.to || !last.completedAt || last.deployment !== dep)
    return `status.rescales does not end with a completed rescale ${r.from}→${r.to} of deployment ${dep}`;
  if (last.mode !== r.mode) return `the ${r.mode} rescale ${r.from}→${r.to} ran by ${last.mode}`;
  if (r.mode === 'savepoint') return dep === r.deployment ? `the savepoint rescale kept deployment ${dep}` : undefined;
  if (dep !== r.deployment) return `the live rescale moved from deployment ${r.deployment} to ${dep}`;
  const m = requestedMigration(s, r, t0);
  return m?.state === 'COMPLETED' ? undefined : `its migration is ${m ? m.state : 'not in status'}`;
}

/** Why the job is not running steadily on `deployment` with `restarts` restarts, if so. */
export function notSteady(s: StreamJobStatus, deployment: string, restarts: number): string | undefined {
  if (s.phase === 'Failed') return 'the job failed';
  if ((s.restarts ?? 0) > restarts) return `the job restarted (${s.restarts} restarts, ${restarts} before)`;
  if (s.deployed?.id !== deployment) return `deployment ${s.deployed?.id} runs, not ${deployment}`;
  return undefined;
}

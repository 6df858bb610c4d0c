// With no operation pending: what the spec asks for against what runs (spec/diff.ts) starts
// an operation; in steady state a failed or vanished slot, or a runtime reporting FAILED,
// restarts all slots, so does a job past spec.health.checkpointTimeout with restartOnUnhealthy
// (health-condition.ts), and a deployment all of whose slots finished (end of input) makes the
// job Finished. An invalid spec deploys nothing new: the deployed (last valid) spec keeps
// running, restarts included. A Failed or Finished job stays so until its spec (or
// restartNonce) changes; a changed spec then runs it again like a job with no pods (a new
// deployment from the newest state of the finished run, or empty in stateless mode).
// A manual savepoint of a Finished job is not taken (nothing runs; its final checkpoint is
// its state).
// A replicas-only change of a job with spec.rescale.mode live runs as a live rescale
// (operation/live-rescale.ts) when the job can (spec/live-rescale-eligibility.ts) and runs now;
// otherwise as the savepoint rescale, with an Event LiveRescaleNotPossible saying why.
import type { ReconcileResult } from '../../kube/index.ts';
import type { StreamJobSpec } from '../../api/v1alpha1/streamjob.ts';
import type { JobCtx, ReconcilerInternals } from './job-context.ts';
import { recordFinished } from './operation/finished.ts';
import { modeFor } from './operation/kinds.ts';
import { periodicSavepointIfDue } from './operation/periodic-savepoint.ts';
import { startRestart } from './operation/restart.ts';
import { latestRestorePoint } from './operation/restore-point.ts';
import { startLiveRescale } from './operation/live-rescale.ts';
import { startOperation } from './operation/start.ts';
import { sweepIfDue } from './operation/sweep-orphans.ts';
import { classify, deployedSpec } from './spec/diff.ts';
import { deploymentFailure, settlingMs } from './slot-failure.ts';
import { healthOf } from './health-condition.ts';
import { specHash } from './spec/hash.ts';
import { liveRescaleBlocker, rescaleModeOf } from './spec/live-rescale-eligibility.ts';
import type { Observation } from './observer.ts';

/** Why the deployment cannot start a live rescale now (slots not all up, or the job not RUNNING), if so. */
function notRunning(obs: Observation, parallelism: number): string | undefined {
  if (obs.failedSlots.length > 0) return `slot(s) ${obs.failedSlots.join(',')} are not running`;
  if (obs.runtime?.state !== 'RUNNING')
    return `the job is not running (slot 0: ${obs.runtime?.state ?? obs.runtimeError ?? 'not answering'})`;
  if (obs.readyCount < parallelism) return `${parallelism - obs.readyCount} slot pod(s) not ready`;
  return undefined;
}

export async function decide(
  r: ReconcilerInternals,
  c: JobCtx,
  validSpec: StreamJobSpec | undefined,
): Promise<ReconcileResult | void> {
  const { job, obs } = c;
  const st = job.status ?? {};
  // Invalid spec: keep running what is deployed (restarts included); never deploy it.
  const spec = validSpec ?? deployedSpec(st);
  if (!spec) return;
  const hash = specHash(spec, r.deps.defaults);
  const ended = st.phase === 'Failed' || st.phase === 'Finished';
  if (ended && st.deployed?.specHash === hash) return; // until the spec (or restartNonce) changes

  const change = validSpec ? classify(job, validSpec, r.deps.defaults) : { kind: 'none' as const };
  const deployed = st.deployed;
  const live = deployed !== undefined && !ended && obs.current.size > 0;

  switch (change.kind) {
    case 'none':
      break;
    case 'deploy': {
      const from = spec.restore?.savepointPath || undefined;
      return startOperation(r, c, { kind: 'deploy', spec, mode: from ? 'restore' : 'stateless', restoreFrom: from });
    }
    case 'resume':
      // Suspended in last-state mode: the resumed pods pick the newest state of the suspended
      // lineage when they start (its pods may have completed checkpoints after resumeFrom was chosen).
      return startOperation(r, c, {
        kind: 'deploy',
        spec,
        mode: 'restore',
        restoreFrom: st.resumeFrom,
        extra: st.resumeLatest
          ? {
              restoreLatestSince: st.resumeLatest.since,
              ...(st.resumeLatest.lineage ? { restoreLatestLineage: st.resumeLatest.lineage } : {}),
            }
          : {},
      });
    case 'suspend':
      return startOperation(r, c, {
        kind: 'suspend',
        spec: deployedSpec(st) ?? spec,
        mode: live ? modeFor(spec) : 'restore',
        restoreFrom: live ? undefined : latestRestorePoint(job),
      });
    case 'rescale':
    case 'upgrade': {
      if (change.kind === 'rescale' && live && rescaleModeOf(spec) === 'live') {
        const not = liveRescaleBlocker(spec, change.to) ?? notRunning(obs, deployed.parallelism);
        if (not === undefined) return startLiveRescale(r, c, spec, deployed.parallelism);
        await r.deps.events.warning(
          job,
          'LiveRescaleNotPossible',
          `rescale from ${deployed.parallelism} to ${change.to} slots by savepoint, not live: ${not}`,
        );
      }
      const mode = modeFor(spec);
      if (!live)
        return startOperation(r, c, {
          kind: change.kind,
          spec,
          mode: mode === 'stateless' ? 'stateless' : 'restore',
          restoreFrom: mode === 'stateless' ? undefined : latestRestorePoint(job),
        });
      return startOperation(r, c, { kind: change.kind, spec, mode });
    }
    case 'savepoint':
      if (live) return startOperation(r, c, { kind: 'savepoint', spec, mode: 'savepoint' });
      break;
  }
  if (!deployed || ended) return;

  // Every slot ran to the end of its input (its final checkpoint committed): done, not failed.
  if (obs.finished) return recordFinished(r, c);
  // Steady state: any slot gone or failed, or the runtime FAILED → restart all slots, once the
  // peers of an ended slot have ended too (or SETTLE_MS passed), so that the cause is named.
  const why = deploymentFailure(obs);
  if (why !== undefined) {
    const settling = settlingMs(obs.current, deployed.parallelism, c.now);
    return settling > 0 ? { requeueAfter: settling } : startRestart(r, c, why);
  }
  if (st.phase !== 'Running' && obs.readyCount === deployed.parallelism && obs.runtime?.state === 'RUNNING') {
    await r.record(c, 'running', (s) => ({ ...s, phase: 'Running' }));
  }
  const running = c.job.status?.phase === 'Running' && obs.runtime?.state === 'RUNNING';
  // The health check (spec.health): a job past its checkpoint bound restarts from its newest state
  // when the spec asks for it (an ordinary restart: backoff, maxRestarts); else wake up when the bound passes.
  const health = running ? healthOf(c.job, obs, c.now) : undefined;
  if (health?.overdue && spec.health?.restartOnUnhealthy) return startRestart(r, c, health.message, 'health');
  if (r.deps.orphanSweeps && running) await sweepIfDue(r, c, r.deps.orphanSweeps);
  // Periodic savepoints (spec.savepoints.interval): started when due; else wake up when one is.
  const periodic = running ? await periodicSavepointIfDue(r, c, spec) : undefined;
  if (periodic?.started) return periodic.result;
  const after = r.after(c.job);
  const wakes = [after?.requeueAfter, periodic?.dueInMs, health?.recheckInMs].filter((ms) => ms !== undefined);
  return wakes.length === 0 ? after : { requeueAfter: Math.min(...wakes) };
}

// Re-planning: before anything destructive (no savepoint in flight), a changed spec replaces
// the pending operation, so a blocked upgrade never dead-ends: fix the spec, suspend, or
// change the upgrade mode. Deploys and restarts are never re-planned.
import type { PendingOperation } from '../../../api/v1alpha1/streamjob.ts';
import type { ReconcileResult } from '../../../kube/index.ts';
import type { JobCtx, ReconcilerInternals } from '../job-context.ts';
import { specHash } from '../spec/hash.ts';
import { validateSpec } from '../validation.ts';
import { modeFor } from './kinds.ts';

/** The new plan's result, or false when `op` still stands. */
export async function maybeReplan(
  r: ReconcilerInternals,
  c: JobCtx,
  op: PendingOperation,
): Promise<ReconcileResult | void | false> {
  if (op.kind === 'restart' || op.kind === 'deploy') return false;
  const issues = validateSpec(c.job.spec, r.deps.podPolicy, r.deps.defaults);
  if (issues.length > 0) return false;
  const spec = c.job.spec;
  const wantsSuspend = spec.state === 'suspended';
  const sameTarget =
    op.kind === 'suspend' ? wantsSuspend : !wantsSuspend && specHash(spec, r.deps.defaults) === op.targetSpecHash;
  const mode = modeFor(spec);
  if (sameTarget && (op.mode === mode || op.mode === 'restore')) return false;
  c.log.info({ op }, 'spec changed before the operation did anything destructive: re-planning');
  await r.record(c, 'replan', (s) => {
    delete s.pendingOperation;
    return s;
  });
  await r.deps.events.normal(c.job, 'Replanned', `${op.kind} superseded by a spec change before any pod was touched`);
  return r.decide(c, spec);
}

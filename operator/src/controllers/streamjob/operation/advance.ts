// The pending operation, advanced one write-ahead step at a time.
//
// Status is the write-ahead log. Every operation that replaces or removes pods is first
// written as `status.pendingOperation` (kind, target spec + hash, target deployment id,
// where state comes from, the savepoint request id); each step below re-derives what to do
// from that record plus the observed pods, so a step run twice (an operator killed and
// restarted anywhere) is harmless:
//
//   recorded ──(savepoint: trigger with requestId → poll)──▶ state-ready (restoreFrom known,
//   recorded in status before any pod is deleted) ──(delete every pod not of the target
//   deployment; wait until gone)──▶ old-pods-gone ──(RBAC, job config)──▶ starting
//   (status.deployed = target, written before the first create; pods named
//   <job>-<deploymentId>-<slot>, AlreadyExists = fine) ──(all slots ready + slot 0 says
//   RUNNING)──▶ done (pendingOperation removed, phase Running).
//
// A savepoint that fails leaves the old pods alone (nothing destructive happened yet):
// Degraded with the reason, retry with backoff (step savepoint-failed), or fall back to a
// young checkpoint when onFailure says so. Before state-ready an operation may be re-planned
// if the spec changed.
//
// Each step has the same shape: observe (the reconcile's one observation), validate (is this
// step's work still to do?), record the step's intent, act, record the step as done; then
// the operation advances to its next step within the same reconcile when nothing is left to
// wait for. STEPS below is the one table of the steps (OperationStep, the value stored in
// status): which handler advances an operation from each, and which status writes (their
// names are the fault-kill points, fault-kill.ts) record it or are made at it; the compiler
// checks that it covers every step. Operations by kind:
//   deploy, resume (a deploy restoring status.resumeFrom), rescale, upgrade, restart:
//     start.ts → prepare-state.ts (stop-with-savepoint.ts) → stop-old-pods.ts →
//     record-deployment.ts → run-deployment.ts; restart.ts starts restarts, after backoff.
//   suspend: start.ts → prepare-state.ts → stop-old-pods.ts → finish-suspend.ts.
//   savepoint (savepointNonce): manual-savepoint.ts at every step; the old pods keep running.
//   liveRescale (replicas only, spec.rescale.mode live): rescale-local.ts at every step (recorded →
//     migrating → migrated → done); no pod is replaced, the deployment id stays.
//   delete: delete.ts, from the finalizer path only.
import type { OperationKind, OperationStep, PendingOperation } from '../../../api/v1alpha1/streamjob.ts';
import type { JobCtx, ReconcilerInternals, StepResult } from '../job-context.ts';
import type { StatusWrite } from '../status-writes.ts';
import { ErrorCodes, OperatorError } from '../../../kube/index.ts';
import { finishSuspend } from './finish-suspend.ts';
import { advanceLiveRescale } from './live-rescale.ts';
import { manualSavepoint } from './manual-savepoint.ts';
import { prepareState } from './prepare-state.ts';
import { recordDeployment } from './record-deployment.ts';
import { runDeployment } from './run-deployment.ts';
import { stopOldPods } from './stop-old-pods.ts';

export type StepHandler = (r: ReconcilerInternals, c: JobCtx, op: PendingOperation) => StepResult;

export interface StepDef {
  /** The status writes that move an operation to this step (each names one step only). */
  readonly enteredBy: readonly StatusWrite[];
  /** Status writes made while an operation is at this step that leave it there. */
  readonly heldBy: readonly StatusWrite[];
  /** Advances a deploy (a resume too), rescale, upgrade or restart that is at this step. */
  readonly deploys: StepHandler;
  /** Advances a suspend that is at this step. */
  readonly suspends: StepHandler;
}

/** A restart waits out its backoff (op.notBefore) once the old pods are gone, before the new ones are made. */
const afterRestartBackoff =
  (next: StepHandler): StepHandler =>
  (r, c, op) => {
    if (op.notBefore && op.kind === 'restart' && Date.parse(op.notBefore) > c.now.getTime())
      return Promise.resolve({ requeueAfter: Date.parse(op.notBefore) - c.now.getTime() });
    return next(r, c, op);
  };

/** A step of a live rescale reached by another kind: status no operator writes. */
const onlyLive: StepHandler = (_r, _c, op) =>
  Promise.reject(new OperatorError(ErrorCodes.INVARIANT, `a pending ${op.kind} is at live-rescale step ${op.step}`));

/** The steps, in order. The first three come before state-ready: nothing destructive has happened yet. */
export const STEPS: { readonly [S in OperationStep]: StepDef } = {
  recorded: {
    enteredBy: ['intent', 'delete-intent'],
    heldBy: ['no-state-to-restore', 'live-progress'],
    deploys: prepareState,
    suspends: prepareState,
  },
  'savepoint-triggered': {
    enteredBy: ['savepoint-triggered', 'delete-savepoint-triggered'],
    heldBy: ['late-savepoints', 'no-state-to-restore'],
    deploys: prepareState,
    suspends: prepareState,
  },
  'savepoint-failed': {
    enteredBy: ['savepoint-failed', 'delete-savepoint-failed'],
    heldBy: ['late-savepoints', 'no-state-to-restore'],
    deploys: prepareState,
    suspends: prepareState,
  },
  'state-ready': {
    enteredBy: ['state-ready'],
    heldBy: ['retiring', 'retired-slot0-alive'],
    deploys: stopOldPods,
    suspends: stopOldPods,
  },
  'old-pods-gone': {
    enteredBy: ['old-pods-gone'],
    heldBy: [],
    deploys: afterRestartBackoff(recordDeployment),
    suspends: finishSuspend,
  },
  starting: {
    enteredBy: ['starting'],
    heldBy: ['waiting'],
    deploys: afterRestartBackoff(runDeployment),
    // Never reached by a suspend (it ends at old-pods-gone); a step-less suspend in old status lands here.
    suspends: finishSuspend,
  },
  // A live rescale's own steps (it starts at `recorded`, where it waits for slot 0 to accept it); only
  // liveRescale reaches them, and WHOLE_KIND drives it at every step.
  migrating: { enteredBy: ['live-requested'], heldBy: ['live-progress'], deploys: onlyLive, suspends: onlyLive },
  migrated: { enteredBy: ['live-completed'], heldBy: ['live-progress'], deploys: onlyLive, suspends: onlyLive },
};

/**
 * Status writes that end the operation (status.pendingOperation removed). `savepoint-failed` also
 * ends a manual savepoint that gave up, and a periodic one (its retry is scheduled outside it).
 */
export const ENDED_BY: readonly StatusWrite[] = [
  'done',
  'suspended',
  'finished',
  'failed',
  'savepoint-done',
  'savepoint-failed',
  'replan',
  'live-done',
  'live-failed',
];

/** Kinds one handler drives at every step (they replace no pods); `undefined`: the kind goes by STEPS. */
const WHOLE_KIND: { readonly [K in OperationKind]: StepHandler | undefined } = {
  deploy: undefined,
  rescale: undefined,
  liveRescale: advanceLiveRescale,
  upgrade: undefined,
  restart: undefined,
  suspend: undefined,
  savepoint: manualSavepoint,
  delete: (r, c) => Promise.resolve(r.after(c.job)), // only the finalizer path drives it
};

export function isOperationStep(step: string | undefined): step is OperationStep {
  return step !== undefined && Object.hasOwn(STEPS, step);
}

/** The steps an operation can be at right after `write`; `undefined` = none pending (it ended). */
export function stepsAfter(write: StatusWrite): (OperationStep | undefined)[] {
  const steps: (OperationStep | undefined)[] = (Object.keys(STEPS) as OperationStep[]).filter(
    (s) => STEPS[s].enteredBy.includes(write) || STEPS[s].heldBy.includes(write),
  );
  if (ENDED_BY.includes(write)) steps.push(undefined);
  return steps;
}

export async function advance(r: ReconcilerInternals, c: JobCtx, op: PendingOperation): StepResult {
  const whole = WHOLE_KIND[op.kind];
  if (whole) return whole(r, c, op);
  // A step this operator does not know (none: status written before steps were recorded) is
  // advanced as `starting`, as it always was.
  const step = STEPS[isOperationStep(op.step) ? op.step : 'starting'];
  return op.kind === 'suspend' ? step.suspends(r, c, op) : step.deploys(r, c, op);
}

// What each operation kind means outside its steps: the phase the job shows while it is
// pending, the state source an upgradeMode asks for, and how an operation is described in
// conditions, Events and logs; the target of an operation that deploys.
import { ErrorCodes, OperatorError } from '../../../kube/index.ts';
import type {
  OperationKind,
  PendingOperation,
  Phase,
  StateSource,
  StreamJobSpec,
} from '../../../api/v1alpha1/streamjob.ts';

export const PHASE_OF: Record<OperationKind, Phase> = {
  deploy: 'Deploying',
  rescale: 'Upgrading',
  // The job processes throughout: no pod is replaced.
  liveRescale: 'Running',
  upgrade: 'Upgrading',
  suspend: 'Savepointing',
  restart: 'Restarting',
  savepoint: 'Running',
  delete: 'Savepointing',
};

export function modeFor(spec: StreamJobSpec): StateSource {
  return spec.upgradeMode === 'stateless'
    ? 'stateless'
    : spec.upgradeMode === 'last-state'
      ? 'last-state'
      : 'savepoint';
}

export function describeOp(op: PendingOperation): string {
  const state =
    op.mode === 'savepoint'
      ? 'stop-with-savepoint'
      : op.mode === 'last-state'
        ? 'latest checkpoint'
        : op.mode === 'restore'
          ? `restore ${op.restoreFrom ?? '(nothing)'}`
          : 'no state';
  if (op.kind === 'savepoint' && op.trigger === 'periodic') return 'periodic savepoint (the job keeps running)';
  if (op.kind === 'liveRescale')
    return `live rescale from ${op.live?.from ?? '?'} to ${op.live?.to ?? '?'} slots of deployment ${
      op.targetDeploymentId ?? '?'
    } (the job processes throughout)`;
  return `${op.kind}${op.targetDeploymentId ? ` to deployment ${op.targetDeploymentId}` : ''} (${state})`;
}

/** The deployment a deploying operation brings up: its id and spec (both recorded with the intent). */
export function targetOf(op: PendingOperation): { target: string; spec: StreamJobSpec } {
  const target = op.targetDeploymentId;
  if (!target || !op.targetSpec)
    throw new OperatorError(ErrorCodes.INVARIANT, `pending ${op.kind} has no target deployment`);
  return { target, spec: JSON.parse(op.targetSpec) as StreamJobSpec };
}

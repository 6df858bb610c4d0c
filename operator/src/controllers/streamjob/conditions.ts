// The StreamJob's status conditions: their types and the reasons each may carry, set with
// kube/conditions.ts semantics (lastTransitionTime moves only when status flips). Reasons are
// API (users and alerts match on them): a new one is added to these types, never inlined.
import { getCondition, removeCondition, setCondition, type ConditionStatus } from '../../kube/index.ts';
import type { Condition, OperationKind, StreamJobStatus } from '../../api/v1alpha1/streamjob.ts';

/** Why a savepoint failed (operation/savepoints.ts driveSavepoint). */
export type SavepointFailureReason =
  | 'Slot0Unavailable'
  | 'Slot0Unreachable'
  | 'Unauthorized'
  | 'SavepointRejected'
  | 'SavepointFailed'
  | 'SavepointTimeout'
  | 'SavepointLost';

/** An operation kind as a reason: `Progressing/<Name>`, `<Name>Completed`, Event `<Name>Started`. */
export type OperationName =
  'Deploy' | 'Rescale' | 'LiveRescale' | 'Upgrade' | 'Suspend' | 'Restart' | 'Savepoint' | 'Delete';

const OPERATION_NAMES: Record<OperationKind, OperationName> = {
  deploy: 'Deploy',
  rescale: 'Rescale',
  liveRescale: 'LiveRescale',
  upgrade: 'Upgrade',
  suspend: 'Suspend',
  restart: 'Restart',
  savepoint: 'Savepoint',
  delete: 'Delete',
};

export function operationName(kind: OperationKind): OperationName {
  return OPERATION_NAMES[kind];
}

export interface JobConditionReasons {
  /**
   * Every slot of the deployed deployment ready and RUNNING (each slot's /v1/status, readiness.ts);
   * False SlotsNotRunning naming the slots that ended, NotReady while they come up. False with an operation's
   * name while it deploys, replaces or removes the pods; InvalidSpec when nothing is deployed
   * because the spec is rejected; Finished when the job ran to the end of its input (phase
   * Finished: nothing runs, so not Ready, like Suspended; operation/finished.ts).
   */
  Ready:
    | 'Running'
    | 'NotReady'
    // A slot of the deployed pods ended or is ending (pod gone or terminated, runtime not RUNNING): readiness.ts.
    | 'SlotsNotRunning'
    | 'Suspended'
    | 'Failed'
    | 'InvalidSpec'
    | 'Finished'
    | OperationName;
  /** An operation in flight (True), or the last one's outcome (False). */
  Progressing: OperationName | `${OperationName}Completed` | 'Suspended';
  /** Something needs attention; False once it cleared. InvalidSpec clears only by a spec fix. */
  Degraded:
    | 'InvalidSpec'
    | 'SpecValid'
    | 'SlotFailed'
    | 'MaxRestartsExceeded'
    // Restarts in a row without a completed checkpoint (operation/checkpoint-progress.ts).
    | 'NoCheckpointProgress'
    // A restart the health check started: no checkpoint completed within spec.health.checkpointTimeout.
    | 'CheckpointsStalled'
    // An object of the job's names exists and the job does not control it (report-not-owned.ts).
    | 'ForeignObject'
    | 'SavepointFailedUsedCheckpoint'
    // A savepoint failed and fallbackToCheckpoint found no checkpoint young enough (operation/state-policy.ts).
    | 'NoFreshCheckpoint'
    // A stateful redeploy with no state to start from and no initialState: empty (operation/state-policy.ts).
    | 'NoStateToRestore'
    | 'SavepointCompleted'
    | 'Recovered'
    | SavepointFailureReason;
  SavepointInProgress:
    | 'Triggered'
    | 'Completed'
    // Unknown: a savepoint given up on could not be asked for its outcome (operation/late-savepoint.ts).
    | 'LateSavepointUnresolved'
    | SavepointFailureReason;
  /** kstatus: the operator still works on the spec (kstatus.ts). */
  Reconciling: OperationName | 'SpecChanged' | 'NotReady' | 'SlotsNotRunning' | 'Stalled' | 'Reconciled';
  /** kstatus: it cannot progress without the user (kstatus.ts). */
  Stalled:
    | 'InvalidSpec'
    | 'MaxRestartsExceeded'
    | 'SavepointBlocked'
    | 'NoFreshCheckpoint'
    | 'NoStateToRestore'
    | 'NotStalled';
  /**
   * spec.health.checkpointTimeout set: checkpoints complete within it (True), or none completed for longer (False;
   * after that False until one completes): checkpoint-health.ts. Absent while the check is off.
   */
  CheckpointProgress: 'CheckpointsCompleting' | 'CheckpointsStalled';
  /**
   * A source waits for its input to exist (a Kafka topic): the job runs and reads nothing from it yet; or
   * partitions of a source's topic have no reader (PartitionsUnread, slot 0's alarm): their records wait.
   */
  WaitingForInput: 'TopicMissing' | 'PartitionsUnread' | 'Reading';
  /**
   * A slot cannot reach an external system and rides it out within its bound (True; reason by
   * the oldest outage's dependency), or every slot that answers reaches all of them (False,
   * Available): dependency-condition.ts.
   */
  DependencyUnavailable:
    | 'KafkaUnavailable'
    | 'S3Unavailable'
    | 'KuduUnavailable'
    | 'DruidUnavailable'
    | 'SchemaRegistryUnavailable'
    // A dependency this operator does not know by name (a newer runtime): the message names it.
    | 'Unavailable'
    | 'Available';
  /**
   * Records the graph steps dropped because an expression or function failed on them (no errorOutput,
   * onRecordError skip): True with the counts per graph step, False while the running slots dropped none
   * (records-dropped-condition.ts).
   */
  RecordsDropped: 'ExpressionFailed' | 'NoneDropped';
}

export type JobConditionType = keyof JobConditionReasons;

export type JobConditionInput = {
  [T in JobConditionType]: { type: T; status: ConditionStatus; reason: JobConditionReasons[T]; message: string };
}[JobConditionType];

/** Sets one condition of `st` in place. */
export function setJobCondition(
  st: StreamJobStatus,
  input: JobConditionInput,
  generation: number | undefined,
  now: Date,
): void {
  st.conditions = setCondition(st.conditions, input, generation, now);
}

export function removeJobCondition(st: StreamJobStatus, type: JobConditionType): void {
  if (getCondition(st.conditions, type)) st.conditions = removeCondition(st.conditions, type);
}

export function jobCondition(st: StreamJobStatus | undefined, type: JobConditionType): Condition | undefined {
  return getCondition(st?.conditions, type);
}

/**
 * Ready's message for a running deployment. Both writers of Ready True (the end of a deployment and
 * every observation) use it, so the waiting-for-input note never disappears for one reconcile.
 */
export function runningMessage(st: StreamJobStatus, parallelism: number, deploymentId: string): string {
  const input = jobCondition(st, 'WaitingForInput');
  const waiting = input?.status === 'True' ? `; ${input.message}` : '';
  return `${parallelism} slots running deployment ${deploymentId}${waiting}`;
}

/** Degraded by something an operation can clear: anything but an invalid spec. */
export function degradedByOperation(st: StreamJobStatus | undefined): boolean {
  const d = jobCondition(st, 'Degraded');
  return d?.status === 'True' && d.reason !== 'InvalidSpec';
}

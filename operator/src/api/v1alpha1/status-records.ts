// The records a StreamJob's status holds (conditions, savepoints, the deployment, periodic
// savepoints): part of the API's source of truth (streamjob.ts says how the CRD is generated
// from it; it re-exports these).

export interface Condition {
  /**
   * Ready, Progressing, Degraded, SavepointInProgress, WaitingForInput, Reconciling or Stalled.
   * @maxLength 316
   */
  type: string;
  /**
   * True, False or Unknown.
   */
  status: 'True' | 'False' | 'Unknown';
  /**
   * The metadata.generation the condition was set for.
   * @minimum 0
   * @format int64
   */
  observedGeneration?: number;
  /**
   * When status last changed (RFC 3339).
   * @format date-time
   */
  lastTransitionTime: string;
  /**
   * Machine-readable CamelCase cause, e.g. Running, InvalidSpec, SlotFailed, SavepointTimeout.
   * @maxLength 1024
   */
  reason: string;
  /**
   * Human-readable details.
   * @maxLength 32768
   */
  message: string;
}

export interface SavepointRecord {
  /**
   * Savepoint id given by slot 0.
   */
  id: string;
  /**
   * Its directory as the slot pods see it, e.g. /state/savepoints/sp-7; usable as restore.savepointPath.
   */
  path: string;
  /**
   * Why it was taken: manual (savepointNonce), periodic (savepoints.interval), or the operation it preceded
   * (rescale, upgrade, suspend).
   */
  reason: string;
  /**
   * Parallelism of the deployment that took it.
   * @format int32
   */
  parallelism: number;
  /**
   * When the operator saw it complete.
   * @format date-time
   */
  completedAt: string;
}

/** Periodic savepoints as status holds them: the schedule is derived from here, so it survives an operator restart. */
export interface PeriodicSavepointStatus {
  /**
   * When the last periodic savepoint was started (its first attempt); the next is due savepoints.interval later.
   * @format date-time
   */
  lastTriggeredAt?: string;
  /**
   * When the last periodic savepoint completed.
   * @format date-time
   */
  lastCompletedAt?: string;
  /**
   * When the next one is due (a retry: retryAt).
   * @format date-time
   */
  nextAt?: string;
  /**
   * Failed periodic savepoint attempts in a row; 0 once one completes.
   * @format int32
   */
  failures?: number;
  /**
   * The last failure, <reason>: <message>; removed once one completes.
   */
  lastError?: string;
  /**
   * A failed periodic savepoint is tried again then (restartPolicy.backoff); absent after the last attempt.
   * @format date-time
   */
  retryAt?: string;
  /**
   * The attempt retryAt starts (2 or 3).
   * @format int32
   */
  retryAttempt?: number;
}

export interface DeployedInfo {
  /**
   * Deployment id (<specHash8>-<counter>), also the tributary.dev/deployment label of its pods.
   */
  id: string;
  /**
   * Hash of the fields whose change replaces pods (image, replicas, maxParallelism, restartNonce, checkpointing,
   * stateStorage, podTemplate, graph) for this deployment.
   */
  specHash: string;
  /**
   * Slots of this deployment (its spec.replicas).
   * @format int32
   */
  parallelism: number;
  /**
   * The checkpoint or savepoint the pods restored (as they report it once running; until then what the operator
   * asked for).
   */
  restoredFrom?: string;
  /**
   * The pods restored the newest checkpoint or savepoint of the job triggered since then (last-state, restarts),
   * resolved by the pods after the previous pods were gone.
   * @format date-time
   */
  restoreLatestSince?: string;
  /**
   * With restoreLatestSince: the deployments (<job uid>/<deployment id>, newest first) whose checkpoints the pods
   * chose from, as recorded in each checkpoint's metadata.
   * @maxItems 16
   */
  restoreLatestLineage?: string[];
  /**
   * When the operator recorded this deployment, just before creating its pods.
   * @format date-time
   */
  startedAt: string;
  /**
   * The deployed (last valid) spec as JSON; restarts use it while a newer spec is invalid.
   */
  spec?: string;
}

/** One rescale of the job as the operator ran it (status.rescales). */
export interface RescaleRecord {
  /**
   * When the operator recorded the operation that changes the replicas.
   * @format date-time
   */
  startedAt: string;
  /**
   * Slots before it (the deployed parallelism).
   * @format int32
   */
  from: number;
  /**
   * Slots it deploys (spec.replicas).
   * @format int32
   */
  to: number;
  /**
   * Who asked: autoscaler (its decision wrote spec.replicas) or user (anyone else: kubectl scale, an edit, a tool).
   */
  cause: 'user' | 'autoscaler';
  /**
   * How the state moves: savepoint (stop-with-savepoint), last-state (the newest checkpoint), stateless (empty),
   * restore (a known path), live (the running slots migrate it: spec.rescale.mode live; same deployment).
   */
  mode: string;
  /**
   * Id of the deployment it starts.
   */
  deployment: string;
  /**
   * When its new pods ran; absent while it runs or when it did not complete (a restart or a newer operation took
   * over).
   * @format date-time
   */
  completedAt?: string;
}

/** A live rescale (status.migration), as slot 0 reports it (GET /v1/migrations/{id}). */
export interface MigrationRecord {
  /**
   * The migration's id on slot 0 (empty until slot 0 accepted it).
   */
  id: string;
  /**
   * Slots before it.
   * @format int32
   */
  from: number;
  /**
   * Slots after it (spec.replicas).
   * @format int32
   */
  to: number;
  /**
   * IN_PROGRESS, COMPLETED, FAILED (slot 0's state), or ABORTED (refused before anything moved: the rescale went
   * by savepoint).
   */
  state: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED' | 'ABORTED';
  /**
   * Where it is: requested (not accepted yet), joining (a new slot's pod starting), moving (key groups and
   * partitions moving step by step), draining (slots that leave finishing), done.
   */
  phase: string;
  /**
   * Steps of the plan done.
   * @format int32
   */
  stepsDone: number;
  /**
   * Steps of the plan.
   * @format int32
   */
  steps: number;
  /**
   * Key groups moved so far.
   * @format int32
   */
  keyGroupsMoved: number;
  /**
   * State bytes moved so far.
   * @format int64
   */
  bytesMoved: number;
  /**
   * When the operator recorded it.
   * @format date-time
   */
  startedAt: string;
  /**
   * When it ended.
   * @format date-time
   */
  finishedAt?: string;
  /**
   * Why it failed or was aborted, with the runtime's code.
   */
  error?: string;
}

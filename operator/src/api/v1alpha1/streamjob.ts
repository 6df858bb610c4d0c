// StreamJob (tributary.dev/v1alpha1): these types are the API's source of truth, as Go types are
// for kubebuilder. crds/streamjobs.tributary.dev.yaml and the chart's copy are generated from them
// (`npm run generate`: operator/build/generate-crds.ts), and operator/build/generate-crds.test.ts
// fails while a generated file differs from what the types give. A property's JSDoc is its
// description in the CRD (`kubectl explain`); JSDoc tags are its markers: @default, @minimum,
// @maximum, @minLength, @maxLength, @pattern, @format (int32/int64 make it an integer),
// @minItems, @maxItems, @duration (a duration string, checked by CEL), @xKubernetesValidations
// (CEL rules, JSON5), @xKubernetesListType, @xKubernetesListMapKeys. A property without `?` is
// required unless it has a @default. The spec's types are in streamjob-spec.ts (and
// state-storage.ts), status records in status-records.ts, the graph's in runtime/src/graph/spec.ts.
import type { AutoscalerStatus } from './autoscaler.ts';
import type {
  Condition,
  DeployedInfo,
  MigrationRecord,
  PeriodicSavepointStatus,
  RescaleRecord,
  SavepointRecord,
} from './status-records.ts';
import type { StreamJobSpec } from './streamjob-spec.ts';

export type { AutoscalerSpec, AutoscalerStatus } from './autoscaler.ts';
export type { HealthSpec } from './health.ts';
export type { S3StateStorage, StateStorage } from './state-storage.ts';
export type {
  Condition,
  DeployedInfo,
  MigrationRecord,
  PeriodicSavepointStatus,
  RescaleRecord,
  SavepointRecord,
} from './status-records.ts';
export type {
  JobModule,
  JobRunState,
  PodTemplate,
  RescaleMode,
  StateBackendSpec,
  StateBackendType,
  StreamJobSpec,
  UpgradeMode,
} from './streamjob-spec.ts';

export const group = 'tributary.dev';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}`;
export const kind = 'StreamJob';
export const plural = 'streamjobs';

export type Phase =
  | 'Deploying'
  | 'Running'
  | 'Savepointing'
  | 'Upgrading'
  | 'Suspended'
  | 'Restarting'
  | 'Finished'
  | 'Failed'
  | 'Invalid';
export type OperationKind =
  'deploy' | 'rescale' | 'liveRescale' | 'upgrade' | 'suspend' | 'restart' | 'savepoint' | 'delete';

// An RFC 3339 time, as the operator writes times into status (the tag is the CRD's format).
/** @format date-time */
export type DateTime = string;

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: string;
  creationTimestamp?: string;
}

export interface StreamJobStatus {
  /**
   * Deploying (first or resumed pods starting), Running, Savepointing (state being saved before an operation or a
   * suspend, or the final savepoint on deletion), Upgrading (pods replaced for a rescale or upgrade), Suspended
   * (no pods), Restarting (all slots restarting after a failure), Finished (a bounded job ran to the end of its
   * input: every slot exited 0 after the final checkpoint committed the output; the completed pods are kept for
   * their logs, nothing restarts; a spec or restartNonce change runs it again from where it ended, or from the
   * start in upgradeMode stateless), Failed (restartPolicy.maxRestarts exceeded; no pods until the spec or
   * restartNonce changes), Invalid (the spec is rejected and nothing is deployed; no pods until it is fixed, see
   * the Stalled condition).
   */
  phase?: Phase;
  /**
   * The metadata.generation whose work is done: no operation pending and the spec asks for none (a rescale counts
   * once its new pods run), or the spec was rejected (Stalled, InvalidSpec), or the job Failed or Finished and
   * waits for a spec change. While it is behind metadata.generation the job is reconciling; the Ready condition's
   * own observedGeneration follows it.
   * @format int64
   */
  observedGeneration?: number;
  /**
   * Slot pods that exist and have not terminated, of any deployment.
   * @format int32
   */
  replicas?: number;
  /**
   * Ready slot pods of the current deployment (during an operation: of the one being started).
   * @format int32
   */
  readyReplicas?: number;
  /**
   * Label selector of the slot pods (for the scale subresource).
   */
  selector?: string;
  /**
   * Ready (every slot ready and the runtime RUNNING; False with the operation's name while one deploys, replaces
   * or removes the pods), Progressing (an operation under way; False with reason <Kind>Completed when done),
   * Degraded (InvalidSpec, SlotFailed, NoCheckpointProgress, MaxRestartsExceeded, a failed savepoint),
   * SavepointInProgress, WaitingForInput (True, reason TopicMissing, while a source waits for its topic to exist,
   * or PartitionsUnread while partitions of its topic have no reader; False, Reading, once every source reads),
   * DependencyUnavailable (True while a slot cannot reach Kafka, S3, Kudu or Druid and rides it out within its
   * bound, naming the dependency, component, target, since and error;
   * False, Available, once every slot reaches them), and the kstatus pair read by kubectl wait, Argo CD and Flux:
   * Reconciling (True while an operation is pending, a new generation is not acted on yet, or slots are not ready)
   * and Stalled (True when only the user can unblock the job: InvalidSpec, MaxRestartsExceeded, SavepointBlocked).
   * @xKubernetesListType map
   * @xKubernetesListMapKeys ["type"]
   */
  conditions?: Condition[];
  /**
   * What runs now.
   */
  deployed?: DeployedInfo;
  /**
   * The write-ahead intent, recorded before any destructive step, so an operator restarted mid-way resumes it.
   */
  pendingOperation?: PendingOperation;
  /**
   * The newest completed checkpoint, as slot 0 reports it.
   */
  lastCheckpoint?: {
    /**
     * Checkpoint id (one rising sequence per state directory, shared with savepoints).
     * @format int64
     */
    id: number;
    /**
     * When it completed.
     * @format date-time
     */
    completedAt: string;
    /**
     * Its directory as the slot pods see it, e.g. /state/checkpoints/chk-12.
     */
    path: string;
    /**
     * Bytes of state it wrote: with incremental checkpoints, what changed since the checkpoint before.
     * @format int64
     */
    bytes?: number;
    /**
     * Bytes of every state file it references, those shared with older checkpoints included: what a restore reads.
     * @format int64
     */
    fullBytes?: number;
  };
  /**
   * Savepoints taken by the operator, oldest first, at most savepoints.historyLimit.
   */
  savepoints?: SavepointRecord[];
  /**
   * Whole-job restarts since the last deployment that was not a restart (with restartPolicy.window, those within
   * it); compared with restartPolicy.maxRestarts.
   * @format int32
   */
  restarts?: number;
  /**
   * When the restarts counted in status.restarts happened, oldest first (at most 100, the newest); with
   * restartPolicy.window, older ones drop out at the next restart. Cleared with the count.
   * @maxItems 100
   */
  restartTimes?: DateTime[];
  /**
   * Restarts in a row whose failed deployment had completed no checkpoint (as last observed); from 3 on the
   * restart reports Degraded reason NoCheckpointProgress and an event of that reason.
   * @format int32
   */
  restartsWithoutCheckpoint?: number;
  /**
   * The last failure (invalid spec, slot failure, savepoint failure); removed once the spec is valid again or a
   * deployment recovers.
   */
  lastError?: string;
  /**
   * Deployments started so far (the suffix of deployment ids).
   * @format int64
   */
  deploymentCounter?: number;
  /**
   * The spec.savepointNonce last acted on.
   * @format int64
   */
  savepointNonce?: number;
  /**
   * Savepoint or checkpoint a suspended job resumes from (absent: it resumes empty, or from
   * restore.savepointPath); with resumeLatest only the fallback.
   */
  resumeFrom?: string;
  /**
   * A job suspended in last-state mode: the resumed pods restore the newest checkpoint or savepoint of this
   * lineage, resolved when they start; resumeFrom only when there is none.
   */
  resumeLatest?: {
    /**
     * Start of the suspended lineage (for state whose metadata names no deployment).
     * @format date-time
     */
    since: string;
    /**
     * The deployments (<job uid>/<deployment id>, newest first) of the suspended lineage.
     * @maxItems 16
     */
    lineage?: string[];
  };
  /**
   * Periodic savepoints (spec.savepoints.interval): their schedule, kept here so that an operator restart keeps
   * it, and the last outcome.
   */
  periodicSavepoints?: PeriodicSavepointStatus;
  /**
   * What the autoscaler (spec.autoscaler) decided and why: the recommended replicas, the inputs of the last
   * decision, its last decisions and the rescales it made within the hour. Absent while it is off.
   */
  autoscaler?: AutoscalerStatus;
  /**
   * The job's rescales (operations that change the replicas: rescale, or an upgrade that also changes them), oldest
   * first, at most 10: when, from and to how many slots, who asked, how the state moved, and when the new pods ran.
   * @maxItems 10
   */
  rescales?: RescaleRecord[];
  /**
   * The newest live rescale (spec.rescale.mode live) as slot 0 reports it: kept after it ended, until the next.
   */
  migration?: MigrationRecord;
}

export type StateSource = 'savepoint' | 'last-state' | 'stateless' | 'restore';

/**
 * The write-ahead step a pending operation is at (`status.pendingOperation.step`), in order: `recorded` (the intent is
 * in status, nothing touched), `savepoint-triggered` (its savepoint id recorded), `savepoint-failed` (waiting to retry
 * it; the old pods keep running), `state-ready` (where the new pods' state comes from, recorded before any pod is
 * deleted), `old-pods-gone`, `starting` (status.deployed names the target before its first pod is created); a live
 * rescale: `recorded`, `migrating` (slot 0 accepted the migration, its id recorded), `migrated` (it completed; the
 * pods of the slots that left are deleted, then the deployment is recorded at the new parallelism). These
 * strings are stored in status: renaming one needs the old name still read (an operator upgraded mid-operation).
 * What each step does: operator/src/controllers/streamjob/operation/advance.ts.
 */
export type OperationStep =
  | 'recorded'
  | 'savepoint-triggered'
  | 'savepoint-failed'
  | 'state-ready'
  | 'old-pods-gone'
  | 'starting'
  | 'migrating'
  | 'migrated';

/** The write-ahead intent: recorded before any destructive step. */
export interface PendingOperation {
  /**
   * deploy (first deployment or resume), rescale (only replicas changed), liveRescale (only replicas changed, with
   * spec.rescale.mode live: the running pods migrate), upgrade (another pod-relevant change or restartNonce),
   * suspend, restart (after a failure), savepoint (savepointNonce), delete (the final savepoint).
   */
  kind: OperationKind;
  /**
   * specHash of the spec this operation moves to (suspend, savepoint, delete: of the running one).
   */
  targetSpecHash: string;
  /**
   * Id of the deployment this operation starts (empty for suspend, savepoint and delete).
   */
  targetDeploymentId?: string;
  /**
   * The spec (JSON) this operation deploys, fixed when the intent is recorded.
   */
  targetSpec?: string;
  /**
   * Where the new pods' state comes from: savepoint (stop-with-savepoint), last-state (newest checkpoint),
   * stateless (empty), restore (a known path, restoreFrom).
   */
  mode?: StateSource;
  /**
   * Idempotency key of the savepoint request (<uid>-<kind>-<counter>-a<attempt>), recorded before it is sent so a
   * restarted operator gets the same savepoint back.
   */
  savepointRequestId?: string;
  /**
   * Id slot 0 gave the triggered savepoint; polled until it completes or fails.
   */
  savepointId?: string;
  /**
   * kind liveRescale: the deployed parallelism it moves from and to, the idempotency key of its POST
   * /v1/migrations and the id slot 0 gave the migration.
   */
  live?: {
    /**
     * The deployed parallelism when it was recorded.
     * @format int32
     */
    from: number;
    /**
     * The parallelism it moves to (spec.replicas).
     * @format int32
     */
    to: number;
    /**
     * Idempotency key of POST /v1/migrations, recorded before it is sent: a restarted operator gets the same
     * migration back.
     */
    requestId: string;
    /**
     * Id slot 0 gave the migration; polled until it completes or fails.
     */
    migrationId?: string;
  };
  /**
   * kind savepoint: manual (savepointNonce; also when absent) or periodic (savepoints.interval).
   */
  trigger?: 'manual' | 'periodic';
  /**
   * Savepoints of this operation given up before their outcome was known (after savepoints.timeout, or a poll that
   * failed); asked again at every reconcile of the retry, one that completed late is used, one slot 0 reports
   * FAILED is dropped.
   * @maxItems 5
   */
  timedOutSavepointIds?: string[];
  /**
   * Savepoint or checkpoint path the new pods restore from, recorded before the old pods are deleted.
   */
  restoreFrom?: string;
  /**
   * last-state and restarts: the new pods restore the newest checkpoint or savepoint triggered since then,
   * resolved when they start (after the old pods are gone); restoreFrom is used only when there is none.
   * @format date-time
   */
  restoreLatestSince?: string;
  /**
   * With restoreLatestSince: the deployments (<job uid>/<deployment id>, newest first) whose checkpoints the new
   * pods choose from, by the deployment recorded in each checkpoint's metadata (state without it: by
   * restoreLatestSince).
   * @maxItems 16
   */
  restoreLatestLineage?: string[];
  /**
   * The replaced deployment's slot 0, recorded before its pods are deleted: the new pods are created only once it
   * no longer answers for that deployment, even if its pod object is gone (force-deleted).
   */
  retiredSlot0?: {
    /**
     * The replaced deployment.
     */
    deploymentId: string;
    /**
     * Its slot 0 pod's IP.
     */
    podIP: string;
  };
  /**
   * Attempt number, from 1; each savepoint retry adds one.
   * @format int32
   */
  attempt?: number;
  /**
   * Backoff; the next attempt waits until then.
   * @format date-time
   */
  notBefore?: string;
  /**
   * When the old pods stopped processing (stop-with-savepoint done or deletion begun); rescale downtime runs from
   * here.
   * @format date-time
   */
  stoppedAt?: string;
  /**
   * Why the operation waits (the last failure).
   */
  message?: string;
  /**
   * When the operation was recorded.
   * @format date-time
   */
  startedAt: string;
  /**
   * The last step completed: recorded, savepoint-triggered, savepoint-failed, state-ready (the state to restore is
   * known), old-pods-gone, starting (the new pods are being created).
   */
  step?: OperationStep;
}

/**
 * A stream-processing job: a graph of sources (Kafka, Druid SQL, datagen, file, inline records), steps and sinks that
 * the operator runs as one pod per parallelism slot. Rescales, upgrades and suspends carry the state over as
 * upgradeMode says (by default through a savepoint, so no record is lost or duplicated).
 */
export interface StreamJob {
  /**
   * APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized
   * schemas to the latest internal value, and may reject unrecognized values. More info:
   * https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources
   */
  apiVersion: 'tributary.dev/v1alpha1';
  /**
   * Kind is a string value representing the REST resource this object represents. Servers may infer this from the
   * endpoint the client submits requests to. Cannot be updated. In CamelCase. More info:
   * https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds
   */
  kind: 'StreamJob';
  metadata: ObjectMeta;
  /**
   * Desired state of the job. A change of image, replicas, maxParallelism, restartNonce, checkpointing,
   * stateStorage, podTemplate, graph or job replaces the slot pods (a rescale when only replicas changed, else an
   * upgrade, carrying state as upgradeMode says); a change of any other field does not (state and savepointNonce
   * start their own operations).
   * @xKubernetesValidations [
   *   {
   *     rule: "has(self.graph) != has(self.job)",
   *     message: "exactly one of spec.graph (a job graph) and spec.job (a job module in the image, application mode) \
   *       is required",
   *   },
   *   {
   *     rule: "self.replicas <= self.maxParallelism",
   *     message: "spec.replicas must not exceed spec.maxParallelism (a slot owns at least one key group)",
   *   },
   *   {
   *     rule: "self.maxParallelism == oldSelf.maxParallelism",
   *     message: "spec.maxParallelism is immutable once deployed: state is partitioned into that many key groups; \
   *       take a savepoint and create a new StreamJob to change it",
   *   },
   * ]
   */
  spec: StreamJobSpec;
  /**
   * Observed state, written by the operator; pendingOperation is its write-ahead log.
   */
  status?: StreamJobStatus;
}

// StreamJob (tributary.dev/v1alpha1) as TypeScript: mirrors crds/streamjobs.tributary.dev.yaml,
// which is the source of truth (a unit test checks that the two agree on the field names).
import type { GraphSpec } from '../../../../runtime/src/graph/spec.ts';

export const group = 'tributary.dev';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}`;
export const kind = 'StreamJob';
export const plural = 'streamjobs';

export type UpgradeMode = 'savepoint' | 'last-state' | 'stateless';
export type JobRunState = 'running' | 'suspended';
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
export type OperationKind = 'deploy' | 'rescale' | 'upgrade' | 'suspend' | 'restart' | 'savepoint' | 'delete';

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

export interface StreamJobSpec {
  image?: string;
  replicas: number;
  maxParallelism: number;
  state: JobRunState;
  upgradeMode: UpgradeMode;
  restartNonce: number;
  savepointNonce: number;
  restore?: { savepointPath?: string; allowNonRestoredState?: boolean };
  /**
   * `empty`: a stateful job (upgradeMode savepoint or last-state) that has run before may start again without state
   * when it has none to restore; unset, such a redeploy is refused (Stalled NoStateToRestore).
   */
  initialState?: 'empty';
  checkpointing: { interval: string; timeout: string; retained: number };
  stateStorage: StateStorage;
  savepoints: {
    timeout: string;
    historyLimit: number;
    onDelete: boolean;
    onFailure: 'block' | 'fallbackToCheckpoint';
    maxCheckpointAge: string;
    /** Take a savepoint of the running job this often (periodic savepoints); absent = never. */
    interval?: string;
  };
  restartPolicy: {
    maxRestarts: number;
    /** Only restarts in the last `window` (a duration) count against maxRestarts; absent: no window. */
    window?: string;
    backoff: { initial: string; max: string };
  };
  podTemplate?: PodTemplate;
  /** The job graph; exactly one of graph and job. */
  graph?: GraphSpec;
  /** Application mode: a job module in the image builds the job; exactly one of graph and job. */
  job?: JobModule;
}

export interface JobModule {
  /** Absolute path of the module in the image (process mode: on the node). */
  module: string;
}

/** Where checkpoints and savepoints live: object storage (s3), a volume (pvc) or pod-local (emptyDir). */
export interface StateStorage {
  pvc?: { claimName: string };
  emptyDir?: Record<string, unknown>;
  s3?: S3StateStorage;
  /** Mount path of pvc/emptyDir in the slot pods (unused with s3). */
  path: string;
  /** Delete (default): savepoints beyond historyLimit, pruned checkpoints and orphans are deleted; Retain: never. */
  retention?: 'Delete' | 'Retain';
}

/** The job's state lives under s3://bucket/<prefix>/<namespace>/<name>/. */
export interface S3StateStorage {
  bucket: string;
  prefix?: string;
  endpoint?: string;
  region?: string;
  pathStyle?: boolean;
  /** A Secret in the job's namespace labelled tributary.dev/credentials=true; absent = the pod's ambient identity. */
  credentialsSecretRef?: { name: string; accessKeyIdKey?: string; secretAccessKeyKey?: string };
}

export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  resources?: Record<string, unknown>;
  env?: Record<string, unknown>[];
  nodeSelector?: Record<string, string>;
  tolerations?: Record<string, unknown>[];
  affinity?: Record<string, unknown>;
  serviceAccountName?: string;
  priorityClassName?: string;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface SavepointRecord {
  id: string;
  path: string;
  reason: string;
  parallelism: number;
  completedAt: string;
}

export interface StreamJobStatus {
  phase?: Phase;
  observedGeneration?: number;
  replicas?: number;
  readyReplicas?: number;
  selector?: string;
  conditions?: Condition[];
  deployed?: DeployedInfo;
  pendingOperation?: PendingOperation;
  lastCheckpoint?: { id: number; completedAt: string; path: string };
  savepoints?: SavepointRecord[];
  restarts?: number;
  /** When the restarts counted in `restarts` happened, oldest first (operation/restart-count.ts). */
  restartTimes?: string[];
  /** Restarts in a row whose failed deployment had completed no checkpoint (operation/checkpoint-progress.ts). */
  restartsWithoutCheckpoint?: number;
  lastError?: string;
  /** Deployments started so far (the suffix of deployment ids). */
  deploymentCounter?: number;
  /** The spec.savepointNonce last acted on. */
  savepointNonce?: number;
  /** Savepoint a suspended job resumes from. */
  resumeFrom?: string;
  /**
   * A job suspended in last-state mode: the resumed pods restore the newest state of this lineage, resolved when they
   * start (the suspended pods may have completed checkpoints after resumeFrom was chosen); resumeFrom is the fallback.
   */
  resumeLatest?: { since: string; lineage?: string[] };
  /** The schedule and outcome of periodic savepoints (spec.savepoints.interval). */
  periodicSavepoints?: PeriodicSavepointStatus;
}

/** Periodic savepoints as status holds them: the schedule is derived from here, so it survives an operator restart. */
export interface PeriodicSavepointStatus {
  /** When the last periodic savepoint was started (its first attempt); the next is due `interval` later. */
  lastTriggeredAt?: string;
  /** When the last periodic savepoint completed. */
  lastCompletedAt?: string;
  /** When the next one is due (informational: recomputed from lastTriggeredAt and the interval). */
  nextAt?: string;
  /** Failed attempts in a row of the current periodic savepoint; 0 once one completes. */
  failures?: number;
  /** The last failure (reason: message); removed once one completes. */
  lastError?: string;
  /** A failed periodic savepoint is tried again then (restartPolicy.backoff); absent = none pending. */
  retryAt?: string;
  /** The attempt retryAt starts (2 or 3). */
  retryAttempt?: number;
}

export interface DeployedInfo {
  /** Deployment id `<specHash8>-<counter>`: the `tributary.dev/deployment` label of its pods. */
  id: string;
  specHash: string;
  parallelism: number;
  restoredFrom?: string;
  /**
   * The pods restore the newest checkpoint/savepoint triggered since then (JobConfig.restoreLatest); restoredFrom is
   * what they reported.
   */
  restoreLatestSince?: string;
  /**
   * With restoreLatestSince: the deployments (`<job uid>/<deployment id>`, newest first) whose state the pods chose
   * from; the lineage of this deployment is its own id followed by these (operation/restore-point.ts).
   */
  restoreLatestLineage?: string[];
  startedAt: string;
  /** The deployed (last valid) spec as JSON. */
  spec?: string;
}

export type StateSource = 'savepoint' | 'last-state' | 'stateless' | 'restore';

/**
 * The write-ahead step a pending operation is at (`status.pendingOperation.step`), in order: `recorded` (the intent is
 * in status, nothing touched), `savepoint-triggered` (its savepoint id recorded), `savepoint-failed` (waiting to retry
 * it; the old pods keep running), `state-ready` (where the new pods' state comes from, recorded before any pod is
 * deleted), `old-pods-gone`, `starting` (status.deployed names the target before its first pod is created). These
 * strings are stored in status: renaming one needs the old name still read (an operator upgraded mid-operation).
 * What each step does: operator/src/controllers/streamjob/operation/advance.ts.
 */
export type OperationStep =
  'recorded' | 'savepoint-triggered' | 'savepoint-failed' | 'state-ready' | 'old-pods-gone' | 'starting';

/** The write-ahead intent: recorded before any destructive step. */
export interface PendingOperation {
  kind: OperationKind;
  targetSpecHash: string;
  targetDeploymentId?: string;
  targetSpec?: string;
  mode?: StateSource;
  savepointRequestId?: string;
  savepointId?: string;
  /** kind savepoint: why it is taken — manual (savepointNonce, the default) or periodic (savepoints.interval). */
  trigger?: 'manual' | 'periodic';
  /** Savepoints of this operation given up after savepoints.timeout: one may still complete, and is then used. */
  timedOutSavepointIds?: string[];
  restoreFrom?: string;
  /**
   * Set for last-state and restarts: the new pods resolve the newest state triggered since then themselves; restoreFrom
   * is the fallback.
   */
  restoreLatestSince?: string;
  /** With restoreLatestSince: the deployments whose state the new pods choose from (restoreLatest.lineage). */
  restoreLatestLineage?: string[];
  /**
   * The replaced deployment's slot 0 (its pod IP), recorded before its pods are deleted: the new pods are created only
   * once it no longer answers for that deployment, even if its pod object is gone (operation/stop-old-pods.ts).
   */
  retiredSlot0?: { deploymentId: string; podIP: string };
  attempt?: number;
  notBefore?: string;
  stoppedAt?: string;
  message?: string;
  startedAt: string;
  /** Absent in status written before steps were recorded (operation/advance.ts advances it as `starting`). */
  step?: OperationStep;
}

export interface StreamJob {
  apiVersion: typeof apiVersion;
  kind: typeof kind;
  metadata: ObjectMeta;
  spec: StreamJobSpec;
  status?: StreamJobStatus;
}

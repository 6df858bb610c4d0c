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
  'Deploying' | 'Running' | 'Savepointing' | 'Upgrading' | 'Suspended' | 'Restarting' | 'Failed' | 'Invalid';
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
  };
  restartPolicy: { maxRestarts: number; backoff: { initial: string; max: string } };
  podTemplate?: PodTemplate;
  graph: GraphSpec;
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
  /** Restarts in a row whose failed deployment had completed no checkpoint (operation/checkpoint-progress.ts). */
  restartsWithoutCheckpoint?: number;
  lastError?: string;
  /** Deployments started so far (the suffix of deployment ids). */
  deploymentCounter?: number;
  /** The spec.savepointNonce last acted on. */
  savepointNonce?: number;
  /** Savepoint a suspended job resumes from. */
  resumeFrom?: string;
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
  startedAt: string;
  /** The deployed (last valid) spec as JSON. */
  spec?: string;
}

export type StateSource = 'savepoint' | 'last-state' | 'stateless' | 'restore';

/** The write-ahead intent: recorded before any destructive step. */
export interface PendingOperation {
  kind: OperationKind;
  targetSpecHash: string;
  targetDeploymentId?: string;
  targetSpec?: string;
  mode?: StateSource;
  savepointRequestId?: string;
  savepointId?: string;
  /** Savepoints of this operation given up after savepoints.timeout: one may still complete, and is then used. */
  timedOutSavepointIds?: string[];
  restoreFrom?: string;
  /**
   * Set for last-state and restarts: the new pods resolve the newest state triggered since then themselves; restoreFrom
   * is the fallback.
   */
  restoreLatestSince?: string;
  attempt?: number;
  notBefore?: string;
  stoppedAt?: string;
  message?: string;
  startedAt: string;
  step?: string;
}

export interface StreamJob {
  apiVersion: typeof apiVersion;
  kind: typeof kind;
  metadata: ObjectMeta;
  spec: StreamJobSpec;
  status?: StreamJobStatus;
}

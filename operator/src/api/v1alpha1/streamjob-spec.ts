// The StreamJob's spec (tributary.dev/v1alpha1): part of the API's source of truth, from which
// crds/streamjobs.tributary.dev.yaml is generated (streamjob.ts says how; it re-exports these).
// The graph's types are runtime/src/graph/spec.ts.
import type { GraphSpec } from '../../../../runtime/src/graph/spec.ts';
import type { AutoscalerSpec } from './autoscaler.ts';
import type { HealthSpec } from './health.ts';
import type { StateStorage } from './state-storage.ts';

export type UpgradeMode = 'savepoint' | 'last-state' | 'stateless';
export type JobRunState = 'running' | 'suspended';
export type RescaleMode = 'live' | 'savepoint';
export type StateBackendType = 'heap' | 'disk';

export interface StreamJobSpec {
  /**
   * Container image of the runtime in the slot pods. Empty = the operator's default (--default-image /
   * TRIBUTARY_OPERATOR_DEFAULT_IMAGE, built-in tributary/runtime:<operator version>); jobs that use the default
   * are upgraded when the operator starts with a different one.
   * @maxLength 512
   */
  image?: string;
  /**
   * Parallelism: the number of slot pods, one per slot, at most maxParallelism. Changing only this is a rescale:
   * keyed state is redistributed by key group from a savepoint or checkpoint (upgradeMode). Target of `kubectl
   * scale`. Default 1.
   * @default 1
   * @minimum 1
   * @maximum 32768
   * @format int32
   */
  replicas: number;
  /**
   * Number of key groups keyed state is split into: the upper bound of replicas. Fixed for the life of the state:
   * immutable after creation, and a checkpoint or savepoint restores only into a job with the same value. Default
   * 128.
   * @default 128
   * @minimum 1
   * @maximum 32768
   * @format int32
   */
  maxParallelism: number;
  /**
   * `suspended` saves the state as upgradeMode says (savepoint: stop-with-savepoint; last-state: the latest
   * checkpoint; stateless: none), deletes the pods and records the restore point in status.resumeFrom; `running`
   * deploys again from it. Default running.
   * @default running
   */
  state: JobRunState;
  /**
   * How state reaches new pods on a rescale, upgrade, restartNonce change or suspend: `savepoint`
   * (stop-with-savepoint, then restore it), `last-state` (no savepoint: the new pods restore the newest completed
   * checkpoint, resolved by them once the old ones are gone; a savepoint instead while no checkpoint exists yet),
   * `stateless` (start empty). With no pod running, the newest known checkpoint or savepoint is restored; changing
   * this field alone redeploys nothing. Default savepoint.
   * @default savepoint
   */
  upgradeMode: UpgradeMode;
  /**
   * How a change of replicas alone is carried out. Changing this field alone changes nothing running. No schema
   * default (absent = mode savepoint): a default the apiserver filled in would change every stored job.
   */
  rescale?: {
    /**
     * `live`: the running slots move key groups and Kafka partitions to the new slot count while the job keeps
     * processing (the pods of a scale out join, those of a scale in leave; no pod is replaced, the deployment id
     * stays); status.migration shows it. Only for a job with checkpointing whose every source is an unbounded Kafka
     * source, and replicas at most maxParallelism; otherwise (Event LiveRescaleNotPossible), or when the runtime
     * refuses it (Event LiveRescaleAborted), the rescale goes by savepoint. `savepoint`: stop-with-savepoint (as
     * upgradeMode says) and new pods. Any other change is an upgrade, always by savepoint. Default (absent)
     * savepoint: live applies to some jobs only, savepoint to every job; opting in keeps that the job owner's choice.
     */
    mode?: RescaleMode;
  };
  /**
   * Change to any other value to replace all slot pods with the current spec (an upgrade: state carried as
   * upgradeMode says). Also how a Failed job is started again without another spec change (from its newest
   * checkpoint or savepoint). Default 0.
   * @default 0
   * @format int64
   */
  restartNonce: number;
  /**
   * Change to any other value to take a savepoint while the job keeps running; it is listed in status.savepoints
   * (reason manual) and status.savepointNonce takes the value. Waits until the job runs; retried with
   * restartPolicy.backoff, given up after 3 attempts. Default 0.
   * @default 0
   * @format int64
   */
  savepointNonce: number;
  /**
   * Where the job's first deployment restores from (also a resume after a suspend that saved no state, and a
   * redeploy that finds no state of its own). Read when pods are created; changing it triggers nothing by itself.
   */
  restore?: {
    /**
     * Path of a savepoint or checkpoint directory as the slot pods see it, e.g. /state/savepoints/sp-3
     * (status.savepoints[].path, or the FinalSavepoint Event of a deleted job), so normally on this job's state
     * volume. It must have been written with the same maxParallelism and must not contain "..". Empty = start
     * empty.
     * @maxLength 1024
     */
    savepointPath?: string;
    /**
     * Start even if the restored state has state for a source, step or sink (matched by name) the graph no longer
     * has; that state is dropped. Applies to every restore of this job (upgrades and restarts too), with the value
     * of the spec the deployment was created from. Default false.
     * @default false
     */
    allowNonRestoredState?: boolean;
  };
  /**
   * `empty`: a job with upgradeMode savepoint or last-state that has run before may start again without state when
   * it has none to restore (no pod running to take a savepoint from, no checkpoint or savepoint, no
   * restore.savepointPath). Unset, such a redeploy is refused: the job is Stalled with reason NoStateToRestore
   * until a state to start from or this field is set. A new job's first deployment, and a restart of a deployment
   * that never completed a checkpoint, start empty without it. Changing it redeploys nothing.
   */
  initialState?: 'empty';
  /**
   * Periodic checkpoints (coordinated by slot 0) under the state location (stateStorage) in checkpoints/; restarts
   * and last-state upgrades restore the newest one. Exactly-once Kafka and Druid sinks commit their output when a
   * checkpoint completes. Changing it replaces the pods.
   * @default {}
   */
  checkpointing: {
    /**
     * Time between checkpoints, a duration (units ms, s, m, h, d; combinations like 1m30s). A tick while a
     * checkpoint or savepoint is still in flight is skipped. It bounds the latency of exactly-once sink output
     * (visible once its checkpoint completes). Default 10s.
     * @default 10s
     * @duration
     */
    interval: string;
    /**
     * A checkpoint or savepoint that not every slot has acknowledged within this duration is aborted (its folder
     * discarded; the job keeps running and the next interval triggers a new one). Default 2m.
     * @default 2m
     * @duration
     */
    timeout: string;
    /**
     * Completed checkpoints kept on the state storage; older ones are deleted by the runtime. Savepoints do not
     * count. Default 3.
     * @default 3
     * @minimum 1
     * @maximum 100
     * @format int32
     */
    retained: number;
    /**
     * Checkpoints that may fail in a row (their state storage refused, timed out, or a slot declined) before the
     * job fails and its restart policy takes over; savepoints do not count. While they fail the job runs on, a
     * warning names the storage, and DependencyUnavailable says S3Unavailable. Default 10 (Flink's
     * execution.checkpointing.tolerable-failed-checkpoints). No schema default on purpose: a default the
     * apiserver filled in would change the spec of every existing job, and with it the spec hash, so an operator
     * upgrade would redeploy them all; absent, the runtime's default applies.
     * @minimum 0
     * @maximum 1000
     * @format int32
     */
    tolerableFailedCheckpoints?: number;
    /**
     * Incremental checkpoints: each checkpoint uploads only the keyed state changed since the last completed one
     * and references the earlier files; a full snapshot is written again after a bounded chain of changes, so a
     * restore reads a bounded number of files per key group. false: every checkpoint writes all keyed state.
     * Savepoints are always whole and self-contained. No schema default (absent: true), so existing jobs keep
     * their spec hash.
     */
    incremental?: boolean;
  };
  /**
   * Where a running job keeps its keyed state between checkpoints: `heap` (the JavaScript heap of each slot) or
   * `disk` (a local lmdb store per stateful step on an emptyDir volume of each slot pod, with a bounded in-memory
   * cache). The local store is only a cache of what checkpoints hold: it is emptied with each pod, and a new pod
   * restores from the checkpoint or savepoint as with heap. Not where checkpoints go (stateStorage). Changing it
   * replaces the pods. No schema default (absent: heap), so existing jobs keep their spec hash.
   * @xKubernetesValidations [
   *   {
   *     rule: "self.type == 'disk' || (!has(self.localVolumeSize) && !has(self.cacheEntries))",
   *     message: "localVolumeSize and cacheEntries apply to type disk only",
   *   },
   * ]
   */
  stateBackend?: StateBackendSpec;
  /**
   * Where checkpoints and savepoints live: s3 (object storage, the choice for real clusters: slot pods need no
   * shared volume), a pvc mounted into every slot pod at `path`, or an emptyDir (pod-local, stateless jobs only).
   * Name at most one; with none, the operator's default applies (the chart's stateStorage), else an emptyDir. A
   * job with upgradeMode savepoint or last-state whose state would be on an emptyDir is refused: its savepoints
   * would be deleted with its pods. Changing it replaces the pods.
   * @default {}
   * @xKubernetesValidations [
   *   {
   *     rule: "(has(self.pvc) ? 1 : 0) + (has(self.emptyDir) ? 1 : 0) + (has(self.s3) ? 1 : 0) <= 1",
   *     message: "stateStorage takes one of s3, pvc or emptyDir",
   *   },
   * ]
   */
  stateStorage: StateStorage;
  /**
   * Savepoints the operator takes: before a rescale, upgrade or suspend (upgradeMode savepoint), on
   * savepointNonce, every savepoints.interval, and on deletion. They live under the state location (stateStorage)
   * in savepoints/sp-<id>.
   * @default {}
   */
  savepoints: {
    /**
     * How long the operator waits for one savepoint attempt before it counts as failed (SavepointTimeout; then
     * onFailure applies). On deletion: how long after the delete request the final savepoint is retried before the
     * job is deleted without one. Default 5m.
     * @default 5m
     * @duration
     */
    timeout: string;
    /**
     * Savepoints kept in status.savepoints; when a new one pushes out older ones, their sp-<id> folders are
     * deleted through slot 0 (a failure is a SavepointNotDeleted Event, and the orphan sweep tries again; folders
     * not named sp-<id>, e.g. a user's restore path, are never deleted). With stateStorage.retention Retain they
     * only leave status. Default 10.
     * @default 10
     * @minimum 1
     * @maximum 1000
     * @format int32
     */
    historyLimit: number;
    /**
     * Take a final stop-with-savepoint when the StreamJob is deleted and pods are running (a finalizer holds the
     * deletion); its path is in the FinalSavepoint Event, for restore.savepointPath of a new job. Only a pvc keeps
     * it after the pods are gone. Default true.
     * @default true
     */
    onDelete: boolean;
    /**
     * When the savepoint before a rescale, upgrade or suspend fails: `block` keeps the old pods running and
     * retries with restartPolicy.backoff (Degraded meanwhile; a spec change re-plans); `fallbackToCheckpoint`
     * restores the latest checkpoint instead if it is younger than maxCheckpointAge, else blocks. Default block.
     * @default block
     */
    onFailure: 'block' | 'fallbackToCheckpoint';
    /**
     * With onFailure fallbackToCheckpoint: the newest completed checkpoint is used only if it completed within
     * this duration before the savepoint failed. Default 10m.
     * @default 10m
     * @duration
     */
    maxCheckpointAge: string;
    /**
     * Take a savepoint of the running job this often (periodic savepoints; the job keeps running): the first one
     * this long after the pods started, then this long after the last one was started; the schedule is kept in
     * status.periodicSavepoints, so an operator restart keeps it. Each is listed in status.savepoints with reason
     * periodic and trimmed by historyLimit like any other. A failed one is a SavepointFailed Warning Event and
     * status.periodicSavepoints.failures/lastError; it is retried after restartPolicy.backoff, at most 3 attempts,
     * then waits for its next turn; it never holds checkpoints or other operations. At least 1s; absent = no
     * periodic savepoints.
     * @duration
     */
    interval?: string;
  };
  /**
   * Failure handling: when a slot pod fails or vanishes, or the runtime reports FAILED, all slots are replaced by
   * a new deployment restoring the newest checkpoint or savepoint, after a backoff.
   * @default {}
   * @xKubernetesValidations [
   *   {
   *     rule: "!has(self.window) || !has(self.maxRestarts) || self.maxRestarts <= 100",
   *     message: "maxRestarts must be at most 100 with a window (status keeps one time per counted restart)",
   *     fieldPath: ".maxRestarts",
   *   },
   * ]
   */
  restartPolicy: {
    /**
     * Restarts allowed (status.restarts, counted since the last deployment that was not a restart, and only those
     * in the last `window` when it is set); one more sets phase Failed and deletes the pods until the spec or
     * restartNonce changes. 0 = Failed at the first failure. At most 100 with a window. Default 10.
     * @default 10
     * @minimum 0
     * @format int32
     */
    maxRestarts: number;
    /**
     * Only restarts in the last `window` (a duration, e.g. "10m") count against maxRestarts and the backoff's
     * doubling, like Flink's failure-rate strategy: a job that fails now and then keeps running, one that fails
     * more than maxRestarts times within the window is Failed. status.restartTimes holds the counted restarts'
     * times. Absent (the default) = no window: every restart since the last deployment that was not a restart
     * counts, so a job that fails rarely but is never redeployed uses maxRestarts up over its lifetime.
     * @duration
     */
    window?: string;
    /**
     * Exponential delay before restart n: initial × 2^(n−1), at most max. The same delays space out retries of a
     * failed savepoint.
     * @default {}
     */
    backoff: {
      /**
       * Delay before the first restart or savepoint retry, a duration; doubles per attempt. Default 5s.
       * @default 5s
       * @duration
       */
      initial: string;
      /**
       * Upper bound of the doubling delay, a duration. Default 5m.
       * @default 5m
       * @duration
       */
      max: string;
    };
  };
  /**
   * Sizes the job from its own load: the operator reads the slots' busy time, input rate and Kafka lag each
   * reconcile and computes the replicas the job needs at targetUtilization (status.autoscaler says what and why;
   * an Event per decision). In mode Scale it writes them to spec.replicas through the scale subresource (field
   * manager tributary-autoscaler), and the rescale runs as any other. Changing this field never replaces the pods.
   * A manual `kubectl scale` while it is on in mode Scale is overridden at its next decision. Absent or
   * enabled false = off. Reference: docs/operator/autoscaler.md.
   */
  autoscaler?: AutoscalerSpec;
  /**
   * The job health check: a running job whose checkpoints stop completing for longer than checkpointTimeout gets
   * condition CheckpointProgress False and a Warning Event, and with restartOnUnhealthy a restart from its last
   * completed checkpoint. Changing this field never replaces the pods. Absent = off. Reference:
   * docs/operator/health.md.
   */
  health?: HealthSpec;
  /**
   * Settings copied into every slot pod (only these; the operator owns the rest: container, ports, probes,
   * volumes, security context). Changing it replaces the pods.
   */
  podTemplate?: PodTemplate;
  /**
   * The job graph: sources, steps and sinks by name; steps and sinks name their input(s) with `from`. Inner shapes
   * are checked by the runtime's validator; errors appear in status (Degraded) while the last valid spec keeps
   * running. Reference: docs/runtime/graph.md.
   */
  graph?: GraphSpec;
  /**
   * Application mode: the slots run a job module of the image instead of a graph. The image is built FROM the
   * runtime image with the user's job added; every slot imports the module, whose env.execute() gives the job
   * (graph and TypeScript functions). A new module or image is an upgrade (a savepoint carries the state to the
   * new graph, whose restore refuses state it cannot place). Reference: docs/runtime/typescript-api.md.
   */
  job?: JobModule;
}

export interface JobModule {
  /**
   * Absolute path of the job module (.js, .mjs or .ts) in the image, e.g. /app/jobs/clicks/job.ts. Under the local
   * cluster's process mode (no containers), a path on the node.
   * @minLength 1
   * @maxLength 1024
   * @xKubernetesValidations [
   *   { rule: "self.startsWith('/')", message: "must be an absolute path in the image, e.g. /app/jobs/clicks/job.ts" },
   * ]
   */
  module: string;
}

export interface PodTemplate {
  /**
   * Labels and annotations of the slot pods.
   */
  metadata?: {
    /**
     * Extra pod labels. Keys under tributary.dev/ and app.kubernetes.io/managed-by belong to the operator and are
     * refused.
     */
    labels?: Record<string, string>;
    /**
     * Pod annotations. Keys under tributary.dev/ belong to the operator and are refused.
     */
    annotations?: Record<string, string>;
  };
  /**
   * Compute resources of the runtime container, a core/v1 ResourceRequirements ({requests: {cpu, memory}, limits:
   * {...}}). Default: none.
   */
  resources?: Record<string, unknown>;
  /**
   * Extra environment variables of the runtime container (core/v1 EnvVar: {name, value} or {name, valueFrom}).
   * Names the operator-runtime contract owns are refused: TRIBUTARY_* (except TRIBUTARY_LOG_LEVEL,
   * TRIBUTARY_PEER_TIMEOUT, TRIBUTARY_RESCALE_BUDGET_BYTES, TRIBUTARY_STOP_LINGER), NODE_OPTIONS and
   * NODE_COMPILE_CACHE.
   */
  env?: Record<string, unknown>[];
  /**
   * The slot pods' nodeSelector (node label → value).
   */
  nodeSelector?: Record<string, string>;
  /**
   * The slot pods' tolerations (core/v1 Toleration).
   */
  tolerations?: Record<string, unknown>[];
  /**
   * The slot pods' affinity (core/v1 Affinity), e.g. podAntiAffinity to spread the slots over nodes.
   */
  affinity?: Record<string, unknown>;
  /**
   * Service account of the slot pods. Default: <job>-runtime, created by the operator. When set, the name must be
   * one the operator's install allows (chart value runtime.allowedServiceAccounts; otherwise the spec is refused)
   * and the account must exist; the operator binds its Role (get, list, watch pods, which peer discovery needs) to
   * it.
   * @maxLength 253
   */
  serviceAccountName?: string;
  /**
   * PriorityClass of the slot pods.
   * @maxLength 253
   */
  priorityClassName?: string;
}

export interface StateBackendSpec {
  /**
   * `heap`: keyed state lives in the slot's JavaScript heap (bounded by the pod's memory). `disk`: in a local lmdb
   * store on the slot pod's local-state volume, with at most cacheEntries decoded values per stateful step in memory.
   * Default heap.
   * @default heap
   */
  type: StateBackendType;
  /**
   * disk only: the sizeLimit of the emptyDir volume each slot pod gets for its local store, mounted at
   * /var/lib/tributary/state, a Kubernetes quantity (e.g. 10Gi, 500Mi). The kubelet evicts a pod whose volume
   * grows past it (the job restarts from its newest checkpoint). Default 10Gi.
   * @maxLength 64
   * @pattern ^([0-9]+(\.[0-9]*)?|\.[0-9]+)([KMGTPE]i|[kMGTPE]|[eE][0-9]+)?$
   */
  localVolumeSize?: string;
  /**
   * disk only: decoded values each stateful step of a slot keeps in memory in front of its store (the rest is read
   * from disk when a key is touched). At least 1000. Default: a twentieth of the slot's heap limit per step at
   * about 500 bytes an entry, between 1000 and 1000000.
   * @minimum 1000
   * @format int32
   */
  cacheEntries?: number;
}

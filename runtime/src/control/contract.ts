// The operator ↔ runtime contract (version 1): how a slot pod is told what to run, and the
// control API it serves. The operator imports this file (types, constants and pure functions
// over them) for all of it, so it must never import the engine: it imports only core/ (the
// leaf; core/savepoint.ts is part of this contract) and the leaf files that hold a part of it
// beside the code that writes it (finished.ts, connectors/kafka/registry-secret-env.ts), and
// re-exports them. A change here that is not additive bumps CONTRACT_VERSION.
// Additive fields and paths (an older runtime may lack them; the operator reads them only when
// present) and what their absence means: docs/runtime/control-contract.md, which grows with each.

import type { MigrationStatus } from '../core/migration.ts';
import type { DependencyOutage } from '../core/outage.ts';
import type { DroppedRecordCount } from '../core/dropped-record-count.ts';

export const CONTRACT_VERSION = 1;

/** Ports every slot process listens on, on its pod IP. */
export const CONTROL_PORT = 9250;
export const DATA_PORT = 9251;
/** Additive: GET /metrics only (Prometheus text), no token; NetworkPolicy admits only Prometheus to it. */
export const METRICS_PORT = 9252;

/**
 * Environment of a slot process. Paths are in-container paths; under the local node agent
 * they resolve against TRIBUTARY_POD_ROOT (see test/cluster/node-agent/README.md).
 */
export const RuntimeEnv = {
  /** StreamJob name and namespace. */
  jobName: 'TRIBUTARY_JOB_NAME',
  namespace: 'TRIBUTARY_NAMESPACE',
  /** This process's slot index in [0, parallelism). */
  slot: 'TRIBUTARY_SLOT',
  parallelism: 'TRIBUTARY_PARALLELISM',
  maxParallelism: 'TRIBUTARY_MAX_PARALLELISM',
  /** The address to bind and advertise (downward API status.podIP). */
  podIp: 'TRIBUTARY_POD_IP',
  podName: 'TRIBUTARY_POD_NAME',
  /** JSON file with the JobConfig below (a ConfigMap mount). */
  jobConfigFile: 'TRIBUTARY_JOB_CONFIG',
  /** Identifies one deployment of the job; peers only connect within the same deployment. */
  deploymentId: 'TRIBUTARY_DEPLOYMENT_ID',
  /** Label selector that finds the pods of this deployment through the Kubernetes API. */
  peerSelector: 'TRIBUTARY_PEER_SELECTOR',
  /**
   * File holding the job's secret (required): the bearer token every control call but /healthz and /readyz must
   * present, and the key peers prove in the data-plane handshake.
   */
  controlTokenFile: 'TRIBUTARY_CONTROL_TOKEN_FILE',
  /**
   * Set on a slot started to join a running job (a live rescale, scale out): the rescale's membership generation
   * (1 or more). Its TRIBUTARY_PARALLELISM is the job's once it joined (slot + 1: slots join one at a time), its
   * slot a new one; the JobConfig's parallelism and restore are the deployment's start and are not used. Additive:
   * a slot without it starts as a member of the deployment's first generation, as before.
   */
  join: 'TRIBUTARY_JOIN',
} as const;

/**
 * The label every slot pod carries with its slot index (additive): a running slot finds the pod of a
 * slot that joins (live rescale) by TRIBUTARY_PEER_SELECTOR plus `SLOT_LABEL=<slot>`.
 */
export const SLOT_LABEL = 'tributary.dev/slot';

/** What the operator hands every slot of one deployment (same content for all slots). */
export interface JobConfig {
  readonly contractVersion: number;
  readonly jobName: string;
  /** The StreamJob's spec.graph, with references (druid datasourceRef) resolved; absent with `module`. */
  readonly graph?: unknown;
  /**
   * Additive (application mode): the job module every slot imports instead of reading `graph`
   * (the StreamJob's spec.job.module, a path in the runtime image; exactly one of graph and
   * module). Its `env.execute()` hands the slot the graph and the functions it names.
   */
  readonly module?: string;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly checkpointing: {
    readonly intervalMs: number;
    readonly timeoutMs: number;
    readonly retained: number;
    /** Additive: consecutive failed checkpoints tolerated before the job fails (absent: the runtime's default, 10). */
    readonly tolerableFailedCheckpoints?: number;
    /** Additive: false makes every checkpoint write all keyed state (absent: incremental checkpoints). */
    readonly incremental?: boolean;
  };
  /** Root of checkpoints and savepoints (a shared volume). */
  readonly stateDir: string;
  /** Checkpoint or savepoint directory to restore from; absent = start empty. */
  readonly restoreFrom?: string;
  /**
   * Additive: restore the newest completed checkpoint or savepoint under `stateDir` whose
   * trigger time is at or after `since` (ISO time); `restoreFrom` only when there is none.
   * Every slot resolves it when it starts. The operator creates a deployment's pods only after
   * the previous deployment's pods are gone (terminated), and the new deployment cannot
   * complete a checkpoint before all of its slots restored. With `lineage` and `deployment` the
   * slots also fence the lineage's other deployments in `stateDir` and restore the one answer
   * the first of them recorded (checkpoint-format.md, "A replaced deployment that still runs"),
   * so a replaced slot 0 still alive cannot make them pick apart. A runtime that ignores the
   * field restores `restoreFrom` (the operator's newest known state), as before.
   */
  readonly restoreLatest?: {
    readonly since: string;
    /**
     * Additive: the deployments (JobConfig.deployment values) whose state belongs to the lineage.
     * With it, state whose `_metadata.json` names its `deployment` is picked iff that is listed —
     * no clock is compared; state without `deployment` (written by an older runtime) falls back
     * to `triggeredAt >= since`. Without it, `since` decides for all state (the old rule).
     */
    readonly lineage?: readonly string[];
  };
  /**
   * Additive: an id of this deployment unique for the life of `stateDir` (the operator: `<job uid>/<deployment
   * id>`), written into every checkpoint's and savepoint's `_metadata.json` as `deployment`.
   */
  readonly deployment?: string;
  readonly allowNonRestoredState: boolean;
  /**
   * Additive: what happens to state the job no longer needs. `Delete` (absent = Delete): checkpoints beyond
   * `checkpointing.retained` are removed, and slot 0 removes savepoint folders on request. `Retain`: nothing under
   * `stateDir` is ever removed by the runtime (pruned checkpoints stay; DELETE /v1/savepoints/{name} answers 409
   * TRIB_STATE_RETAINED).
   */
  readonly retention?: StateRetention;
  /**
   * Additive: where the slots keep keyed state between checkpoints (the StreamJob's spec.stateBackend). `disk`: a
   * local store per stateful step under `dir` (a pod-local volume; each store makes its own subdirectory), with
   * at most `cacheEntries` decoded values in memory (absent: the runtime's default). Absent, or a runtime that
   * ignores it: the heap. The local store is only a cache of what checkpoints hold: nothing is restored from it.
   */
  readonly stateBackend?: {
    readonly kind: 'heap' | 'disk';
    readonly dir?: string;
    readonly cacheEntries?: number;
  };
}

export type StateRetention = 'Delete' | 'Retain';

export type JobState = 'CREATED' | 'RESTORING' | 'RUNNING' | 'STOPPING' | 'FINISHED' | 'FAILED';

/** GET /v1/status on any slot. */
/** A completed checkpoint or savepoint as the control API reports it. */
export interface CheckpointSummary {
  readonly id: number;
  readonly completedAt: string;
  readonly path: string;
  /** Additive: a periodic checkpoint or a savepoint; its duration and the state size it wrote. */
  readonly kind?: 'checkpoint' | 'savepoint';
  readonly durationMs?: number;
  readonly bytes?: number;
  /** Additive: bytes of every state file it references, shared ones included (incremental checkpoints). */
  readonly fullBytes?: number;
}

export interface StatusResponse {
  readonly contractVersion: number;
  readonly jobName: string;
  readonly deploymentId: string;
  readonly slot: number;
  readonly parallelism: number;
  readonly state: JobState;
  /** Slot 0 only: slots that joined the deployment. */
  readonly slots?: { readonly slot: number; readonly address: string; readonly state: JobState }[];
  readonly lastCheckpoint?: CheckpointSummary;
  /**
   * Additive (slot 0, the coordinator's): the checkpoints and savepoints completed in this run,
   * newest first, at most 10, so a reader polling less often than checkpoints complete sees each.
   */
  readonly recentCheckpoints?: readonly CheckpointSummary[];
  readonly watermarkMs?: number;
  readonly sourceLag?: number;
  readonly error?: string;
  /** Additive: the checkpoint or savepoint this deployment restored (in-container path). */
  readonly restoredFrom?: string;
  /**
   * Additive: sources of this slot that wait for their input to exist (a Kafka topic not
   * created yet): the slot runs and reads nothing from them until it does. Absent when no
   * source waits. Every slot reads every source's topic, so slot 0's list is the job's.
   */
  readonly waitingForInput?: readonly WaitingForInput[];
  /**
   * Additive, slot 0 only: partitions of a Kafka source's topic that no slot read in the last
   * completed checkpoint, though known long enough to have an owner: their records are not
   * processed. Absent when every partition has a reader (or without checkpoints).
   */
  readonly unreadPartitions?: readonly UnreadPartitions[];
  /**
   * Additive: external dependencies this slot cannot reach right now while it rides the fault
   * out within its bound (core/outage.ts); absent when every one answers. Unlike
   * waitingForInput it is per slot (each slot has its own sinks and clients): the operator
   * reads every slot's.
   */
  readonly unavailable?: readonly DependencyOutage[];
  /** Additive: records this slot's sources read and its sinks wrote since it started (a local run sums the slots'). */
  readonly recordsIn?: number;
  readonly recordsOut?: number;
  /**
   * Additive: records this slot's steps dropped since it started because an expression (or a
   * function) failed on them and the step has no errorOutput, per step and error (the first
   * record's message); absent when none. The operator sums every slot's into RecordsDropped.
   */
  readonly recordsDropped?: readonly DroppedRecordCount[];
  /** Additive: cumulative load counters of this slot (see SlotLoad); absent before the slot runs its graph. */
  readonly load?: SlotLoad;
  /** Additive: cumulative counters per graph node of this slot (NodeLoad); absent before the slot runs its graph. */
  readonly nodes?: readonly NodeLoad[];
  /** Additive (slot 0): the running live rescale, else the last one; absent before the first. */
  readonly migration?: MigrationStatus;
}

/**
 * One graph node (source, step or sink) in one slot, as cumulative counters on the clock of
 * SlotLoad.uptimeMs: a reader differentiates two answers. Counters only grow within one slot
 * process (a smaller value means the slot restarted).
 */
export interface NodeLoad {
  /** The node's name in the graph (the `node` label of the runtime's metrics). */
  readonly node: string;
  /** Records that entered the node (a source: records it read from its input). */
  readonly recordsIn: number;
  /** Records the node emitted (a sink: records it wrote). */
  readonly recordsOut: number;
  /**
   * Milliseconds the slot spent running this node's own work (self time, not its chained
   * successors'; an async step: its capacity in use); absent where the runtime does not measure
   * it per node (the slot's busy share, SlotLoad.busyMs, then stands for every node).
   */
  readonly busyMs?: number;
  /** Milliseconds the task (chain) it runs in could not run because its output was full; absent where not measured. */
  readonly backpressuredMs?: number;
  /** The node's current watermark, epoch ms; absent before its first watermark. */
  readonly watermarkMs?: number;
  /**
   * Additive: a stateful step's keyed state (rolling aggregate, dedupe, interval join, process
   * function, window), read from its state backends at the answer and summed over this
   * process's slots; absent for a node that keeps no keyed state (and from an older runtime).
   */
  readonly keyedState?: NodeKeyedState;
}

/**
 * The keyed state of one step, as gauges (the answer's values, not counters): the same numbers as
 * `tributary_state_keys`, `tributary_state_snapshot_bytes`, `tributary_state_local_bytes` and
 * `tributary_state_cached_entries`.
 */
export interface NodeKeyedState {
  /** Where the keyed state lives (JobConfig.stateBackend.kind): the heap, or a disk store on the pod's local volume. */
  readonly backend: 'heap' | 'disk';
  /** Keys held across the step's states. */
  readonly keys: number;
  /** Bytes of the last full snapshot the step wrote; absent before its first. */
  readonly fullSnapshotBytes?: number;
  /** Bytes of the last delta (incremental checkpoints); absent before its first. */
  readonly deltaBytes?: number;
  /** Disk backend only: bytes of the step's store on the local volume (allocated blocks). */
  readonly localBytes?: number;
  /** Disk backend only: decoded values the step's cache holds in memory. */
  readonly cachedEntries?: number;
}

/**
 * A slot's load since its graph started, as cumulative counters: a reader takes two answers and
 * divides the differences by the difference of `uptimeMs`, so no window is fixed here and a
 * missed answer loses nothing. Counters only grow within one slot process; a smaller value than
 * before means the slot restarted (the reader starts over).
 */
export interface SlotLoad {
  /** Milliseconds since the slot's graph started: the clock every other counter here is measured on. */
  readonly uptimeMs: number;
  /**
   * Busy milliseconds per resource that can limit this slot's throughput: `eventLoop` (time the
   * slot's JavaScript thread spent running, not waiting: Node's event-loop utilization) and one
   * entry per async step (its name: time-weighted share of its `capacity` in flight, so a step
   * always at its capacity is busy all the time). The slot's busy ratio over an interval is the
   * largest of these ratios: its bottleneck.
   */
  readonly busyMs: Readonly<Record<string, number>>;
  /** Milliseconds the slot's tasks could not run because an output (channel or sink) was full. */
  readonly backpressuredMs: number;
  /** Records the slot's sources read (the same count as StatusResponse.recordsIn). */
  readonly recordsIn: number;
  /** Per Kafka source of the slot: the topic's partition count and this slot's share of the lag. */
  readonly sources: readonly SourceLoad[];
}

export interface SourceLoad {
  /** The source's name in the graph. */
  readonly source: string;
  /** Partitions of the source's topics in all (not only this slot's): the most slots that can read it. */
  readonly partitions: number;
  /** Partitions this slot reads. */
  readonly assigned: number;
  /** Records behind the end of the partitions this slot reads, at the time of the answer (0 when unknown). */
  readonly lag: number;
  /** Records this source read in this slot (cumulative). */
  readonly recordsIn: number;
}

/** Partitions of a Kafka source's topic no slot reads (slot 0's alarm, exec/unowned-partitions.ts). */
export interface UnreadPartitions {
  readonly source: string;
  readonly topic: string;
  readonly partitions: readonly number[];
}

/** A source waiting for its input: the source's name, the topic, since when (ISO time). */
export interface WaitingForInput {
  readonly source: string;
  readonly topic: string;
  readonly since: string;
}

/**
 * POST /v1/savepoints on slot 0. `stop: true` = stop-with-savepoint: the job ends once it
 * completed; one that FAILED leaves the job RUNNING (retry with a new requestId).
 */
export interface SavepointRequest {
  readonly stop: boolean;
  /** Idempotency key: a repeated request with the same key returns the same savepoint id. */
  readonly requestId?: string;
}

export interface SavepointAccepted {
  readonly id: string;
}

/** GET /v1/savepoints/{id} on slot 0: defined in core/ (the coordinator tracks it), part of this contract. */
export type { SavepointState, SavepointStatus } from '../core/savepoint.ts';

/** POST /v1/migrations and GET /v1/migrations/{id} on slot 0: defined in core/ (the job tracks it). */
export type {
  JoiningSlot,
  MigrationPhase,
  MigrationRequest,
  MigrationState,
  MigrationStatus,
} from '../core/migration.ts';

/** StatusResponse.unavailable: defined in core/ (the components that ride a fault out report it). */
export type { Dependency, DependencyOutage } from '../core/outage.ts';

/** StatusResponse.recordsDropped, and how several slots' counts add up: defined in core/. */
export { mergeDropped, type DroppedRecordCount } from '../core/dropped-record-count.ts';

/** How a slot pod says its job ran to the end of its input: its termination message (finished.ts). */
export { parseFinishedMessage, type FinishedTermination } from './finished.ts';

/** Registry credentials a job names by Secret: the slot's variables, which both sides derive from Secret and key. */
export { registrySecretEnv, type RegistrySecretRef } from '../connectors/kafka/registry-secret-env.ts';

/**
 * DELETE /v1/savepoints/{name} on slot 0 (additive): removes the savepoint folder
 * `<stateDir>/savepoints/<name>` (name = the path's last segment, `sp-<n>`; nothing outside
 * that folder can be named). 204 when removed or already absent; 409 TRIB_STATE_RETAINED when the job's retention
 * is Retain. The operator calls it for savepoints it dropped beyond `savepoints.historyLimit` and for orphans its
 * sweep found (folders nothing references).
 */
export const SAVEPOINT_FOLDER_PATTERN = /^sp-\d+$/;

/**
 * GET /v1/savepoints on slot 0 (additive): the savepoint folders under `<stateDir>/savepoints`, complete or not,
 * oldest id first. `triggeredAt` is the metadata's trigger time (absent for a folder without `_metadata.json`, which is
 * no savepoint: abandoned or still being written). Fails closed: a location that cannot be listed, or a metadata file
 * that cannot be read, is an error answer, never a shorter list.
 */
export interface SavepointFolderList {
  readonly savepoints: readonly SavepointFolder[];
}

export interface SavepointFolder {
  /** `sp-<id>`, the last segment of the savepoint's path. */
  readonly name: string;
  readonly id: number;
  readonly complete: boolean;
  readonly triggeredAt?: string;
}

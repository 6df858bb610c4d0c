// The dashboard's JSON API, version 1: what the page reads, whoever serves it. Two servers
// answer it with the same page: the operator (every job it watches, on its `dashboard` port)
// and `tributary run --ui` (the one local job, namespace `local`). The operator imports this
// file; it imports nothing (types only), so the runtime's engine stays out of the operator.
//
// Invariants every server keeps:
// - read-only: GET only; nothing here changes a job;
// - no Secret and no credential is ever part of an answer (a state URI shows no userinfo);
// - bounded memory: a job's series hold at most `series.capacity` points, oldest dropped first;
// - rates are per second over the interval between two samples; a counter that went down (a
//   restarted slot) starts a new interval, never a negative rate.
// A change that is not additive bumps DASHBOARD_API_VERSION (the page checks it).
// Additive within version 1: DashboardNode.busyScope, DashboardNode.keyedState.

export const DASHBOARD_API_VERSION = 1;

/** Paths of the API (GET). `<ns>` and `<name>` are URI-encoded. */
export const DashboardPaths = {
  /** DashboardJobs */
  jobs: '/api/v1/jobs',
  /** DashboardJobDetail: `/api/v1/jobs/<ns>/<name>` */
  job: (namespace: string, name: string): string =>
    `/api/v1/jobs/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`,
  /** The page of one job, the stable URL that alerts and Events link to: `/jobs/<ns>/<name>`. */
  jobPage: (namespace: string, name: string): string =>
    `/jobs/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`,
} as const;

/** GET /api/v1/jobs */
export interface DashboardJobs {
  readonly apiVersion: typeof DASHBOARD_API_VERSION;
  /** ISO time of the answer. */
  readonly generatedAt: string;
  /** Sorted by namespace, then name. */
  readonly jobs: readonly DashboardJobSummary[];
}

export interface DashboardJobSummary {
  readonly namespace: string;
  readonly name: string;
  /** The StreamJob's status.phase (a local run: the runtime's JobState). */
  readonly phase: string;
  /** The Ready condition's status and reason, when there is one. */
  readonly ready?: { readonly status: 'True' | 'False' | 'Unknown'; readonly reason: string };
  /** spec.replicas (a local run: its parallelism). */
  readonly replicas: number;
  /** Records per second the sources read, over the newest sampling interval; absent before two samples. */
  readonly inputRate?: number;
  /** Records per second the sinks wrote, same interval. */
  readonly outputRate?: number;
  /** Kafka records behind, all sources and slots summed; absent when unknown. */
  readonly lag?: number;
  /** Seconds since the last completed checkpoint; absent when none completed. */
  readonly lastCheckpointAgeSeconds?: number;
  /** Restarts of this job (status.restarts or the local supervisor's). */
  readonly restarts: number;
  /** The autoscaler's recommendation, when the job has one. */
  readonly recommendedReplicas?: number;
  /** DashboardPaths.jobPage of this job. */
  readonly url: string;
}

/** GET /api/v1/jobs/<ns>/<name> */
export interface DashboardJobDetail {
  readonly apiVersion: typeof DASHBOARD_API_VERSION;
  readonly generatedAt: string;
  readonly summary: DashboardJobSummary;
  /** The job graph: every source, step and sink, with the edges between them. */
  readonly graph: { readonly nodes: readonly DashboardNode[]; readonly edges: readonly DashboardEdge[] };
  readonly series: DashboardSeries;
  readonly checkpoints: readonly DashboardCheckpoint[];
  /** Kubernetes Events of the job, newest first (a local run: the supervisor's notices). */
  readonly events: readonly DashboardEvent[];
  /** The slots' last exceptions, newest first. */
  readonly exceptions: readonly DashboardException[];
  /** Rescales, newest first. */
  readonly rescales: readonly DashboardRescale[];
}

export type DashboardNodeRole = 'source' | 'step' | 'sink';

export interface DashboardNode {
  /** The node's name in the graph (the `node`/`step` label of the runtime's metrics). */
  readonly id: string;
  readonly role: DashboardNodeRole;
  /** The source or sink kind (`kafka`, `druid`…) or the step kind (`filter`, `window`…). */
  readonly kind: string;
  /** Newest interval, all slots summed; absent before two samples or where the node does not count. */
  readonly inRate?: number;
  readonly outRate?: number;
  /** Share of wall time (0..1) this node's slots were busy in it, the largest over slots. */
  readonly busy?: number;
  /** Share of wall time (0..1) it could not run because its output was full, the largest over slots. */
  readonly backpressured?: number;
  /**
   * Additive: what `busy` and `backpressured` measure: `node` (this node's own time) or `slot` (the
   * share of the slots running it, where the runtime does not time nodes one by one). Absent = node.
   */
  readonly busyScope?: 'node' | 'slot';
  /** Processing time minus the node's watermark, ms, the largest over slots. */
  readonly watermarkLagMs?: number;
  /**
   * Additive: a stateful step's keyed state as its slots reported it in the newest sample, summed
   * over them, with each slot's own figures; absent for a node that keeps none (or before a slot
   * reports it: an older runtime never does).
   */
  readonly keyedState?: DashboardKeyedState;
}

/** One step's keyed state, as gauges (the runtime's NodeLoad.keyedState and `tributary_state_*`). */
export interface DashboardStateFigures {
  /** `heap`, or `disk`: a store on the slot's local volume with a cache of decoded values in memory. */
  readonly backend: 'heap' | 'disk';
  readonly keys: number;
  /** Bytes of the last full snapshot and of the last delta; absent before the first. */
  readonly fullSnapshotBytes?: number;
  readonly deltaBytes?: number;
  /** Disk backend only: bytes on the local volume, and decoded values cached in memory. */
  readonly localBytes?: number;
  readonly cachedEntries?: number;
}

/** A step's keyed state summed over the slots that reported it. */
export interface DashboardKeyedState extends DashboardStateFigures {
  /** Each of those slots' own figures, by slot index. */
  readonly slots: readonly DashboardSlotState[];
}

export interface DashboardSlotState extends DashboardStateFigures {
  readonly slot: number;
}

export interface DashboardEdge {
  readonly from: string;
  readonly to: string;
  /** How records move: `forward` (same slot), `hash` (by key), `rebalance`, `broadcast`. */
  readonly exchange?: string;
}

/** The sampled history of one job. Each array is aligned with `t`. */
export interface DashboardSeries {
  /** Seconds between samples. */
  readonly intervalSeconds: number;
  /** Most points a series keeps (the bound on memory per job). */
  readonly capacity: number;
  /** Sample times, epoch ms, oldest first. */
  readonly t: readonly number[];
  readonly inputRate: readonly (number | null)[];
  readonly outputRate: readonly (number | null)[];
  /** Lag per source name. */
  readonly lag: Readonly<Record<string, readonly (number | null)[]>>;
  /** Duration and size of the checkpoint that completed in each interval, null when none did. */
  readonly checkpointDurationMs: readonly (number | null)[];
  readonly checkpointBytes: readonly (number | null)[];
}

export interface DashboardCheckpoint {
  readonly id: number;
  readonly kind: 'checkpoint' | 'savepoint';
  /** ISO time. */
  readonly completedAt: string;
  /** Where it is (a state URI or path, never with credentials). */
  readonly path: string;
  readonly durationMs?: number;
  /** Bytes it wrote; `fullBytes`: bytes of every state file it references (shared ones included). */
  readonly bytes?: number;
  readonly fullBytes?: number;
}

export interface DashboardEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
  readonly count: number;
  /** ISO time. */
  readonly lastSeen: string;
}

export interface DashboardException {
  readonly slot: number;
  readonly message: string;
  /** ISO time it was seen. */
  readonly at: string;
}

export interface DashboardRescale {
  /** ISO time it began. */
  readonly at: string;
  readonly from: number;
  readonly to: number;
  /** Who asked: `user` (spec.replicas), `autoscaler`, or the local control API. */
  readonly cause: string;
  /** How it moved: `savepoint` (stop, restore at the new parallelism) or `live`. */
  readonly mode: string;
  /** ISO time it ended; absent while it runs. */
  readonly completedAt?: string;
}

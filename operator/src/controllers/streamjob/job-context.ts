// What every stage of a StreamJob reconcile shares: the reconciler's dependencies, one
// reconcile's context (the job as last written, what was observed, one clock reading), and
// the reconciler's own entry points. Operations start one another (a new deployment whose
// slot fails starts a restart; a spec changed before anything destructive re-plans), so they
// reach `advance` and `decide` through ReconcilerInternals, never by import: the modules of
// operation/ import nothing that imports them back.
import type { Logger } from 'pino';
import type {
  EventRecorder,
  Informer,
  KubeClient,
  KubeObject,
  ReconcileResult,
  StatusWriter,
} from '../../kube/index.ts';
import type { PendingOperation, StreamJob, StreamJobSpec, StreamJobStatus } from '../../api/v1alpha1/streamjob.ts';
import type { CredentialsSecret } from '../credentials/opted-in-secret.ts';
import type { RuntimeClient } from '../../runtime-client/client.ts';
import type { StreamJobMetrics } from './metrics.ts';
import type { JobDefaults } from './state-storage.ts';
import type { Observation } from './observer.ts';
import type { Cadence } from './phases.ts';
import type { PodPolicy } from './pod-template-rules.ts';
import type { Secret } from './objects/control-token.ts';
import type { StatusWrite } from './status-writes.ts';
import type { Pod } from './objects/slot-pod.ts';

export interface StreamJobReconcilerDeps {
  readonly jobs: Informer<StreamJob>;
  readonly pods: Informer<Pod>;
  readonly secrets: Informer<Secret>;
  readonly services: Informer<KubeObject>;
  /** Secrets labelled tributary.dev/credentials=true (the only ones a job may name as credentials). */
  readonly credentialSecrets: Informer<CredentialsSecret>;
  readonly kube: KubeClient;
  readonly statusWriter: StatusWriter;
  readonly events: EventRecorder;
  readonly runtime: RuntimeClient;
  readonly metrics: StreamJobMetrics;
  /** Image and stateStorage for specs that leave them empty. */
  readonly defaults: JobDefaults;
  /** What spec.podTemplate may name (service accounts); default: only the operator-made account. */
  readonly podPolicy?: PodPolicy;
  /** Container args for the slot pods (tests run a stand-in script through `tributary/node:*`). */
  readonly containerArgs?: readonly string[];
  readonly cadence?: Cadence;
  /**
   * Job uid → time of its last orphan savepoint sweep (operation/sweep-orphans.ts); absent = sweeps only after a
   * recorded savepoint, none on a cadence.
   */
  readonly orphanSweeps?: Map<string, number>;
  readonly now?: () => Date;
  /** Hook for fault-injection tests: called after each status write with the write's name. */
  readonly afterWrite?: (job: StreamJob, write: StatusWrite) => void | Promise<void>;
}

export interface JobCtx {
  /** The job as last read or written: every status write replaces it. */
  job: StreamJob;
  log: Logger;
  /** What was observed once, before any stage acted. */
  obs: Observation;
  /** One clock reading per reconcile. */
  now: Date;
  /** Why the spec is rejected (set when the observation is recorded); undefined = valid. */
  rejected?: string;
}

export type StepResult = Promise<ReconcileResult | void>;

export interface ReconcilerInternals {
  deps: StreamJobReconcilerDeps;
  /**
   * Writes status (the mutation re-runs on a fresh copy after a conflict), with its kstatus
   * view derived from the result (kstatus.ts); `c.job` becomes the object written. `write`
   * names it in logs and for fault-injection tests (status-writes.ts).
   */
  record(c: JobCtx, write: StatusWrite, mutate: (st: StreamJobStatus) => StreamJobStatus): Promise<StreamJob>;
  /** Delay before retry `attempt` (spec.restartPolicy.backoff). */
  runtimeBackoff(job: StreamJob, attempt: number): number;
  /** Requeue at the cadence of the job's phase. */
  after(job: StreamJob): ReconcileResult | void;
  /** Runs the next steps of the pending operation (operation/advance.ts). */
  advance(c: JobCtx, op: PendingOperation): StepResult;
  /** Chooses what to do when no operation is pending (decide-operation.ts); no `validSpec` = the spec is invalid. */
  decide(c: JobCtx, validSpec: StreamJobSpec | undefined): StepResult;
}

// What a change of each StreamJob spec field makes the operator do, one entry per field of
// StreamJobSpec: a field added to the type without a class here does not compile (`satisfies`
// over `keyof Required<StreamJobSpec>`), so no field is silently applied in place. The deployment
// hash (hash.ts) covers exactly the 'redeploy' and 'rescale' fields; diff.ts acts on
// 'suspend' and 'savepoint'.
// Nested objects are classified whole: every part of checkpointing, stateStorage (retention
// included: the pods' runtime prunes, or with Retain does not), stateBackend, podTemplate, graph and job reaches
// the pods, and no part of savepoints or restartPolicy does (the operator reads them). restore
// mixes both (savepointPath: the operator; allowNonRestoredState: the job config) but neither
// part is a reason for new pods, so it stays whole. A nested object with a part that needs new
// pods and a part that must not cause them would have to be split here (the first part hashed).
import type { StreamJobSpec } from '../../../api/v1alpha1/streamjob.ts';

export type SpecFieldClass =
  /** The pods read it when they start: a change replaces them (an upgrade). Hashed. */
  | 'redeploy'
  /** replicas: new pods of the same shape (a rescale, or an upgrade when the shape changed too). Hashed. */
  | 'rescale'
  /** state: suspends or resumes the job. */
  | 'suspend'
  /** savepointNonce: a change takes a manual savepoint. */
  | 'savepoint'
  /** The operator reads it when it acts (each reconcile, each operation): no new pods. */
  | 'in-place'
  /** Read when a deployment is prepared (a pending one re-reads it); never a reason for one. */
  | 'next-deployment';

/** A classification of every key of `S` (generic so that a test can show a new key is refused). */
export type SpecFieldTable<S> = { readonly [K in keyof Required<S>]: SpecFieldClass };

export const SPEC_FIELDS = {
  image: 'redeploy',
  replicas: 'rescale',
  maxParallelism: 'redeploy',
  state: 'suspend',
  // When an operation starts (and a pending savepoint re-plans when it changes: failure-policies.md).
  upgradeMode: 'in-place',
  // How the next replicas-only change runs (decide-operation.ts): nothing running reads it.
  rescale: 'in-place',
  // A bump is a change "that needs new pods": it redeploys with nothing else changed.
  restartNonce: 'redeploy',
  savepointNonce: 'savepoint',
  // savepointPath: what a deployment with no state of its own restores; allowNonRestoredState:
  // the next job config.
  restore: 'next-deployment',
  // Consulted when a stateful job that ran before has no state to restore (operation/state-policy.ts).
  initialState: 'next-deployment',
  checkpointing: 'redeploy',
  stateStorage: 'redeploy',
  // The slots open their keyed state in it; a disk backend also gives each pod its local volume.
  stateBackend: 'redeploy',
  // timeouts, historyLimit, onDelete, onFailure, maxCheckpointAge, interval (periodic savepoints).
  savepoints: 'in-place',
  restartPolicy: 'in-place',
  podTemplate: 'redeploy',
  graph: 'redeploy',
  // Application mode: the module (with the image) defines the graph.
  job: 'redeploy',
  // The operator's autoscaler reads it each reconcile; what it decides reaches the pods only through replicas.
  autoscaler: 'in-place',
  // The operator reads it each reconcile (checkpoint-health.ts); a restart it starts is an ordinary restart.
  health: 'in-place',
} as const satisfies SpecFieldTable<StreamJobSpec>;

export type SpecField = keyof typeof SPEC_FIELDS;

/** The fields the deployment hash covers: the running deployment runs what they say. */
export type DeployedField = {
  [K in SpecField]: (typeof SPEC_FIELDS)[K] extends 'redeploy' | 'rescale' ? K : never;
}[SpecField];

export const specFields = Object.keys(SPEC_FIELDS) as SpecField[];

// A live rescale's status, as the job tracks it and slot 0's control API serves it
// (POST/GET /v1/migrations, StatusResponse.migration). Part of the operator ↔ runtime contract
// (control/contract.ts re-exports it): only additive changes here, or CONTRACT_VERSION goes up.

export type MigrationState = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';

/**
 * Where a migration is: new slots joining (scale out), key groups and partitions moving step by
 * step, moved-off slots draining (scale in), finished.
 */
export type MigrationPhase = 'joining' | 'moving' | 'draining' | 'done';

/** POST /v1/migrations on slot 0: move the running job to parallelism `to` without stopping it. */
export interface MigrationRequest {
  readonly to: number;
  /** Idempotency key: a repeated request with the same key returns the same migration. */
  readonly requestId?: string;
}

/**
 * A slot pod slot 0 waits for (additive; slot pods only): the operator creates the deployment's pod for
 * `slot` with TRIBUTARY_JOIN=`generation` and TRIBUTARY_PARALLELISM=`parallelism`, same deployment id,
 * ConfigMap and token as the running pods. A local run's supervisor starts its joining slots itself.
 */
export interface JoiningSlot {
  readonly slot: number;
  readonly generation: number;
  readonly parallelism: number;
}

/** GET /v1/migrations/{id} on slot 0. Counts are of the plan, made once before anything moves. */
export interface MigrationStatus {
  readonly id: string;
  readonly state: MigrationState;
  readonly from: number;
  readonly to: number;
  readonly phase: MigrationPhase;
  readonly stepsDone: number;
  readonly steps: number;
  readonly keyGroupsMoved: number;
  readonly keyGroups: number;
  readonly bytesMoved: number;
  readonly bytes: number;
  /** ISO 8601. */
  readonly startedAt: string;
  readonly finishedAt?: string;
  /** Slot pods: the joining pod slot 0 waits for now (none while nothing is to be started). */
  readonly awaiting?: JoiningSlot;
  /** A FAILED migration's reason and its TRIB_* code. */
  readonly error?: string;
  readonly code?: string;
}

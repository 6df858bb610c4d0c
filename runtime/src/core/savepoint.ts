// A savepoint request's status, as the checkpoint coordinator tracks it and slot 0's control
// API serves it (GET /v1/savepoints/{id}). Part of the operator ↔ runtime contract
// (control/contract.ts re-exports it for the operator): only additive changes here, or
// CONTRACT_VERSION goes up.

export type SavepointState = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';

/** GET /v1/savepoints/{id} on slot 0. */
export interface SavepointStatus {
  readonly id: string;
  readonly state: SavepointState;
  readonly path?: string;
  readonly error?: string;
  readonly checkpointId?: number;
}

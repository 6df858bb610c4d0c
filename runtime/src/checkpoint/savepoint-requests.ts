// Savepoints as the control API sees them: each request gets an id at once and a status that
// moves from IN_PROGRESS to COMPLETED (its path) or FAILED (the error code and message); a
// request repeated with the same requestId (a retried HTTP call, a reconcile run again) gets the
// same savepoint instead of a second one.
import { randomUUID } from 'node:crypto';
import type { SavepointStatus } from '../core/savepoint.ts';
import type { TributaryError } from '../errors.ts';

export class SavepointRequests {
  private readonly savepoints = new Map<string, SavepointStatus>();
  private readonly byRequestId = new Map<string, string>();
  private readonly take: (stop: boolean) => Promise<{ id: number; path: string }>;

  /** `take`: triggers a savepoint (stopping the job after it when asked). */
  constructor(take: (stop: boolean) => Promise<{ id: number; path: string }>) {
    this.take = take;
  }

  /** Starts a savepoint; idempotent by requestId. */
  request(req: { stop: boolean; requestId?: string }): SavepointStatus {
    if (req.requestId !== undefined) {
      const id = this.byRequestId.get(req.requestId);
      const s = id === undefined ? undefined : this.savepoints.get(id);
      if (s) return s;
    }
    const id = `sp-${randomUUID().slice(0, 8)}`;
    const status: SavepointStatus = { id, state: 'IN_PROGRESS' };
    this.savepoints.set(id, status);
    if (req.requestId !== undefined) this.byRequestId.set(req.requestId, id);
    this.take(req.stop).then(
      (c) => this.savepoints.set(id, { id, state: 'COMPLETED', path: c.path, checkpointId: c.id }),
      (e: unknown) =>
        this.savepoints.set(id, {
          id,
          state: 'FAILED',
          error: `${(e as TributaryError).code ?? 'TRIB_CHECKPOINT_FAILED'}: ${(e as Error).message}`,
        }),
    );
    return status;
  }

  status(id: string): SavepointStatus | undefined {
    return this.savepoints.get(id);
  }
}

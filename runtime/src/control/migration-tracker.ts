// Live rescales requested through the control API (POST /v1/migrations), each tracked until it
// completed or failed so GET /v1/migrations/{id} and StatusResponse.migration can answer after
// the fact. The job itself carries the migration out (JobExecutor.rescale); this keeps ids,
// idempotency keys and a bounded history, nothing else.
//
// Invariants: a request is answered only once the job accepted it or refused it — a refusal
// (TRIB_RESCALE_UNSUPPORTED, TRIB_RESCALE_PLAN_INVALID: nothing moved) is the request's error and
// leaves no record, an accepted migration is recorded before the answer; one migration at a
// time (the job refuses a second); a repeated requestId returns the first request's migration.
import type { MigrationRequest, MigrationStatus } from '../core/migration.ts';
import { isTributaryError, TributaryError } from '../errors.ts';

/** Where a running migration is, as the job reports it (the plan's totals, what is done); the tracker adds the rest. */
export type MigrationProgress = Omit<MigrationStatus, 'id' | 'state' | 'startedAt' | 'finishedAt' | 'error' | 'code'> &
  Partial<Pick<MigrationStatus, 'id' | 'startedAt' | 'finishedAt'>>;

/** The job as the tracker drives it: `rescale` reports progress at least once once it accepted the request. */
export interface Rescalable {
  rescale(to: number, opts: { onProgress(p: MigrationProgress): void }): Promise<unknown>;
}

const HISTORY = 10;

export class MigrationTracker {
  private readonly job: Rescalable;
  private readonly byId = new Map<string, MigrationStatus>();
  private readonly byRequest = new Map<string, string>();
  private next = 1;
  private newest: string | undefined;

  constructor(job: Rescalable) {
    this.job = job;
  }

  /** Starts a migration; resolves with its status once the job accepted it, rejects with the job's refusal. */
  request(req: MigrationRequest): Promise<MigrationStatus> {
    const seen = req.requestId === undefined ? undefined : this.byRequest.get(req.requestId);
    const known = seen === undefined ? undefined : this.byId.get(seen);
    if (known) return Promise.resolve(known);
    const running = this.newest === undefined ? undefined : this.byId.get(this.newest);
    if (running?.state === 'IN_PROGRESS')
      return Promise.reject(
        new TributaryError('TRIB_RESCALE_UNSUPPORTED', `live rescale: migration ${running.id} is still running`),
      );
    const n = this.next++;
    const startedAt = new Date().toISOString();
    return new Promise<MigrationStatus>((accept, refuse) => {
      let id: string | undefined;
      const onProgress = (p: MigrationProgress): void => {
        const first = id === undefined;
        id ??= p.id ?? `mig-${n}`;
        const prev = this.byId.get(id);
        if (prev && prev.state !== 'IN_PROGRESS') return;
        this.record({ startedAt, ...p, id, state: 'IN_PROGRESS' });
        if (first) {
          if (req.requestId !== undefined) this.byRequest.set(req.requestId, id);
          accept(this.byId.get(id) as MigrationStatus);
        }
      };
      this.job.rescale(req.to, { onProgress }).then(
        () => {
          const last = id === undefined ? undefined : this.byId.get(id);
          if (!last)
            return refuse(new TributaryError('TRIB_INVARIANT', `live rescale to ${req.to} ended without progress`));
          this.record({
            ...last,
            state: 'COMPLETED',
            phase: 'done',
            finishedAt: last.finishedAt ?? new Date().toISOString(),
          });
        },
        (e: unknown) => {
          if (id === undefined) return refuse(e);
          const last = this.byId.get(id) as MigrationStatus;
          this.record({
            ...last,
            state: 'FAILED',
            finishedAt: new Date().toISOString(),
            error: (e as Error).message,
            code: isTributaryError(e) ? e.code : 'TRIB_RESCALE_STEP_FAILED',
          });
        },
      );
    });
  }

  get(id: string): MigrationStatus | undefined {
    return this.byId.get(id);
  }

  /** Newest first. */
  list(): MigrationStatus[] {
    return [...this.byId.values()].reverse();
  }

  /** The running migration, else the last one; undefined before the first. */
  current(): MigrationStatus | undefined {
    return this.newest === undefined ? undefined : this.byId.get(this.newest);
  }

  private record(s: MigrationStatus): void {
    this.byId.delete(s.id); // re-inserted last: one runs at a time, so last updated is last started
    this.byId.set(s.id, s);
    this.newest = s.id;
    while (this.byId.size > HISTORY) {
      const oldest = this.byId.keys().next().value as string;
      this.byId.delete(oldest);
      for (const [k, v] of this.byRequest) if (v === oldest) this.byRequest.delete(k);
    }
  }
}

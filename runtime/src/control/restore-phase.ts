// A slot's restore phase as its control API tells it. A slot starts its control server before it
// looks up the newest checkpoint (restore-latest.ts) and reads the restore's metadata and state
// files, so GET /v1/status answers from the start: `state: 'RESTORING'` and, while the state
// storage does not answer, `unavailable` names it (dependency s3, component `restore` for the
// lookup, `checkpoint storage (restore)` for the reads). The operator's DependencyUnavailable
// condition listens to a non-RUNNING slot that names outages: the StreamJob says S3Unavailable
// while the new pods wait, not only once their bound failed them.
//
// Invariants: the phase ends once the slot leaves CREATED (it built its job, failed or stops);
// from then on its reporters are ignored and it adds nothing to the slot's own status. Readiness
// is not this file's: /readyz stays false until the slot runs.
import type { ReportOutage } from '../core/outage.ts';
import type { ReadOutageReporters } from '../checkpoint/storage/read-outages.ts';
import { OutageBoard } from '../core/outage-board.ts';
import { CONTRACT_VERSION, type JobState, type StatusResponse } from './contract.ts';

export interface SlotIdentity {
  readonly jobName: string;
  readonly deploymentId: string;
  readonly slot: number;
  readonly parallelism: number;
}

/** The component the restore's state reads report as (the lookup reports as `restore`). */
export const RESTORE_READS = 'checkpoint storage (restore)';

export class RestorePhase {
  private readonly board = new OutageBoard();
  private over = false;
  private readonly id: SlotIdentity;
  /** Whether the slot restores state (a restoreLatest lookup, a restore path): RESTORING, else CREATED. */
  restores: boolean;
  /** Whether the slot has left CREATED (built its job, failed, stops): the phase is then over. */
  private readonly done: () => boolean;

  constructor(id: SlotIdentity, restores: boolean, done: () => boolean = () => false) {
    this.id = id;
    this.restores = restores;
    this.done = done;
  }

  /** One reporter's (`key`) outages while the phase lasts. */
  reporter(key: string): ReportOutage {
    const report = this.board.reporter(key);
    return (o) => {
      if (!this.ended || o === undefined) report(o);
    };
  }

  /** For reportingStateReadOutages: the restore's state reads, one reporter per read. */
  readReporters(): ReadOutageReporters {
    return { component: RESTORE_READS, reporter: (key) => this.reporter(key) };
  }

  /** Whether the phase is over (then the slot's own status is the answer). */
  get ended(): boolean {
    if (!this.over && this.done()) this.over = true;
    return this.over;
  }

  end(): void {
    this.over = true;
  }

  /**
   * GET /v1/status during the phase. `slot` is the slot's own answer once it exists (it says
   * CREATED while it restores and links with its peers); before, the slot's identity.
   */
  status(slot?: StatusResponse): StatusResponse {
    const unavailable = [...(slot?.unavailable ?? []), ...this.board.list()];
    const state: JobState = this.restores ? 'RESTORING' : 'CREATED';
    const { unavailable: own, ...base }: StatusResponse = slot ?? {
      contractVersion: CONTRACT_VERSION,
      ...this.id,
      state,
    };
    void own; // merged above
    return { ...base, state, ...(unavailable.length > 0 ? { unavailable } : {}) };
  }
}

// Consecutive failed periodic checkpoints (Flink's tolerable-failed-checkpoints, counted the same
// way): the coordinator reports every failed and every completed checkpoint here.
//
// * The job rides a failure run out while it lasts at most `tolerable` checkpoints; the next
//   failure fails the job (TRIB_CHECKPOINT_FAILED naming the count, the bound and the last cause,
//   which names the storage's endpoint and bucket): a job that cannot checkpoint holds its exactly-
//   once output in open transactions and its restart point ages, so it must not run on for ever.
// * Visible, not spammy: the first failure of a run warns, then at most one warning every 30 s
//   (the per-checkpoint lines are debug meanwhile); a completed checkpoint ends the run and says
//   after how long.
// * A failure of the state storage itself (a TRIB_STATE_STORAGE cause, or storage that did not
//   answer) is reported as an outage of dependency 's3' (core/outage.ts) while the run lasts,
//   cleared by the next completed checkpoint.
import type { Logger } from 'pino';
import type { ReportOutage } from '../core/outage.ts';
import { TributaryError } from '../errors.ts';
import { DEFAULT_TOLERABLE_FAILED_CHECKPOINTS } from './defaults.ts';
import { stateStorageTarget } from './storage/state-uri.ts';

/** How often a failure run warns again while it lasts. */
export const FAILED_CHECKPOINTS_WARN_EVERY_MS = 30_000;

export interface FailedCheckpointsOptions {
  /** Consecutive failures tolerated; one more fails the job. */
  tolerable: number;
  logger: Logger;
  /** Where the storage outage is reported (absent: not reported, e.g. no outage board). */
  report?: ReportOutage;
  /** Called with the TRIB_CHECKPOINT_FAILED that fails the job, one failure past `tolerable`. */
  onTooMany?: (e: TributaryError) => void;
  /** The storage as an outage target (endpoint and bucket, no credentials); absent: not an S3 location. */
  s3Target?: string;
  now?: () => number;
}

/** Whether `e` (or a cause of it) is the state storage failing. */
export function isStorageFailure(e: unknown): boolean {
  for (let x = e, depth = 0; x && depth < 8; x = (x as { cause?: unknown }).cause, depth++)
    if (x instanceof TributaryError && x.code === 'TRIB_STATE_STORAGE') return true;
  return false;
}

/** The coordinator's: the storage's outage target from its state location. */
export function failedCheckpointsFor(
  stateDir: string,
  o: {
    tolerableFailedCheckpoints?: number;
    onTooManyFailures?: (e: TributaryError) => void;
    reportOutage?: ReportOutage;
  },
  logger: Logger,
): FailedCheckpoints {
  const s3Target = stateStorageTarget(stateDir);
  return new FailedCheckpoints({
    tolerable: o.tolerableFailedCheckpoints ?? DEFAULT_TOLERABLE_FAILED_CHECKPOINTS,
    logger,
    ...(o.reportOutage ? { report: o.reportOutage } : {}),
    ...(o.onTooManyFailures ? { onTooMany: o.onTooManyFailures } : {}),
    ...(s3Target !== undefined ? { s3Target } : {}),
  });
}

const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();

export class FailedCheckpoints {
  private readonly o: FailedCheckpointsOptions;
  private readonly now: () => number;
  private consecutive = 0;
  private runSince = 0;
  private lastWarnAt = 0;
  private outageSince: string | undefined;
  /** Failures already counted (the trigger's rejection repeats the abort's error). */
  private readonly counted = new WeakSet<object>();

  constructor(o: FailedCheckpointsOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
  }

  get consecutiveFailures(): number {
    return this.consecutive;
  }

  /**
   * A periodic checkpoint failed; `storage`: the storage did not answer (a timeout while writing to it).
   * Returns the error that fails the job once more than `tolerable` failed in a row, else undefined.
   * `level` is the level for the caller's own line about this failure (warn only when this one warned).
   */
  failed(e: unknown, storage = false): { fatal?: TributaryError; level: 'warn' | 'debug' } {
    if (typeof e === 'object' && e !== null) {
      if (this.counted.has(e)) return { level: 'debug' };
      this.counted.add(e);
    }
    const now = this.now();
    const message = oneLine((e as Error).message ?? String(e));
    if (this.consecutive++ === 0) this.runSince = now;
    const tolerable = this.o.tolerable;
    const bound = `fails after ${tolerable + 1} consecutive failed checkpoints (tolerableFailedCheckpoints ${tolerable})`;
    const isStorage = storage || isStorageFailure(e);
    if (isStorage && this.o.s3Target !== undefined) {
      this.outageSince ??= new Date(now).toISOString();
      this.o.report?.({
        dependency: 's3',
        component: 'checkpoint storage',
        target: this.o.s3Target,
        since: this.outageSince,
        error: message,
        bound,
      });
    }
    if (this.consecutive > tolerable) {
      const fatal = new TributaryError(
        'TRIB_CHECKPOINT_FAILED',
        `${this.consecutive} consecutive checkpoints failed (tolerableFailedCheckpoints ${tolerable}) over ${Math.round((now - this.runSince) / 1000)} s; the last: ${message}`,
        { cause: e },
      );
      this.o.onTooMany?.(fatal);
      return { level: 'warn', fatal };
    }
    const first = this.consecutive === 1;
    if (!first && now - this.lastWarnAt < FAILED_CHECKPOINTS_WARN_EVERY_MS) return { level: 'debug' };
    this.lastWarnAt = now;
    const what = isStorage && this.o.s3Target !== undefined ? `checkpoint storage (${this.o.s3Target})` : 'checkpoints';
    this.o.logger.warn(
      {
        consecutiveFailures: this.consecutive,
        tolerableFailedCheckpoints: tolerable,
        ...(this.o.s3Target !== undefined ? { storage: this.o.s3Target } : {}),
        err: message,
      },
      `${what} failing for ${Math.round((now - this.runSince) / 1000)} s (${this.consecutive} in a row): ${message}; the job runs on without new checkpoints and ${bound}`,
    );
    return { level: 'debug' };
  }

  /** A checkpoint completed: a failure run (and a storage outage) is over. */
  completed(): void {
    if (this.consecutive > 0)
      this.o.logger.info(
        { failedCheckpoints: this.consecutive, ms: this.now() - this.runSince },
        `checkpoints complete again after ${Math.round((this.now() - this.runSince) / 1000)} s (${this.consecutive} failed in a row)`,
      );
    if (this.outageSince !== undefined) this.o.report?.(undefined);
    this.outageSince = undefined;
    this.consecutive = 0;
    this.lastWarnAt = 0;
  }
}

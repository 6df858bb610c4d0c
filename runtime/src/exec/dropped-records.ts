// Records a step dropped because an expression (or a function of the job's code) failed on them
// and the step has no errorOutput (onRecordError: skip, the default). Never silent: the first
// record per step and error is logged at warn with the error and the record's origin (source,
// topic, partition, offset — when the record still knows it: core/origin.ts), later ones are
// counted and summed up in one line per interval (and once more when the job ends), and the
// counts per step and error (core/dropped-record-count.ts) go to the job's status (GET
// /v1/status `recordsDropped`, which the operator shows as the StreamJob's RecordsDropped
// condition) and to `tributary run`'s end summary.
// "The same error" is its code and message: messages that name a value (a bad string) are
// different errors; at most MAX_ERRORS_PER_STEP are told apart per step, the rest count as one.
// Under onRecordError: fail the record is not dropped: recordFailed is the error failing the job.
import type { Logger } from 'pino';
import type { DroppedRecordCount } from '../core/dropped-record-count.ts';
import type { RecordOrigin } from '../core/origin.ts';
import { jsonText } from '../core/json-text.ts';
import { TributaryError } from '../errors.ts';

export const MAX_ERRORS_PER_STEP = 20;
const OTHER = 'TRIB_OTHER_ERRORS';
const DEFAULT_SUMMARY_MS = 30_000;

interface Entry {
  step: string;
  code: string;
  error: string;
  count: number;
}

function describe(err: unknown, fallbackCode: string): { code: string; error: string } {
  const code = (err as { code?: unknown } | null)?.code;
  const msg = err instanceof Error ? err.message : String(err);
  return { code: typeof code === 'string' ? code : fallbackCode, error: (msg.split('\n')[0] ?? msg).trim() };
}

/** How a log line names an origin: its offset a string (a 64-bit integer). */
export function originFields(o: RecordOrigin | undefined): Record<string, unknown> | undefined {
  return o === undefined
    ? undefined
    : { source: o.from.source, topic: o.from.topic, partition: o.partition, offset: o.offset.toString() };
}

export class DroppedRecords {
  private readonly logger: Logger | (() => Logger);
  private readonly summaryMs: number;
  private readonly now: () => number;
  private readonly entries = new Map<string, Entry>();
  private readonly errorsPerStep = new Map<string, number>();
  /** Drops since the last log line about them, per step. */
  private pending = new Map<string, number>();
  private lastSummary: number;

  /** `logger`: or a function giving it (an owner whose logger is set after this is made). */
  constructor(logger: Logger | (() => Logger), o: { summaryMs?: number; now?: () => number } = {}) {
    this.logger = logger;
    this.summaryMs = o.summaryMs ?? DEFAULT_SUMMARY_MS;
    this.now = o.now ?? Date.now;
    this.lastSummary = this.now();
  }

  private get log(): Logger {
    return typeof this.logger === 'function' ? this.logger() : this.logger;
  }

  /** The job ended: the drops not logged yet are, and `result` gets the counts (when there are any). */
  ended<T extends object>(result: T): T & { recordsDropped?: DroppedRecordCount[] } {
    this.summarize();
    const recordsDropped = this.counts();
    return recordsDropped.length > 0 ? { ...result, recordsDropped } : result;
  }

  /**
   * Step `step` dropped a record because of `err`; `origin`: the source record it descends from;
   * `fallbackCode`: the code of an error without one (a function's own throw).
   */
  dropped(step: string, err: unknown, origin?: RecordOrigin, fallbackCode = 'TRIB_EXPR_EVAL'): void {
    let { code, error } = describe(err, fallbackCode);
    let key = `${step}\u0000${code}\u0000${error}`;
    let e = this.entries.get(key);
    if (!e) {
      const known = this.errorsPerStep.get(step) ?? 0;
      if (known >= MAX_ERRORS_PER_STEP) {
        code = OTHER;
        error = `errors beyond the first ${MAX_ERRORS_PER_STEP} of this step`;
        key = `${step}\u0000${code}`;
        e = this.entries.get(key);
      }
      if (!e) {
        e = { step, code, error, count: 0 };
        this.entries.set(key, e);
        this.errorsPerStep.set(step, known + 1);
        if (code !== OTHER) {
          e.count++;
          this.log.warn(
            { step, code, err: error, origin: originFields(origin) ?? 'unknown (the record crossed an exchange)' },
            `step "${step}" dropped a record: ${error}; later records this error drops are counted (summary every ${Math.round(this.summaryMs / 1000)}s), see recordsDropped in the job's status`,
          );
          return;
        }
      }
    }
    e.count++;
    this.pending.set(step, (this.pending.get(step) ?? 0) + 1);
    if (this.now() - this.lastSummary >= this.summaryMs) this.summarize();
  }

  /** Logs the drops not logged yet (the job ends, or the interval passed). */
  summarize(): void {
    this.lastSummary = this.now();
    if (this.pending.size === 0) return;
    const since = Object.fromEntries(this.pending);
    this.pending = new Map();
    const total = Object.values(since).reduce((a, b) => a + b, 0);
    this.log.warn(
      { droppedSinceLastLine: since, droppedTotal: this.totals() },
      `${total} more record(s) dropped on failed expressions: ${Object.entries(since)
        .map(([s, n]) => `${s} ${n}`)
        .join(', ')}`,
    );
  }

  /** Every step's and error's count so far (steps in first-drop order). */
  counts(): DroppedRecordCount[] {
    return [...this.entries.values()].map((e) => ({ ...e }));
  }

  /** Records dropped per step. */
  totals(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const e of this.entries.values()) out[e.step] = (out[e.step] ?? 0) + e.count;
    return out;
  }
}

/** The end-of-run line: records dropped per step, and why (`tributary run`). */
export function droppedSummary(counts: readonly DroppedRecordCount[]): string {
  const steps = new Map<string, DroppedRecordCount[]>();
  for (const c of counts) steps.set(c.step, [...(steps.get(c.step) ?? []), c]);
  const parts = [...steps].map(
    ([step, cs]) =>
      `${step}: ${cs.reduce((n, c) => n + c.count, 0)} (${cs.map((c) => `${c.count} × ${c.code} ${c.error}`).join('; ')})`,
  );
  return `records dropped on failed expressions: ${parts.join(', ')}`;
}

/** onRecordError: fail — the error that fails the job, naming the step, the cause and the record. */
export function recordFailed(step: string, err: unknown, record: unknown): TributaryError {
  let shown: string;
  try {
    shown = jsonText(record) ?? String(record);
  } catch {
    shown = String(record);
  }
  if (shown.length > 300) shown = `${shown.slice(0, 300)}…`;
  return new TributaryError(
    'TRIB_RECORD_FAILED',
    `step "${step}": ${err instanceof Error ? err.message : String(err)} (onRecordError: fail); record: ${shown}`,
    { cause: err },
  );
}

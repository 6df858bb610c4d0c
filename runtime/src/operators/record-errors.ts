// Where a record goes when an expression of its step fails on it. With the step's errorOutput:
// to that stream as {step, error, code?, record} at the record's event time, so a sink (e.g. an
// exactly-once Kafka topic) keeps it like any output. Without: the job's onRecordError policy,
// applied by OperatorMetrics.expressionError (count and skip, or throw and fail the job).
// The error stream is a side output: it gets the step's watermark, idleness and end too.
// Function steps (functions/) use the same routing with their own policy and counter.
// A record that knows its source record (core/origin.ts) names it under `origin` (deadLetterOrigin
// renders it); the dead letter then also holds the origin itself, unlisted (originOfDeadLetter),
// for a Kafka sink to write the original key and headers (one across a data plane gets it back
// from the JSON: restored-dead-letter-origins.ts).
import type { Rec } from '../core/record.ts';
import { DEAD_LETTER_ORIGIN, type DeadLetterOrigin, type RecordOrigin } from '../core/origin.ts';
import { deadLetterOrigin } from './dead-letter-origin.ts';
import { BatchBuilder, type OperatorContext, type Output } from './types.ts';

/** What the error stream carries for one failed record. */
export interface ErrorRecord {
  step: string;
  error: string;
  code?: string;
  record: unknown;
  /** The source record the failed one descends from, when the chain knows it (core/origin.ts). */
  origin?: DeadLetterOrigin;
  [field: string]: unknown;
}

/** A failed record without an error stream (`unrouted` may throw: the job fails); counting a routed one. */
export interface RecordErrorPolicy {
  unrouted(err: unknown, rec: unknown, origin?: RecordOrigin): void;
  routed(): void;
}

export class RecordErrors {
  private readonly ctx: OperatorContext;
  private readonly out: Output | undefined;
  private readonly buf: BatchBuilder | undefined;
  private readonly policy: RecordErrorPolicy;

  /** `policy`: default the expression policy (the job's onRecordError, tributary_expression_errors_total). */
  constructor(ctx: OperatorContext, out: Output | undefined, policy?: RecordErrorPolicy) {
    this.ctx = ctx;
    this.out = out;
    this.buf = out ? new BatchBuilder(out) : undefined;
    this.policy = policy ?? {
      unrouted: (e, rec, origin) => ctx.metrics.expressionError(e, rec, origin),
      routed: () => ctx.metrics.expressionErrorRouted(),
    };
  }

  /** True when failed records go to an error stream (else to the policy). */
  get routing(): boolean {
    return this.buf !== undefined;
  }

  /** `origin`: the failed record's source record, when its batch carries one (Batch.origins). */
  failed(err: unknown, rec: unknown, ts: number, origin?: RecordOrigin): void {
    if (!this.buf) {
      this.policy.unrouted(err, rec, origin);
      return;
    }
    this.policy.routed();
    const code = (err as { code?: unknown } | null)?.code;
    const e: ErrorRecord = {
      step: this.ctx.stepName,
      error: err instanceof Error ? err.message : String(err),
      ...(typeof code === 'string' ? { code } : {}),
      record: rec,
    };
    if (origin !== undefined) {
      e.origin = deadLetterOrigin(origin);
      Object.defineProperty(e, DEAD_LETTER_ORIGIN, { value: origin });
    }
    this.buf.add(e as Rec, ts);
  }

  flush(): void {
    this.buf?.flush();
  }

  watermark(wm: number): void {
    this.out?.watermark(wm);
  }

  idle(idle: boolean): void {
    this.out?.idle(idle);
  }

  end(): void {
    this.out?.end();
  }
}

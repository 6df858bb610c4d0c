// The contract between operators and the executor: operators receive batches (core/batch.ts:
// a batch passed to `push` belongs to the caller) and push theirs to an Output.
import { newBatch, type Batch } from '../core/batch.ts';
import type { Rec } from '../core/record.ts';
import type { KeyGroupRange } from '../state/key-groups.ts';
import type { KeyedStateBackend } from '../state/keyed-state.ts';
import type { StateStore } from '../state/state-store.ts';
import type { RecordOrigin } from '../core/origin.ts';

/** Downstream of an operator: the next operator, a fan-out, an exchange, or a sink. */
export interface Output {
  push(b: Batch): void;
  /** The combined input watermark; operators fire event-time timers, then forward it. */
  watermark(wm: number): void;
  /** Idle status of the stream (no data expected; the watermark must not wait for it). */
  idle(idle: boolean): void;
  /** No more input will arrive. */
  end(): void;
}

/** An operator reading several logical inputs (join; union). Input 0 is `from[0]`. */
export interface MultiInputOperator extends Output {
  pushInput(input: number, b: Batch): void;
}

/** Where an event-time operator stands; read when metrics are scraped, never per record. */
export interface EventTimeProgress {
  /** The operator's watermark (MIN_WATERMARK before the first one, MAX_WATERMARK after the last). */
  readonly watermark: number;
  /** The newest record timestamp the operator has received (−∞ before its first record). */
  readonly newest: number;
}

/** Keyed operators expose their state for snapshots (the seam for checkpoints). */
export interface StatefulOperator {
  readonly stateName: string;
  /** Timers held (a window step: one per key and open window until its cleanup); for the state-size gauge. */
  readonly timerCount?: number;
  /**
   * Operators that decide by event time (event-time windows, interval joins, dedupe, process
   * functions): their watermark and newest record, for the per-operator watermark gauges.
   * Undefined for an operator in processing time.
   */
  eventTimeProgress?(): EventTimeProgress | undefined;
  snapshotState(): Uint8Array;
  restoreState(snapshots: readonly Uint8Array[]): void;
  /** The keyed state behind the snapshots, by key group (a live rescale moves key groups of it between slots). */
  readonly keyedBackend?: KeyedStateBackend;
}

export function isStateful(o: unknown): o is StatefulOperator {
  return typeof (o as StatefulOperator | undefined)?.snapshotState === 'function';
}

export interface ProcessingTimeService {
  now(): number;
  /** Runs `cb` in the slot's mailbox at or after `time`. */
  schedule(time: number, cb: () => void): void;
}

/**
 * What became of records behind the watermark: `sent` to the window step's lateOutput,
 * `dropped` (counted only), or `decided` at once against what the key remembers (dedupe).
 */
export type LateOutcome = 'sent' | 'dropped' | 'decided';

export interface OperatorMetrics {
  /** `n` records of one batch were late (operators call it once per batch, not per record). */
  lateRecords(outcome: LateOutcome, n: number): void;
  /**
   * An expression failed on `record` and the step has no errorOutput: counted, then the job's
   * onRecordError policy (skip: dropped and reported, exec/dropped-records.ts; fail: throws
   * TRIB_RECORD_FAILED, failing the job). `origin`: its source record, when the batch knows it.
   */
  expressionError(err: unknown, record?: unknown, origin?: RecordOrigin): void;
  /** An expression failed on a record that went to the step's errorOutput (counted only). */
  expressionErrorRouted(): void;
  /** A function of the job's code threw on `record` and its step skips such records (dropped and reported). */
  functionError(err: unknown, record: unknown, origin?: RecordOrigin): void;
  /** A function of the job's code threw on a record that went to the step's errorOutput (counted only). */
  functionErrorRouted(): void;
  /** `n` entries of the step's TTL'd keyed state expired and were removed (state/ttl-state.ts). */
  stateExpired(n: number): void;
}

export interface OperatorContext {
  readonly stepName: string;
  readonly slot: number;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly keyGroupRange: KeyGroupRange;
  readonly processingTime: ProcessingTimeService;
  readonly metrics: OperatorMetrics;
  /** Opens the local store of one stateful step's keyed state (spec.stateBackend: disk); absent: the heap. */
  readonly stateStore?: () => StateStore;
}

export const NOOP_METRICS: OperatorMetrics = {
  lateRecords: () => {},
  expressionError: () => {},
  expressionErrorRouted: () => {},
  functionError: () => {},
  functionErrorRouted: () => {},
  stateExpired: () => {},
};

/** Collects output records and pushes them as one batch. */
export class BatchBuilder {
  readonly batch: Batch = newBatch();
  private readonly out: Output;

  constructor(out: Output) {
    this.out = out;
  }

  add(rec: Rec, ts: number): void {
    const b = this.batch;
    b.recs[b.n] = rec;
    b.ts[b.n] = ts;
    b.n++;
  }

  addKeyed(rec: Rec, ts: number, key: string, kg: number): void {
    const b = this.batch;
    b.recs[b.n] = rec;
    b.ts[b.n] = ts;
    b.keys[b.n] = key;
    b.kgs[b.n] = kg;
    b.n++;
  }

  flush(): void {
    if (this.batch.n === 0) return;
    this.out.push(this.batch);
    this.batch.n = 0;
  }
}

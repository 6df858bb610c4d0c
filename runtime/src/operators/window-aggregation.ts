// What a window operator (window-operator.ts) aggregates with: the pluggable part, as Flink's
// WindowOperator takes an InternalWindowFunction over its window state and Kafka Streams'
// windowed aggregate an Initializer/Aggregator/Merger. The operator owns everything about
// time — assignment, merging sessions, firing, allowed lateness, late output, timers and the
// window state's layout — and asks the aggregation only for accumulators and results, so the
// CEL `window` + `aggregate` steps (cel-window-aggregation.ts) and the TypeScript API's
// reduce/aggregate functions (functions/function-window-aggregation.ts) have one semantics.
//
// A window's accumulators are one array, one slot per output (CEL: one per aggregate call;
// a function: one, its accumulator), written to state slot by slot through `codecs`.
import type { TributaryError } from '../errors.ts';
import type { AccumulatorCodec, KeyWindowsFormat } from './key-windows.ts';
import type { BatchBuilder } from './types.ts';

export interface WindowAggregation {
  /** One per accumulator slot; the `windows` state writes each slot through its codec. */
  readonly codecs: readonly AccumulatorCodec[];
  /** Older forms of the `windows` state this aggregation also reads. */
  readonly format: KeyWindowsFormat;
  /**
   * The aggregation's functions may throw on a record (job code): the operator then catches
   * per record and reports the record as failed. False: nothing throws, failures are returned.
   */
  readonly throws: boolean;
  /** `clash` and `mergeClash` can refuse a record; false: they never do (and are not called). */
  readonly clashes: boolean;
  /**
   * Takes in one record before any window changes; false when it failed (already reported):
   * the record is skipped whole, in no window and not late.
   */
  prepare(rec: unknown, ts: number): boolean;
  /** A new window's accumulators. */
  create(): unknown[];
  /** Adds the prepared record (at time `t`) to `accs`, in place. */
  add(accs: unknown[], t: number): void;
  /** Merges an older session's `older` into `into` (the session it becomes part of), in place. */
  merge(into: unknown[], older: readonly unknown[]): void;
  /** Why the prepared record cannot be added to `accs`; undefined when it can (nothing changes). */
  clash(accs: readonly unknown[]): TributaryError | undefined;
  /** Why merging `parts` (in order) would break an accumulator; undefined when it would not. */
  mergeClash(parts: readonly (readonly unknown[])[]): TributaryError | undefined;
  /** Adds the result of key `key`'s window [start, end) to `out` at `end − 1` (or reports why it cannot). */
  emit(key: string, start: number, end: number, accs: readonly unknown[], out: BatchBuilder): void;
}

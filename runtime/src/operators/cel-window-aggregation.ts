// The aggregation of a CEL `window` + `aggregate` step pair: one aggregator per output field
// (aggregators.ts). Arguments are evaluated once per record (into `scratch`) before any window
// changes; a failing or refused argument is reported to the aggregate step's errors and the
// record is skipped. A result is `{key fields…, window_start, window_end, outputs…}`.
import type { Rec } from '../core/record.ts';
import type { TributaryError } from '../errors.ts';
import {
  addAll,
  canClash,
  clashOf,
  evaluateArgs,
  initAll,
  mergeClashOf,
  writeResults,
  type Aggregator,
} from './aggregators.ts';
import { keyFieldsOf } from './key-selector.ts';
import type { RecordErrors } from './record-errors.ts';
import type { BatchBuilder } from './types.ts';
import type { WindowAggregation } from './window-aggregation.ts';

export class CelWindowAggregation implements WindowAggregation {
  readonly codecs: readonly Aggregator[];
  readonly format = {};
  readonly throws = false;
  readonly clashes: boolean;
  private readonly aggs: readonly Aggregator[];
  private readonly keyFields: readonly string[];
  private readonly errors: RecordErrors;
  private readonly scratch: unknown[];

  /** `keyFields`: the output field names of the key parts; `errors`: the aggregate step's. */
  constructor(aggs: readonly Aggregator[], keyFields: readonly string[], errors: RecordErrors) {
    this.aggs = aggs;
    this.codecs = aggs;
    this.keyFields = keyFields;
    this.errors = errors;
    this.scratch = new Array<unknown>(aggs.length).fill(undefined);
    this.clashes = canClash(aggs);
  }

  prepare(rec: unknown, ts: number): boolean {
    return evaluateArgs(this.aggs, rec as Rec, ts, this.scratch, this.errors);
  }

  create(): unknown[] {
    return initAll(this.aggs);
  }

  add(accs: unknown[], t: number): void {
    addAll(this.aggs, accs, this.scratch, t);
  }

  merge(into: unknown[], older: readonly unknown[]): void {
    for (let j = 0; j < this.aggs.length; j++) into[j] = (this.aggs[j] as Aggregator).merge(older[j], into[j]);
  }

  clash(accs: readonly unknown[]): TributaryError | undefined {
    return clashOf(this.aggs, accs, this.scratch);
  }

  mergeClash(parts: readonly (readonly unknown[])[]): TributaryError | undefined {
    return mergeClashOf(this.aggs, parts);
  }

  emit(key: string, start: number, end: number, accs: readonly unknown[], out: BatchBuilder): void {
    const rec: Rec = {};
    keyFieldsOf(key, this.keyFields, rec);
    rec['window_start'] = start;
    rec['window_end'] = end;
    writeResults(this.aggs, accs, rec);
    out.add(rec, end - 1);
  }
}

// The aggregation of a TypeScript API window (`window(...).aggregate(agg[, result])`, or a
// reduce as an aggregate): one accumulator slot, the AggregateFunction's own accumulator,
// kept in state as it is (its JSON form). The job's code may throw in any of its functions:
// the window operator catches per record (`throws`), and a throw while shaping a result is
// reported here with `{key, window}` as the record; either way the step's onError policy
// (or the job's onRecordError) decides. Sessions merge with the function's `merge`.
import type { Rec } from '../core/record.ts';
import { TributaryError } from '../errors.ts';
import type { AggregateFunction, WindowResultFunction } from '../graph/function-types.ts';
import type { RecordErrors } from '../operators/record-errors.ts';
import type { BatchBuilder } from '../operators/types.ts';
import type { WindowAggregation } from '../operators/window-aggregation.ts';
import type { WindowKind } from '../operators/window-assigner.ts';
import { keyValue } from './keyed-process-operator.ts';

const AS_IS = { toJSON: (a: unknown): unknown => a, fromJSON: (j: unknown): unknown => j };

export class FunctionWindowAggregation implements WindowAggregation {
  readonly codecs = [AS_IS];
  /** Savepoints of the function window operator before it shared window-operator.ts. */
  readonly format = { legacyFunctionForm: true };
  readonly throws = true;
  readonly clashes = false;
  private readonly agg: AggregateFunction<unknown, unknown, unknown>;
  private readonly result: WindowResultFunction<unknown, unknown, unknown> | undefined;
  private readonly errors: RecordErrors;
  private value: unknown;

  /** `step`: the step's name, for the error when a session window's function cannot merge. */
  constructor(
    step: string,
    window: WindowKind,
    agg: AggregateFunction<unknown, unknown, unknown>,
    result: WindowResultFunction<unknown, unknown, unknown> | undefined,
    errors: RecordErrors,
  ) {
    if (window.kind === 'session' && !agg.merge)
      throw new TributaryError(
        'TRIB_GRAPH_INVALID',
        `step "${step}": session windows need an aggregate function with merge()`,
        { path: step },
      );
    this.agg = agg;
    this.result = result;
    this.errors = errors;
  }

  prepare(rec: unknown): boolean {
    this.value = rec;
    return true;
  }

  create(): unknown[] {
    return [this.agg.create()];
  }

  add(accs: unknown[]): void {
    accs[0] = this.agg.add(accs[0], this.value);
  }

  merge(into: unknown[], older: readonly unknown[]): void {
    into[0] = (this.agg.merge as NonNullable<AggregateFunction<unknown, unknown, unknown>['merge']>)(older[0], into[0]);
  }

  clash(): undefined {
    return undefined;
  }

  mergeClash(): undefined {
    return undefined;
  }

  emit(key: string, start: number, end: number, accs: readonly unknown[], out: BatchBuilder): void {
    let v: unknown;
    try {
      const r = this.agg.result(accs[0]);
      v = this.result ? this.result(r, keyValue(key), { start, end }) : r;
    } catch (e) {
      this.errors.failed(e, { key: keyValue(key), window: { start, end } }, end - 1);
      return;
    }
    out.add(v as Rec, end - 1);
  }
}

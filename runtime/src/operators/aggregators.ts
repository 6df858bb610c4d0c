// Aggregate functions as accumulators: init → add* → (merge) → result, plus a JSON form
// for snapshots. Accumulators of one window/key live in one array, one slot per output.
import type { CompiledExpr, Rec } from '../expr/cel.ts';
import type { AggregateCall } from '../graph/aggregate-spec.ts';
import type { RecordErrors } from './record-errors.ts';

export interface Aggregator {
  readonly output: string;
  /** Extracts the argument; undefined for count(). May throw TRIB_EXPR_EVAL. */
  readonly value: ((rec: Rec) => unknown) | undefined;
  init(): unknown;
  add(acc: unknown, v: unknown, ts: number): unknown;
  merge(a: unknown, b: unknown): unknown;
  result(acc: unknown): unknown;
  toJSON(acc: unknown): unknown;
  fromJSON(j: unknown): unknown;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const ident = (x: unknown): unknown => x;

function cmp(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

const distinctKey = (v: unknown): unknown => (v !== null && typeof v === 'object' ? JSON.stringify(v) : v);

export function createAggregator(call: AggregateCall, compiled: CompiledExpr | undefined): Aggregator {
  const output = call.output;
  const value = compiled ? (rec: Rec): unknown => compiled.evaluate(rec) : undefined;
  const base = { output, value, toJSON: ident, fromJSON: ident };
  switch (call.fn) {
    case 'count':
      return {
        ...base,
        init: () => 0,
        add: (a) => (a as number) + 1,
        merge: (a, b) => (a as number) + (b as number),
        result: ident,
      };
    case 'sum':
      return {
        ...base,
        init: () => 0,
        add: (a, v) => (a as number) + num(v),
        merge: (a, b) => (a as number) + (b as number),
        result: ident,
      };
    case 'avg':
      return {
        ...base,
        init: () => [0, 0],
        add: (a, v) => {
          const x = a as [number, number];
          x[0] += num(v);
          x[1] += 1;
          return x;
        },
        merge: (a, b) => [(a as number[])[0]! + (b as number[])[0]!, (a as number[])[1]! + (b as number[])[1]!],
        result: (a) => ((a as number[])[1] === 0 ? null : (a as number[])[0]! / (a as number[])[1]!),
      };
    case 'min':
    case 'max': {
      const better =
        call.fn === 'min' ? (v: unknown, a: unknown) => cmp(v, a) < 0 : (v: unknown, a: unknown) => cmp(v, a) > 0;
      return {
        ...base,
        init: () => null,
        add: (a, v) => (v === null || v === undefined ? a : a === null || better(v, a) ? v : a),
        merge: (a, b) => (a === null ? b : b === null ? a : better(b, a) ? b : a),
        result: ident,
      };
    }
    case 'countDistinct':
      return {
        ...base,
        init: () => new Set<unknown>(),
        add: (a, v) => (a as Set<unknown>).add(distinctKey(v)),
        merge: (a, b) => {
          for (const x of b as Set<unknown>) (a as Set<unknown>).add(x);
          return a;
        },
        result: (a) => (a as Set<unknown>).size,
        toJSON: (a) => [...(a as Set<unknown>)],
        fromJSON: (j) => new Set(j as unknown[]),
      };
    case 'first':
    case 'last': {
      // [ts, value]; first keeps the smallest timestamp, last the largest. Ties go to the
      // smaller (first) or larger (last) value, so the result never depends on arrival order
      // (which differs between parallelisms).
      const sign = call.fn === 'first' ? -1 : 1;
      const wins = (ts: number, v: unknown, cur: [number, unknown]): boolean => {
        const d = (ts - cur[0]) * sign;
        return d > 0 || (d === 0 && cmp(v, cur[1]) * sign > 0);
      };
      return {
        ...base,
        init: () => null,
        add: (a, v, ts) => (a === null || wins(ts, v, a as [number, unknown]) ? [ts, v] : a),
        merge: (a, b) =>
          a === null
            ? b
            : b === null
              ? a
              : wins((b as [number, unknown])[0], (b as [number, unknown])[1], a as [number, unknown])
                ? b
                : a,
        result: (a) => (a === null ? null : (a as [number, unknown])[1]),
      };
    }
  }
}

/**
 * Evaluates every aggregator's argument for one record into `scratch`.
 * Returns false (after reporting to `errors`: the step's error stream or the job's policy) when
 * an argument fails, so the record is skipped whole.
 */
export function evaluateArgs(
  aggs: readonly Aggregator[],
  rec: Rec,
  ts: number,
  scratch: unknown[],
  errors: RecordErrors,
): boolean {
  for (let j = 0; j < aggs.length; j++) {
    const f = (aggs[j] as Aggregator).value;
    if (f === undefined) continue;
    try {
      scratch[j] = f(rec);
    } catch (e) {
      errors.failed(e, rec, ts);
      return false;
    }
  }
  return true;
}

export function addAll(aggs: readonly Aggregator[], accs: unknown[], scratch: readonly unknown[], ts: number): void {
  for (let j = 0; j < aggs.length; j++) accs[j] = (aggs[j] as Aggregator).add(accs[j], scratch[j], ts);
}

export function initAll(aggs: readonly Aggregator[]): unknown[] {
  return aggs.map((a) => a.init());
}

export function writeResults(aggs: readonly Aggregator[], accs: readonly unknown[], into: Rec): void {
  for (let j = 0; j < aggs.length; j++) {
    const a = aggs[j] as Aggregator;
    into[a.output] = a.result(accs[j]);
  }
}

export function accsToJSON(aggs: readonly Aggregator[], accs: readonly unknown[]): unknown[] {
  return aggs.map((a, j) => a.toJSON(accs[j]));
}

export function accsFromJSON(aggs: readonly Aggregator[], j: readonly unknown[]): unknown[] {
  return aggs.map((a, i) => a.fromJSON(j[i]));
}

// Aggregate functions as accumulators: init → add* → (merge) → result, plus a JSON form
// for snapshots. Accumulators of one window/key live in one array, one slot per output.
import type { CompiledExpr } from '../expr/cel.ts';
import type { Rec } from '../core/record.ts';
import type { AggregateCall } from '../graph/aggregate-spec.ts';
import { TributaryError } from '../errors.ts';
import { jsonText } from '../core/json-text.ts';
import type { RecordErrors } from './record-errors.ts';

export interface Aggregator {
  readonly call: AggregateCall;
  readonly output: string;
  /** Extracts the argument; undefined for count(). May throw TRIB_EXPR_EVAL. */
  readonly value: ((rec: Rec) => unknown) | undefined;
  /** Why `v` cannot be an argument at all (its type); undefined when it can. */
  readonly check: ((v: unknown) => string | undefined) | undefined;
  /** Why `v` cannot be added to `acc` (a sum leaving the finite range, a kind min/max lacks); else undefined. */
  readonly clash: ((acc: unknown, v: unknown) => string | undefined) | undefined;
  /** As `clash`, for merging two accumulators; where defined, `merge` changes neither argument. */
  readonly mergeClash: ((a: unknown, b: unknown) => string | undefined) | undefined;
  init(): unknown;
  add(acc: unknown, v: unknown, ts: number): unknown;
  merge(a: unknown, b: unknown): unknown;
  result(acc: unknown): unknown;
  toJSON(acc: unknown): unknown;
  fromJSON(j: unknown): unknown;
}

const ident = (x: unknown): unknown => x;
const isNull = (v: unknown): v is null | undefined => v === null || v === undefined;

/** A value as an error shows it: its kind and (short) JSON. */
function shown(v: unknown): string {
  let text: string;
  try {
    text = v instanceof Date ? v.toISOString() : (jsonText(v) ?? String(v));
  } catch {
    text = String(v);
  }
  if (typeof v === 'number' && !Number.isFinite(v)) text = String(v);
  if (text.length > 60) text = `${text.slice(0, 60)}…`;
  return `${text} (${kindName(v)})`;
}

function kindName(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isFinite(v) ? 'a number' : 'a non-finite number';
  if (typeof v === 'bigint') return 'a bigint';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'boolean') return 'a bool';
  if (v instanceof Date) return 'a timestamp';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return typeof v;
}

// sum and avg take finite numbers and integers (BigInt: a typed format's, a CEL int) only, no
// coercion of strings or bools; null is no value. A sum of integers is an integer, exact at any
// size; a double among them makes it a double (sum starts at 0n: a sum of doubles is a double).
const finiteOnly = (fn: string) => (v: unknown) =>
  (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'bigint' || isNull(v)
    ? undefined
    : `${shown(v)} is not a finite number: ${fn} takes numbers only`;
const plus = (a: unknown, b: unknown): number | bigint =>
  typeof a === 'bigint' && typeof b === 'bigint' ? a + b : Number(a) + Number(b);
const overflow = (fn: string, a: unknown, b: unknown): string | undefined =>
  Number.isFinite(Number(plus(a, b))) || (typeof a === 'bigint' && typeof b === 'bigint')
    ? undefined
    : `${fn} would leave the finite range (${a} + ${b})`;

// min and max order one kind per group: finite numbers numerically, strings by UTF-16 code
// units (JS <), timestamps (CEL timestamp()) by instant; anything else is refused.
type Kind = 'number' | 'string' | 'timestamp';
function orderKind(v: unknown): Kind | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? 'number' : undefined;
  if (typeof v === 'bigint') return 'number';
  if (typeof v === 'string') return 'string';
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : 'timestamp';
  return undefined;
}
function ordered(a: unknown, b: unknown): number {
  // JS compares a BigInt with a number exactly.
  if (typeof a === 'number' || typeof a === 'bigint') return a < (b as number) ? -1 : a > (b as number) ? 1 : 0;
  if (a instanceof Date) return a.getTime() - (b as Date).getTime();
  return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
}
// Both sides passed `check` (or are null): same typeof is the same kind but for objects (timestamps).
const mixed = (fn: string, acc: unknown, v: unknown): string | undefined =>
  (typeof acc === typeof v && typeof v !== 'object') || isNull(acc) || isNull(v) || orderKind(acc) === orderKind(v)
    ? undefined
    : `${shown(v)} in a group whose ${fn} is ${shown(acc)}: ${fn} compares one kind per group (numbers, strings or timestamps)`;

/** Order of first/last ties (same timestamp): any two values, as before (numbers numerically, else as strings). */
function cmp(a: unknown, b: unknown): number {
  const num = (x: unknown): boolean => typeof x === 'number' || typeof x === 'bigint';
  if (num(a) && num(b)) return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

const distinctKey = (v: unknown): unknown => (v !== null && typeof v === 'object' ? jsonText(v) : v);

/** The error of a record an aggregate refuses, naming the output field, the call and why. */
export function aggregateInputError(call: AggregateCall, why: string): TributaryError {
  return new TributaryError('TRIB_AGGREGATE_INPUT', `aggregate ${call.output}: ${call.fn}(${call.expr ?? ''}): ${why}`);
}

export function createAggregator(call: AggregateCall, compiled: CompiledExpr | undefined): Aggregator {
  const output = call.output;
  const value = compiled ? (rec: Rec): unknown => compiled.evaluate(rec) : undefined;
  const base = {
    call,
    output,
    value,
    check: undefined,
    clash: undefined,
    mergeClash: undefined,
    toJSON: ident,
    fromJSON: ident,
  };
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
        check: finiteOnly('sum'),
        clash: (a, v) => (isNull(v) ? undefined : overflow('sum', a, v)),
        mergeClash: (a, b) => overflow('sum', a, b),
        init: () => 0n,
        add: (a, v) => (isNull(v) ? a : plus(a, v)),
        merge: (a, b) => plus(a, b),
        result: ident,
      };
    case 'avg':
      // [sum, count of non-null values]
      return {
        ...base,
        check: finiteOnly('avg'),
        clash: (a, v) => (isNull(v) ? undefined : overflow('avg', (a as number[])[0]!, Number(v))),
        mergeClash: (a, b) => overflow('avg', (a as number[])[0]!, (b as number[])[0]!),
        init: () => [0, 0],
        add: (a, v) => {
          if (isNull(v)) return a;
          const x = a as [number, number];
          x[0] += Number(v);
          x[1] += 1;
          return x;
        },
        merge: (a, b) => [(a as number[])[0]! + (b as number[])[0]!, (a as number[])[1]! + (b as number[])[1]!],
        result: (a) => ((a as number[])[1] === 0 ? null : (a as number[])[0]! / (a as number[])[1]!),
      };
    case 'min':
    case 'max': {
      const fn = call.fn;
      const better =
        fn === 'min' ? (v: unknown, a: unknown) => ordered(v, a) < 0 : (v: unknown, a: unknown) => ordered(v, a) > 0;
      return {
        ...base,
        check: (v) =>
          isNull(v) || orderKind(v) !== undefined
            ? undefined
            : `${shown(v)} cannot be ordered: ${fn} takes finite numbers, strings or timestamps`,
        clash: (a, v) => mixed(fn, a, v),
        mergeClash: (a, b) => mixed(fn, a, b),
        init: () => null,
        add: (a, v) => (isNull(v) ? a : a === null || better(v, a) ? v : a),
        merge: (a, b) => (a === null ? b : b === null ? a : better(b, a) ? b : a),
        result: ident,
        // A timestamp is kept as {timestamp: ISO} in snapshots (JSON would make it a string).
        toJSON: (a) => (a instanceof Date ? { timestamp: a.toISOString() } : a),
        fromJSON: (j) =>
          j !== null && typeof j === 'object' && typeof (j as { timestamp?: unknown }).timestamp === 'string'
            ? new Date((j as { timestamp: string }).timestamp)
            : j,
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
 * Evaluates every aggregator's argument for one record into `scratch` and checks its type.
 * Returns false (after reporting to `errors`: the step's error stream or the job's policy) when
 * an argument fails or is refused, so the record is skipped whole.
 */
export function evaluateArgs(
  aggs: readonly Aggregator[],
  rec: Rec,
  ts: number,
  scratch: unknown[],
  errors: RecordErrors,
): boolean {
  for (let j = 0; j < aggs.length; j++) {
    const a = aggs[j] as Aggregator;
    const f = a.value;
    if (f === undefined) continue;
    let v: unknown;
    try {
      v = scratch[j] = f(rec);
    } catch (e) {
      errors.failed(e, rec, ts);
      return false;
    }
    const why = a.check?.(v);
    if (why !== undefined) {
      errors.failed(aggregateInputError(a.call, why), rec, ts);
      return false;
    }
  }
  return true;
}

/** Why the record's arguments in `scratch` cannot be added to `accs` (nothing is changed); undefined when they can. */
export function clashOf(
  aggs: readonly Aggregator[],
  accs: readonly unknown[],
  scratch: readonly unknown[],
): TributaryError | undefined {
  for (let j = 0; j < aggs.length; j++) {
    const a = aggs[j] as Aggregator;
    const why = a.clash?.(accs[j], scratch[j]);
    if (why !== undefined) return aggregateInputError(a.call, why);
  }
  return undefined;
}

/** True when some aggregate can refuse a value because of what its accumulator holds. */
export function canClash(aggs: readonly Aggregator[]): boolean {
  return aggs.some((a) => a.clash !== undefined);
}

/**
 * Why merging the accumulator arrays `parts` (in order) would break an accumulator; undefined
 * when it would not. Pure: aggregates with a mergeClash have a merge that changes nothing.
 */
export function mergeClashOf(
  aggs: readonly Aggregator[],
  parts: readonly (readonly unknown[])[],
): TributaryError | undefined {
  for (let j = 0; j < aggs.length; j++) {
    const a = aggs[j] as Aggregator;
    if (a.mergeClash === undefined) continue;
    let acc = (parts[0] as readonly unknown[])[j];
    for (let k = 1; k < parts.length; k++) {
      const b = (parts[k] as readonly unknown[])[j];
      const why = a.mergeClash(acc, b);
      if (why !== undefined) return aggregateInputError(a.call, why);
      acc = a.merge(acc, b);
    }
  }
  return undefined;
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

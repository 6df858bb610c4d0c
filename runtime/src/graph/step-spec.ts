// The steps' part of the job graph contract (spec.ts re-exports it): what each kind of step
// takes under its key. Their JSDoc is also the CRD's description of the field
// (operator/build/generate-crds.ts).

export type KeyBySpec =
  | string
  | string[]
  | { fields: string[] }
  | { expr: string; as?: string }
  /** A key-selector function the job's code registered under this name (TypeScript API). */
  | { function: string };

export interface WindowSpec {
  /** Fixed windows of `size`, one after another. */
  tumbling?: {
    /** Window length, a duration. */
    size: string;
    /** Shift of the window boundaries from the epoch, a duration. Default 0. */
    offset?: string;
  };
  /** Windows of `size` starting every `slide` (a record is in size/slide of them). */
  sliding?: {
    /** Window length, a duration. */
    size: string;
    /** Distance between window starts, a duration. */
    slide: string;
  };
  /** Windows per key that close after `gap` without records; overlapping ones merge. */
  session?: {
    /** Inactivity that ends a session, a duration. */
    gap: string;
  };
  /** Default `event`. */
  time?: 'event' | 'processing';
  /** How long after a window's end (by the watermark) late records still update it, a duration. Default 0. */
  allowedLateness?: string;
  /** Name of a stream that receives records too late for every window; steps and sinks may read it with `from`. */
  lateOutput?: string;
}

/**
 * Output field name → `fn(expr)`, fn ∈ count, sum, min, max, avg, countDistinct, first, last. `count()` takes no
 * argument.
 */
export type AggregateSpec = Record<string, string>;

export interface JoinSpec {
  /** Right record ts must lie in [left.ts + lowerBound, left.ts + upperBound]; bounds may be negative ("-5s"). */
  lowerBound: string;
  /** Upper end of the interval (see lowerBound), a duration. */
  upperBound: string;
  /** Output projection: field → CEL over `left` and `right`. Default: fields of right merged over left. */
  select?: Record<string, string>;
}

export interface DedupeSpec {
  /**
   * A key seen again within this long (event time) after its last passed record is dropped. Absent: the first
   * record per key passes and every later one is dropped (keep-first), its state growing with the keys unless the
   * step has a `ttl`.
   */
  within?: string;
}

export interface FlatMapSpec {
  /** CEL expression returning a list; map elements become records, other elements become `{ [as]: element }`. */
  expr: string;
  /** Field that holds an element that is not a map. Default `value`. */
  as?: string;
}

/**
 * Enrichment from a table (a `druid` or `kudu` source used as a lookup table, loaded again
 * every `refresh`): each input record gets the fields of the table row whose `column` equals the
 * value of `key` (CEL over the record).
 */
export interface LookupSpec {
  /** Name of a `druid` or `kudu` source; it is then a table, not a stream (no other node reads it). */
  table: string;
  /**
   * CEL over the input record giving the lookup key (compared as a string); a list (one
   * expression per entry of `column`, same length) for a composite key, matched as the tuple.
   */
  key: string | string[];
  /** Table column holding the key; a list of columns (as `key`) for a composite key. */
  column: string | string[];
  /** Table columns to add (default: all but the key columns); table fields overwrite record fields. */
  fields?: string[];
  /** A record without a matching row: `keep` it unchanged (default) or `drop` it. */
  onMissing?: 'keep' | 'drop';
}

export const FUNCTION_STEP_KINDS = ['map', 'filter', 'flatMap', 'mapAsync', 'process', 'reduce', 'aggregate'] as const;
export type FunctionStepKind = (typeof FUNCTION_STEP_KINDS)[number];

/**
 * A step that runs a function of the job's code (the TypeScript API writes these). The
 * function is not in the spec: `ref` names it in the registry the job's code hands the
 * executor, so such a graph runs only together with that code. map/filter/flatMap/mapAsync read
 * any stream; process/reduce/aggregate read a keyBy (keyed state, timers), reduce/aggregate with
 * `window` aggregate per key and window. mapAsync calls a function that returns a promise, up
 * to `capacity` calls at once per slot, and emits the results in input order.
 */
export interface FunctionStepSpec {
  /** What the function does: map, filter, flatMap, mapAsync, process, reduce or aggregate. */
  kind: FunctionStepKind;
  /** Name under which the job's code registered the function. */
  ref: string;
  /** reduce/aggregate only: aggregate per window instead of a running value per key. */
  window?: WindowSpec;
  /**
   * mapAsync only: calls in flight at most, per slot (an integer ≥ 1; default 100). While this
   * many records wait, the step takes no more input (backpressure), and its busy time is the
   * time-weighted share of the capacity in use.
   */
  capacity?: number;
  /**
   * mapAsync only: a call whose promise has not settled this long after it started fails its
   * record (onError), a duration. Default 30s.
   */
  timeout?: string;
  /**
   * A function that throws, in a step without errorOutput: `fail` the job (TRIB_FUNCTION_FAILED
   * with the record attached; restarts follow the job's policy) or `skip` the record (counted
   * in tributary_function_errors_total, logged with it). Default: the job's onRecordError when
   * set, else `fail`.
   */
  onError?: 'fail' | 'skip';
}

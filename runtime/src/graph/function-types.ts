// The shapes of the functions a TypeScript job passes to the DataStream API (Flink's
// KeyedProcessFunction, AggregateFunction, state handles, timer service), as types only:
// graph/ holds the user's functions in a registry next to the spec and never runs them; the
// engine's function operators (runtime/src/functions/) implement these contexts.

/** Where a function sends its output records (process functions may emit any number). */
export interface Collector<O> {
  collect(value: O): void;
}

/**
 * Keyed state handles. Each is scoped to the key of the record (or timer) being processed,
 * checkpointed with the job, and moves with its key group on rescale. Values must be JSON
 * values (objects, arrays, strings, numbers, booleans, null): checkpoints store their JSON form.
 */
export interface ValueState<T> {
  value(): T | undefined;
  update(value: T): void;
  clear(): void;
}

export interface ListState<T> {
  get(): T[];
  add(value: T): void;
  addAll(values: readonly T[]): void;
  update(values: readonly T[]): void;
  clear(): void;
}

export interface MapState<K extends string | number, V> {
  get(key: K): V | undefined;
  put(key: K, value: V): void;
  remove(key: K): void;
  contains(key: K): boolean;
  entries(): [K, V][];
  keys(): K[];
  values(): V[];
  isEmpty(): boolean;
  clear(): void;
}

/** Per-key timers: event time fires when the watermark passes the time, processing time at the wall-clock time. */
export interface TimerService {
  currentWatermark(): number;
  currentProcessingTime(): number;
  registerEventTimeTimer(time: number): void;
  registerProcessingTimeTimer(time: number): void;
  deleteEventTimeTimer(time: number): void;
  deleteProcessingTimeTimer(time: number): void;
}

/** What a keyed process function sees of the element or timer at hand. */
export interface KeyedContext<K> {
  /** The key of the current record or timer. */
  getCurrentKey(): K;
  /** Event time of the current record (of the timer, in onTimer). */
  timestamp(): number;
  timerService(): TimerService;
}

export interface OnTimerContext<K> extends KeyedContext<K> {
  timeDomain(): 'event' | 'processing';
}

/**
 * A state's time-to-live (Flink's StateTtlConfig), in processing time: a key's value expires
 * `ttl` ms after it was last written (`OnCreateAndWrite`, the default) or last read or written
 * (`OnReadAndWrite`); an expired value is never returned — the state reads as empty.
 */
export interface StateOptions {
  /** Milliseconds (a positive integer). */
  ttl: number;
  update?: 'OnCreateAndWrite' | 'OnReadAndWrite';
}

/** Given to `open`: declares keyed state by name (names are unique per step), with an optional TTL. */
export interface RuntimeContext {
  readonly stepName: string;
  readonly slot: number;
  readonly parallelism: number;
  getState<T>(name: string, options?: StateOptions): ValueState<T>;
  getListState<T>(name: string, options?: StateOptions): ListState<T>;
  getMapState<K extends string | number, V>(name: string, options?: StateOptions): MapState<K, V>;
}

export interface KeyedProcessFunction<K, I, O> {
  /** Called once per slot before any record: declare state here. */
  open?(ctx: RuntimeContext): void;
  processElement(value: I, ctx: KeyedContext<K>, out: Collector<O>): void;
  onTimer?(timestamp: number, ctx: OnTimerContext<K>, out: Collector<O>): void;
}

/** Incremental aggregation: create → add* → (merge, for session windows) → result. */
export interface AggregateFunction<I, ACC, R> {
  create(): ACC;
  add(acc: ACC, value: I): ACC;
  /** Needed by session windows (windows that merge); others never call it. */
  merge?(a: ACC, b: ACC): ACC;
  result(acc: ACC): R;
}

/** The window a windowed result belongs to: [start, end) in milliseconds. */
export interface TimeWindow {
  start: number;
  end: number;
}

export type MapFunction<I, O> = (value: I) => O;
export type FilterFunction<I> = (value: I) => boolean;
export type FlatMapFunction<I, O> = (value: I) => Iterable<O>;
/** A call per element whose promise gives its output (mapAsync: an enrichment call to a service). */
export type AsyncMapFunction<I, O> = (value: I) => Promise<O>;
export type KeySelectorFunction<I, K> = (value: I) => K;
export type ReduceFunction<T> = (a: T, b: T) => T;
export type TimestampAssigner<T> = (value: T) => number;
/** Turns a window's aggregate into the emitted element, with its key and window. */
export type WindowResultFunction<K, R, O> = (result: R, key: K, window: TimeWindow) => O;

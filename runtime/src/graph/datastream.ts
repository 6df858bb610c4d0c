// The streams of the DataStream API. A stream is typed by its element (`DataStream<T>`, a
// keyed one also by its key: `KeyedStream<T, K>`); every step takes either a TypeScript
// function (types inferred through the chain; a `function` step whose function the builder
// registers) or the YAML form (CEL strings and field names; records are
// `Record<string, unknown>`). Both build the same graph and run on the same engine. Names are
// generated (`map-3`, ...) unless given. The three classes share a file: each one's methods
// return the others.
import type { Rec } from '../core/record.ts';
import type { DeadLetterOrigin } from '../core/origin.ts';
import { TributaryError } from '../errors.ts';
import type { SinkDescriptor } from './descriptors.ts';
import type {
  AggregateFunction,
  KeyedProcessFunction,
  KeySelectorFunction,
  ReduceFunction,
  WindowResultFunction,
} from './function-types.ts';
import type { AggregateSpec, KafkaSinkSpec, KeyBySpec, SinkSpec, WindowSpec } from './spec.ts';
import {
  addFunctionStep,
  errorOutputOf,
  stepName,
  type AsyncStepOptions,
  type CelStepOptions,
  type StepOptions,
  type StreamGraph,
} from './stream-graph.ts';

export type { AsyncStepOptions, CelStepOptions, StepOptions } from './stream-graph.ts';

type Any = unknown;
const isAggregateFunction = (a: unknown): a is AggregateFunction<Any, Any, Any> =>
  typeof (a as AggregateFunction<Any, Any, Any>).create === 'function';

/** What a step's errorOutput carries for one record it failed on (operators/record-errors.ts). */
export interface ErrorRecord {
  step: string;
  error: string;
  code?: string;
  record: unknown;
  /** The Kafka record `record` came from, when the step runs in its source's chain (docs/runtime/graph.md). */
  origin?: DeadLetterOrigin;
}

export class DataStream<T> {
  protected readonly g: StreamGraph;
  readonly name: string;
  /** The step's errorOutput stream, when its options named one. */
  private readonly errorStream: string | undefined;
  /** Phantom: the element type, for inference and type tests. */
  declare readonly __element?: T;

  constructor(g: StreamGraph, name: string, errorStream?: string) {
    this.g = g;
    this.name = name;
    this.errorStream = errorStream;
  }

  /** The records this step failed on, with the error: the step needs `{ errorOutput: '<name>' }`. */
  errors(): DataStream<ErrorRecord> {
    if (this.errorStream === undefined)
      throw new TributaryError(
        'TRIB_GRAPH_INVALID',
        `step ${this.name} has no errorOutput; pass { errorOutput: '<stream name>' } as the options of the step that made this stream`,
      );
    return new DataStream<ErrorRecord>(this.g, this.errorStream);
  }

  /** Keeps the elements for which `fn` returns true (or, as CEL, the predicate holds). */
  filter(fn: (value: T) => boolean, o?: StepOptions): DataStream<T>;
  filter(expr: string, o?: CelStepOptions): DataStream<T>;
  filter(f: string | ((value: T) => boolean), o?: StepOptions): DataStream<T> {
    if (typeof f === 'function')
      return this.next(
        addFunctionStep(this.g, this.name, 'filter', { kind: 'filter', fn: f as (v: Any) => boolean }, o),
        o,
      );
    return this.step('filter', o, { filter: f });
  }

  /** One output per element: `fn(element)` (or, as CEL, a record of named expressions). */
  map<U>(fn: (value: T) => U, o?: StepOptions): DataStream<U>;
  map(fields: Record<string, string>, o?: CelStepOptions): DataStream<Rec>;
  map<U>(f: Record<string, string> | ((value: T) => U), o?: StepOptions): DataStream<unknown> {
    if (typeof f === 'function')
      return this.next(addFunctionStep(this.g, this.name, 'map', { kind: 'map', fn: f as (v: Any) => Any }, o), o);
    return this.step('map', o, { map: f });
  }

  /**
   * Flink's Async I/O (`AsyncDataStream.orderedWait`): one output per element, what the promise
   * `fn(element)` resolves to, with up to `capacity` calls in flight per slot (default 100). The
   * outputs keep the input order. A call that throws, rejects or has not settled within `timeout`
   * (default `30s`) follows `onError`, else the job's onRecordError, else fails the job.
   */
  mapAsync<U>(fn: (value: T) => Promise<U>, o?: AsyncStepOptions): DataStream<U> {
    const extra = typeof o === 'object' ? { capacity: o.capacity, timeout: o.timeout } : {};
    const f = { kind: 'mapAsync' as const, fn: fn as (v: Any) => Promise<Any> };
    const spec = Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined));
    const opts = typeof o === 'object' ? { name: o.name, onError: o.onError } : o;
    return this.next(addFunctionStep(this.g, this.name, 'mapAsync', f, opts, spec));
  }

  /** Any number of outputs per element: what `fn` returns (an array or any iterable). */
  flatMap<U>(fn: (value: T) => Iterable<U>, o?: StepOptions): DataStream<U>;
  flatMap(expr: string, as?: string, o?: CelStepOptions): DataStream<Rec>;
  flatMap<U>(f: string | ((value: T) => Iterable<U>), a?: StepOptions, o?: CelStepOptions): DataStream<unknown> {
    if (typeof f === 'function') {
      const fn = f as (v: Any) => Iterable<Any>;
      return this.next(addFunctionStep(this.g, this.name, 'flatMap', { kind: 'flatMap', fn }, a), a);
    }
    const as = a as string | undefined;
    return this.step('flatMap', o, { flatMap: as ? { expr: f, as } : { expr: f } });
  }

  /**
   * Partitions by key: a field of the element, a function of it, or the YAML forms. A function
   * or an expression key may name an errorOutput for the records it fails on.
   */
  keyBy<F extends keyof T & string>(field: F, name?: string): KeyedStream<T, T[F]>;
  keyBy<K>(fn: KeySelectorFunction<T, K>, o?: CelStepOptions): KeyedStream<T, K>;
  keyBy<F extends keyof T & string>(fields: readonly F[], name?: string): KeyedStream<T, unknown[]>;
  keyBy(key: Exclude<KeyBySpec, string | string[]>, o?: CelStepOptions): KeyedStream<T, unknown>;
  keyBy(key: KeyBySpec | readonly string[] | KeySelectorFunction<T, Any>, o?: CelStepOptions): KeyedStream<T, Any> {
    const step = this.g.uniqueName('keyBy', stepName(o));
    const errorOutput = errorOutputOf(o);
    let spec: KeyBySpec;
    if (typeof key === 'function') {
      this.g.register(step, { kind: 'key', fn: key as (v: Any) => Any });
      spec = { function: step };
    } else spec = Array.isArray(key) ? [...(key as string[])] : (key as KeyBySpec);
    this.g.addStep({ name: step, from: this.name, keyBy: spec, ...(errorOutput !== undefined ? { errorOutput } : {}) });
    return new KeyedStream<T, Any>(this.g, step, errorOutput);
  }

  union(others: readonly DataStream<T>[], name?: string): DataStream<T> {
    const step = this.g.uniqueName('union', name);
    this.g.addStep({ name: step, from: [this.name, ...others.map((o) => o.name)], union: {} });
    return this.next(step);
  }

  /**
   * Writes to a sink: `kafkaSink({...})`, `fileSink(path)`, `consoleSink()`. A kafka sink with a
   * key may name an errorOutput: the records its key fails on, returned as a stream (not written).
   */
  sinkTo(sink: SinkDescriptor, o: { name?: string; errorOutput: string }): DataStream<ErrorRecord>;
  sinkTo(sink: SinkDescriptor, name?: string): void;
  sinkTo(sink: SinkDescriptor, o?: CelStepOptions): DataStream<ErrorRecord> | undefined {
    const kind = Object.keys(sink)[0] ?? 'sink';
    return this.addSink(`${kind}-sink`, { ...sink }, o);
  }

  /** Prints every element as a JSON line on stdout. */
  print(name?: string): void {
    this.g.addSink({ name: this.g.uniqueName('print', name), from: this.name, console: {} });
  }

  /** Writes to a Kafka topic; with `errorOutput` (and a key), returns the records the key fails on. */
  toKafka(kafka: KafkaSinkSpec, o: { name?: string; errorOutput: string }): DataStream<ErrorRecord>;
  toKafka(kafka: KafkaSinkSpec, name?: string): void;
  toKafka(kafka: KafkaSinkSpec, o?: CelStepOptions): DataStream<ErrorRecord> | undefined {
    return this.addSink('kafka-sink', { kafka }, o);
  }

  toConsole(name?: string): void {
    this.g.addSink({ name: this.g.uniqueName('console', name), from: this.name, console: {} });
  }

  toFile(path: string, name?: string): void {
    this.g.addSink({ name: this.g.uniqueName('file-sink', name), from: this.name, file: { path } });
  }

  protected next<U>(name: string, o?: StepOptions): DataStream<U> {
    return new DataStream<U>(this.g, name, errorOutputOf(o));
  }

  protected step<U>(base: string, o: CelStepOptions | undefined, body: Record<string, unknown>): DataStream<U> {
    const name = this.g.uniqueName(base, stepName(o));
    const errorOutput = errorOutputOf(o);
    this.g.addStep({ name, from: this.name, ...body, ...(errorOutput !== undefined ? { errorOutput } : {}) });
    return this.next<U>(name, o);
  }

  private addSink(base: string, body: Omit<SinkSpec, 'name' | 'from'>, o: CelStepOptions | undefined) {
    const errorOutput = errorOutputOf(o);
    this.g.addSink({
      name: this.g.uniqueName(base, stepName(o)),
      from: this.name,
      ...body,
      ...(errorOutput !== undefined ? { errorOutput } : {}),
    });
    return errorOutput === undefined ? undefined : new DataStream<ErrorRecord>(this.g, errorOutput);
  }
}

export class KeyedStream<T, K> extends DataStream<T> {
  /** Phantom: the key type. */
  declare readonly __key?: K;

  /** A keyed process function: per element, with keyed state and timers. An object, or a factory run once per slot. */
  process<O>(
    fn: KeyedProcessFunction<K, T, O> | (() => KeyedProcessFunction<K, T, O>),
    o?: StepOptions,
  ): DataStream<O> {
    const f = fn as KeyedProcessFunction<Any, Any, Any>;
    return this.next(addFunctionStep(this.g, this.name, 'process', { kind: 'process', fn: f }, o));
  }

  /** A running reduction per key: one output (the value so far) per element. */
  reduce(fn: ReduceFunction<T>, o?: StepOptions): DataStream<T> {
    return this.next(
      addFunctionStep(this.g, this.name, 'reduce', { kind: 'reduce', fn: fn as ReduceFunction<Any> }, o),
    );
  }

  /**
   * A running aggregate per key: an AggregateFunction (one output per element), or the CEL form, whose
   * `ttl` (a duration) expires a key's accumulators that long after its last record (graph.md).
   */
  aggregate<ACC, R>(agg: AggregateFunction<T, ACC, R>, o?: StepOptions): DataStream<R>;
  aggregate(
    aggregates: AggregateSpec,
    o?: CelStepOptions | { name?: string; errorOutput?: string; ttl?: string },
  ): DataStream<Rec>;
  aggregate(agg: AggregateSpec | AggregateFunction<T, Any, Any>, o?: StepOptions & { ttl?: string }): DataStream<Any> {
    if (isAggregateFunction(agg))
      return this.next(addFunctionStep(this.g, this.name, 'aggregate', { kind: 'aggregate', fn: agg }, o));
    const ttl = typeof o === 'object' ? o.ttl : undefined;
    return this.step('aggregate', o, { aggregate: agg, ...(ttl !== undefined ? { ttl } : {}) });
  }

  /** Windows per key: `TumblingEventTimeWindows.of('1m')`, ... or a window spec. */
  window(window: WindowSpec, name?: string): WindowedStream<T, K> {
    return new WindowedStream<T, K>(this.g, this.name, window, this.g.uniqueName('window', name));
  }

  /**
   * Per key, the earliest record by event time passes; the key's records less than `within` after it are dropped.
   * With options: no `within` keeps the first record per key and drops every later one (keep-first); `ttl` forgets
   * a key that long (processing time) after its last passed record, so its next record passes (graph.md, "Dedupe").
   */
  dedupe(within: string, name?: string): DataStream<T>;
  dedupe(o: { within?: string; ttl?: string; name?: string }): DataStream<T>;
  dedupe(o: string | { within?: string; ttl?: string; name?: string }, name?: string): DataStream<T> {
    const d = typeof o === 'string' ? { within: o, name } : o;
    return this.step('dedupe', d.name, {
      dedupe: d.within === undefined ? {} : { within: d.within },
      ...(d.ttl === undefined ? {} : { ttl: d.ttl }),
    });
  }

  /**
   * Joins by key within the bounds; with `select`, an errorOutput gets the pairs it fails on as `{left, right}`.
   * `ttl` (a duration): a buffered record also expires that long after it was buffered (graph.md).
   */
  intervalJoin(
    right: KeyedStream<Any, K>,
    bounds: { lowerBound: string; upperBound: string; select?: Record<string, string> },
    o?: string | { name?: string; errorOutput?: string; ttl?: string },
  ): DataStream<Rec> {
    const step = this.g.uniqueName('join', stepName(o));
    const errorOutput = errorOutputOf(o);
    const ttl = typeof o === 'object' ? o.ttl : undefined;
    this.g.addStep({
      name: step,
      from: [this.name, right.name],
      join: bounds,
      ...(errorOutput !== undefined ? { errorOutput } : {}),
      ...(ttl !== undefined ? { ttl } : {}),
    });
    return this.next(step, o);
  }
}

/**
 * A keyed stream cut into windows; the steps are added by its aggregate/reduce: one function
 * step (TypeScript), or a window step and an aggregate step (CEL).
 */
export class WindowedStream<T, K> {
  private readonly g: StreamGraph;
  private readonly from: string;
  private readonly window: WindowSpec;
  /** The window step's name (CEL form), or the function step's when none is given to aggregate/reduce. */
  readonly name: string;

  constructor(g: StreamGraph, from: string, window: WindowSpec, name: string) {
    this.g = g;
    this.from = from;
    this.window = window;
    this.name = name;
  }

  /** Per key and window: the AggregateFunction's result, or `result(aggregate, key, window)`; or the CEL form. */
  aggregate<ACC, R>(agg: AggregateFunction<T, ACC, R>, o?: StepOptions): DataStream<R>;
  aggregate<ACC, R, O>(
    agg: AggregateFunction<T, ACC, R>,
    result: WindowResultFunction<K, R, O>,
    o?: StepOptions,
  ): DataStream<O>;
  aggregate(aggregates: AggregateSpec, o?: CelStepOptions): DataStream<Rec>;
  aggregate(
    agg: AggregateSpec | AggregateFunction<T, Any, Any>,
    a?: StepOptions | WindowResultFunction<K, Any, Any>,
    b?: StepOptions,
  ): DataStream<Any> {
    if (!isAggregateFunction(agg)) {
      const o = a as CelStepOptions | undefined;
      this.g.addStep({ name: this.name, from: this.from, window: this.window });
      const step = this.g.uniqueName('aggregate', stepName(o));
      const errorOutput = errorOutputOf(o);
      this.g.addStep({ name: step, from: this.name, aggregate: agg, ...(errorOutput ? { errorOutput } : {}) });
      return new DataStream(this.g, step, errorOutput);
    }
    const result = typeof a === 'function' ? (a as WindowResultFunction<Any, Any, Any>) : undefined;
    const o = typeof a === 'function' ? b : a;
    const f = { kind: 'aggregate' as const, fn: agg, ...(result ? { window: result } : {}) };
    return this.functionStep(f, o);
  }

  /** Per key and window: the reduction of its elements, or `result(reduced, key, window)`. */
  reduce(fn: ReduceFunction<T>, o?: StepOptions): DataStream<T>;
  reduce<O>(fn: ReduceFunction<T>, result: WindowResultFunction<K, T, O>, o?: StepOptions): DataStream<O>;
  reduce(fn: ReduceFunction<T>, a?: StepOptions | WindowResultFunction<K, T, Any>, b?: StepOptions): DataStream<Any> {
    const result = typeof a === 'function' ? (a as WindowResultFunction<Any, Any, Any>) : undefined;
    const o = typeof a === 'function' ? b : a;
    return this.functionStep(
      { kind: 'reduce', fn: fn as ReduceFunction<Any>, ...(result ? { window: result } : {}) },
      o,
    );
  }

  /**
   * Flink's allowedLateness: a record up to `lateness` behind its window's end (event time)
   * still updates the window, which fires again with the newer result; the window's state is
   * kept that long after it fired. The window spec's `allowedLateness`.
   */
  allowedLateness(lateness: string): WindowedStream<T, K> {
    return new WindowedStream<T, K>(this.g, this.from, { ...this.window, allowedLateness: lateness }, this.name);
  }

  /**
   * Flink's sideOutputLateData: the records too late for every window they fall in go to the
   * stream `name` (read it with `lateRecords()`) instead of being counted and dropped. The
   * window spec's `lateOutput`.
   */
  sideOutputLateData(name: string): WindowedStream<T, K> {
    return new WindowedStream<T, K>(this.g, this.from, { ...this.window, lateOutput: name }, this.name);
  }

  /** The records too late for their windows: needs `sideOutputLateData(name)` (or `lateOutput` in the window spec). */
  lateRecords(): DataStream<T> {
    if (!this.window.lateOutput)
      throw new TributaryError(
        'TRIB_GRAPH_INVALID',
        `window ${this.name} has no lateOutput; call sideOutputLateData('<stream name>') or set window.lateOutput`,
      );
    return new DataStream<T>(this.g, this.window.lateOutput);
  }

  private functionStep(
    f: { kind: 'aggregate' | 'reduce'; fn: Any; window?: WindowResultFunction<Any, Any, Any> },
    o: StepOptions | undefined,
  ): DataStream<Any> {
    const opts = typeof o === 'string' ? { name: o } : { name: this.name, ...o };
    return new DataStream(
      this.g,
      addFunctionStep(this.g, this.from, f.kind, f as Parameters<typeof addFunctionStep>[3], opts, {
        window: this.window,
      }),
    );
  }
}

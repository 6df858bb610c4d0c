// The functions a job's code registered, by the name its graph uses for them (a `function`
// step's `ref`, `keyBy: {function}`, `timestamp.assigner`). The DataStream API fills it while
// the graph is built; the executor looks functions up when it builds a slot's operators.
import type {
  AggregateFunction,
  AsyncMapFunction,
  FilterFunction,
  FlatMapFunction,
  KeyedProcessFunction,
  KeySelectorFunction,
  MapFunction,
  ReduceFunction,
  TimestampAssigner,
  WindowResultFunction,
} from './function-types.ts';

type Any = unknown;

export type RegisteredFunction =
  | { kind: 'map'; fn: MapFunction<Any, Any> }
  | { kind: 'filter'; fn: FilterFunction<Any> }
  | { kind: 'flatMap'; fn: FlatMapFunction<Any, Any> }
  | { kind: 'mapAsync'; fn: AsyncMapFunction<Any, Any> }
  | { kind: 'key'; fn: KeySelectorFunction<Any, Any> }
  | { kind: 'timestamp'; fn: TimestampAssigner<Any> }
  /** An object (each slot gets its own instance by Object.create) or a factory called once per slot. */
  | { kind: 'process'; fn: KeyedProcessFunction<Any, Any, Any> | (() => KeyedProcessFunction<Any, Any, Any>) }
  | { kind: 'aggregate'; fn: AggregateFunction<Any, Any, Any>; window?: WindowResultFunction<Any, Any, Any> }
  | { kind: 'reduce'; fn: ReduceFunction<Any>; window?: WindowResultFunction<Any, Any, Any> };

export type FunctionRegistry = ReadonlyMap<string, RegisteredFunction>;

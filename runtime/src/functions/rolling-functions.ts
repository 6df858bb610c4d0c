// reduce and aggregate without a window: a running value per key, one output per input
// (like the CEL `aggregate` step after a keyBy). Both are keyed process functions over one
// ValueState, so they checkpoint and rescale exactly as a user's process function does.
// Handles live on `this`: each slot's operator runs its own instance (Object.create).
import type { AggregateFunction, KeyedProcessFunction, ReduceFunction, ValueState } from '../graph/function-types.ts';

interface WithState extends KeyedProcessFunction<unknown, unknown, unknown> {
  state?: ValueState<unknown>;
}

export function rollingAggregate(agg: AggregateFunction<unknown, unknown, unknown>): WithState {
  return {
    open(ctx) {
      this.state = ctx.getState('acc');
    },
    processElement(v, _ctx, out) {
      const s = this.state as ValueState<unknown>;
      const next = agg.add(s.value() ?? agg.create(), v);
      s.update(next);
      out.collect(agg.result(next));
    },
  } satisfies ThisType<WithState> & WithState;
}

export function rollingReduce(fn: ReduceFunction<unknown>): WithState {
  return {
    open(ctx) {
      this.state = ctx.getState('value');
    },
    processElement(v, _ctx, out) {
      const s = this.state as ValueState<unknown>;
      const prev = s.value();
      const next = prev === undefined ? v : fn(prev, v);
      s.update(next);
      out.collect(next);
    },
  } satisfies ThisType<WithState> & WithState;
}

/** A reduce function as an aggregate (accumulator = the reduced value, null before the first). */
export function reduceAsAggregate(fn: ReduceFunction<unknown>): AggregateFunction<unknown, unknown, unknown> {
  return {
    create: () => null,
    add: (acc, v) => (acc === null ? v : fn(acc, v)),
    merge: (a, b) => (a === null ? b : b === null ? a : fn(a, b)),
    result: (acc) => acc,
  };
}

// Keyed windows aggregated by a function of the job's code (an AggregateFunction, or a reduce
// function as one): the window operator (operators/window-operator.ts, whose header states
// the semantics) with the function aggregation (function-window-aggregation.ts). So function
// windows have what CEL windows have: tumbling, sliding and session windows in event or
// processing time, allowed lateness (a record after its window fired but within it updates
// the window and fires it again), late records to a late output or counted and dropped, and
// sessions merged first and judged after (their accumulators merge with `merge`).
//
// State: `windows` as `[[start, end, fired, [accumulator]], …]` per key and `timers`, the
// CEL window's forms. A savepoint of the earlier function window operator (`[[start, end,
// accumulator], …]`, windows that had not fired) restores too (key-windows.ts).
import type { AggregateFunction, WindowResultFunction } from '../graph/function-types.ts';
import { RecordErrors } from '../operators/record-errors.ts';
import type { OperatorContext, Output } from '../operators/types.ts';
import type { WindowKind } from '../operators/window-assigner.ts';
import { WindowOperator } from '../operators/window-operator.ts';
import type { OnFunctionError } from './function-lookup.ts';
import { FunctionWindowAggregation } from './function-window-aggregation.ts';

export interface WindowFunctionConfig {
  window: WindowKind;
  eventTime: boolean;
  /** Event time only; default 0. */
  allowedLateness?: number;
  agg: AggregateFunction<unknown, unknown, unknown>;
  result?: WindowResultFunction<unknown, unknown, unknown>;
}

export class WindowFunctionOperator extends WindowOperator {
  /** `onError`: the step's policy for a record (or a window's result) the job's code threw on. */
  constructor(
    stateName: string,
    cfg: WindowFunctionConfig,
    ctx: OperatorContext,
    onError: OnFunctionError,
    out: Output,
    lateOut?: Output,
  ) {
    const errors = new RecordErrors(ctx, undefined, {
      unrouted: onError,
      routed: () => ctx.metrics.functionErrorRouted(),
    });
    const agg = new FunctionWindowAggregation(stateName, cfg.window, cfg.agg, cfg.result, errors);
    const { window, eventTime } = cfg;
    super(stateName, { window, eventTime, allowedLateness: cfg.allowedLateness ?? 0 }, agg, ctx, out, lateOut, errors);
  }
}

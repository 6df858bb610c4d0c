// window + aggregate: the CEL `window` step and the `aggregate` step that reads it, run as
// one window operator (window-operator.ts: its header states the event-time semantics) with
// the CEL aggregation (cel-window-aggregation.ts). Results are `{key fields…, window_start,
// window_end, outputs…}` at `end − 1`; state is `windows` + `timers` (state-format.md).
import { CelWindowAggregation } from './cel-window-aggregation.ts';
import type { Aggregator } from './aggregators.ts';
import { RecordErrors } from './record-errors.ts';
import type { OperatorContext, Output } from './types.ts';
import type { WindowKind } from './window-assigner.ts';
import { WindowOperator } from './window-operator.ts';

export interface WindowAggregateConfig {
  window: WindowKind;
  eventTime: boolean;
  allowedLateness: number;
  /** Output field names of the key parts. */
  keyFields: string[];
  aggregates: Aggregator[];
}

export class WindowAggregateOperator extends WindowOperator {
  /** `errors`: where a record an aggregate's argument fails on goes (default: the job's onRecordError). */
  constructor(
    stateName: string,
    cfg: WindowAggregateConfig,
    ctx: OperatorContext,
    out: Output,
    lateOut?: Output,
    errors: RecordErrors = new RecordErrors(ctx, undefined),
  ) {
    const { window, eventTime, allowedLateness } = cfg;
    const agg = new CelWindowAggregation(cfg.aggregates, cfg.keyFields, errors);
    super(stateName, { window, eventTime, allowedLateness }, agg, ctx, out, lateOut, errors);
  }
}

// Builders for operator tests.
import { TributaryError } from '../errors.ts';
import { compileExpr } from '../expr/cel.ts';
import { parseAggregateCall, type AggregateCall } from '../graph/aggregate-spec.ts';
import { createAggregator, type Aggregator } from '../operators/aggregators.ts';

export function aggregators(spec: Record<string, string>): Aggregator[] {
  return Object.entries(spec).map(([out, text]) => {
    const call = parseAggregateCall(out, text);
    if (typeof call === 'string') throw new TributaryError('TRIB_GRAPH_INVALID', call);
    const c = call as AggregateCall;
    return createAggregator(c, c.expr === undefined ? undefined : compileExpr(c.expr));
  });
}

// filter: keeps records for which the CEL predicate is true. A record whose predicate
// fails to evaluate is counted and dropped.
import type { CompiledExpr } from '../expr/cel.ts';
import { BatchBuilder, type Batch, type OperatorContext, type Output } from './types.ts';
import { ForwardingOutput } from './forwarding-output.ts';

export class FilterOperator extends ForwardingOutput {
  private readonly pred: CompiledExpr;
  private readonly buf: BatchBuilder;
  private readonly ctx: OperatorContext;

  constructor(pred: CompiledExpr, ctx: OperatorContext, out: Output) {
    super(out);
    this.pred = pred;
    this.ctx = ctx;
    this.buf = new BatchBuilder(out);
  }

  push(b: Batch): void {
    const { recs, ts, n } = b;
    const pred = this.pred;
    const ob = this.buf.batch;
    let m = 0;
    for (let i = 0; i < n; i++) {
      const r = recs[i] as Record<string, unknown>;
      let keep: unknown;
      try {
        keep = pred.evaluate(r);
      } catch (e) {
        this.ctx.metrics.expressionError(e);
        continue;
      }
      if (keep === true) {
        ob.recs[m] = r;
        ob.ts[m] = ts[i] as number;
        m++;
      }
    }
    ob.n = m;
    this.buf.flush();
  }
}

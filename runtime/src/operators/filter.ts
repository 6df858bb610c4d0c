// filter: keeps records for which the CEL predicate is true. A record whose predicate fails
// to evaluate goes to the step's error stream (record-errors.ts).
import type { CompiledExpr } from '../expr/cel.ts';
import { BatchBuilder, type OperatorContext, type Output } from './types.ts';
import type { Batch } from '../core/batch.ts';
import { originsFrom } from '../core/origin.ts';
import { ErrorRoutingOutput } from './forwarding-output.ts';
import { RecordErrors } from './record-errors.ts';

export class FilterOperator extends ErrorRoutingOutput {
  private readonly pred: CompiledExpr;
  private readonly buf: BatchBuilder;

  constructor(pred: CompiledExpr, ctx: OperatorContext, out: Output, errorOut?: Output) {
    super(out, new RecordErrors(ctx, errorOut));
    this.pred = pred;
    this.buf = new BatchBuilder(out);
  }

  push(b: Batch): void {
    const { recs, ts, n } = b;
    const pred = this.pred;
    const ob = this.buf.batch;
    const io = b.origins;
    const oo = originsFrom(b, ob);
    let m = 0;
    for (let i = 0; i < n; i++) {
      const r = recs[i] as Record<string, unknown>;
      let keep: unknown;
      try {
        keep = pred.evaluate(r);
      } catch (e) {
        this.errors.failed(e, r, ts[i] as number, io?.[i]);
        continue;
      }
      if (keep === true) {
        ob.recs[m] = r;
        ob.ts[m] = ts[i] as number;
        if (oo) oo[m] = io?.[i];
        m++;
      }
    }
    ob.n = m;
    this.buf.flush();
    this.errors.flush();
  }
}

// map: projects each record to a new record of named CEL expressions (only those fields). A
// record any expression fails on goes to the step's error stream (record-errors.ts).
import type { CompiledExpr } from '../expr/cel.ts';
import type { Rec } from '../core/record.ts';
import { BatchBuilder, type OperatorContext, type Output } from './types.ts';
import type { Batch } from '../core/batch.ts';
import { originsFrom } from '../core/origin.ts';
import { ErrorRoutingOutput } from './forwarding-output.ts';
import { RecordErrors } from './record-errors.ts';

export class MapOperator extends ErrorRoutingOutput {
  private readonly names: string[];
  private readonly exprs: CompiledExpr[];
  private readonly buf: BatchBuilder;

  constructor(fields: Record<string, CompiledExpr>, ctx: OperatorContext, out: Output, errorOut?: Output) {
    super(out, new RecordErrors(ctx, errorOut));
    this.names = Object.keys(fields);
    this.exprs = Object.values(fields);
    this.buf = new BatchBuilder(out);
  }

  push(b: Batch): void {
    const { recs, ts, n } = b;
    const names = this.names;
    const exprs = this.exprs;
    const k = names.length;
    const ob = this.buf.batch;
    const io = b.origins;
    const oo = originsFrom(b, ob);
    let m = 0;
    outer: for (let i = 0; i < n; i++) {
      const r = recs[i] as Rec;
      const o: Rec = {};
      for (let j = 0; j < k; j++) {
        try {
          o[names[j] as string] = (exprs[j] as CompiledExpr).evaluate(r);
        } catch (e) {
          this.errors.failed(e, r, ts[i] as number, io?.[i]);
          continue outer;
        }
      }
      ob.recs[m] = o;
      ob.ts[m] = ts[i] as number;
      if (oo) oo[m] = io?.[i];
      m++;
    }
    ob.n = m;
    this.buf.flush();
    this.errors.flush();
  }
}

// flatMap: a CEL expression returns a list per record; each element becomes a record with
// the input's timestamp. Map elements are records as they are; other elements become
// `{ [as]: element }` (default field "value").
import type { CompiledExpr } from '../expr/cel.ts';
import type { Rec } from '../core/record.ts';
import { TributaryError } from '../errors.ts';
import { BatchBuilder, type OperatorContext, type Output } from './types.ts';
import type { Batch } from '../core/batch.ts';
import { originsFrom } from '../core/origin.ts';
import { ErrorRoutingOutput } from './forwarding-output.ts';
import { RecordErrors } from './record-errors.ts';

export class FlatMapOperator extends ErrorRoutingOutput {
  private readonly expr: CompiledExpr;
  private readonly as: string;
  private readonly buf: BatchBuilder;

  constructor(expr: CompiledExpr, as: string | undefined, ctx: OperatorContext, out: Output, errorOut?: Output) {
    super(out, new RecordErrors(ctx, errorOut));
    this.expr = expr;
    this.as = as ?? 'value';
    this.buf = new BatchBuilder(out);
  }

  push(b: Batch): void {
    const ob = this.buf.batch;
    const io = b.origins;
    const oo = originsFrom(b, ob);
    for (let i = 0; i < b.n; i++) {
      let list: unknown;
      try {
        list = this.expr.evaluate(b.recs[i] as Rec);
        if (!Array.isArray(list))
          throw new TributaryError('TRIB_EXPR_EVAL', `flatMap expression returned ${typeof list}, expected a list`);
      } catch (e) {
        this.errors.failed(e, b.recs[i], b.ts[i] as number, io?.[i]);
        continue;
      }
      const ts = b.ts[i] as number;
      const start = ob.n;
      for (const el of list as unknown[]) {
        if (el !== null && typeof el === 'object' && !Array.isArray(el) && !(el instanceof Uint8Array))
          this.buf.add(el as Rec, ts);
        else this.buf.add({ [this.as]: el }, ts);
      }
      // Every element descends from this one input record: each carries its origin.
      if (oo) for (let j = start; j < ob.n; j++) oo[j] = io?.[i];
    }
    this.buf.flush();
    this.errors.flush();
  }
}

// flatMap: a CEL expression returns a list per record; each element becomes a record with
// the input's timestamp. Map elements are records as they are; other elements become
// `{ [as]: element }` (default field "value").
import type { CompiledExpr, Rec } from '../expr/cel.ts';
import { TributaryError } from '../errors.ts';
import { BatchBuilder, type Batch, type OperatorContext, type Output } from './types.ts';
import { ForwardingOutput } from './forwarding-output.ts';

export class FlatMapOperator extends ForwardingOutput {
  private readonly expr: CompiledExpr;
  private readonly as: string;
  private readonly buf: BatchBuilder;
  private readonly ctx: OperatorContext;

  constructor(expr: CompiledExpr, as: string | undefined, ctx: OperatorContext, out: Output) {
    super(out);
    this.expr = expr;
    this.as = as ?? 'value';
    this.ctx = ctx;
    this.buf = new BatchBuilder(out);
  }

  push(b: Batch): void {
    for (let i = 0; i < b.n; i++) {
      let list: unknown;
      try {
        list = this.expr.evaluate(b.recs[i] as Rec);
        if (!Array.isArray(list))
          throw new TributaryError('TRIB_EXPR_EVAL', `flatMap expression returned ${typeof list}, expected a list`);
      } catch (e) {
        this.ctx.metrics.expressionError(e);
        continue;
      }
      const ts = b.ts[i] as number;
      for (const el of list as unknown[]) {
        if (el !== null && typeof el === 'object' && !Array.isArray(el) && !(el instanceof Uint8Array))
          this.buf.add(el as Rec, ts);
        else this.buf.add({ [this.as]: el }, ts);
      }
    }
    this.buf.flush();
  }
}

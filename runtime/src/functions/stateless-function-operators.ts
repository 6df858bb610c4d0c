// map, filter and flatMap with functions of the job's code. They run chained like the CEL
// operators (a plain call per record, no extra hop). Records are any values here: the engine
// carries them as they are. A throw goes to the step's error policy; records pushed
// downstream are pushed after the loop, so a downstream failure is never blamed on this step.
import type { FilterFunction, FlatMapFunction, MapFunction } from '../graph/function-types.ts';
import { ForwardingOutput } from '../operators/forwarding-output.ts';
import { BatchBuilder, type Batch, type Output, type Rec } from '../operators/types.ts';
import type { OnFunctionError } from './function-lookup.ts';

export class FunctionMapOperator extends ForwardingOutput {
  private readonly fn: MapFunction<unknown, unknown>;
  private readonly onError: OnFunctionError;
  private readonly buf: BatchBuilder;

  constructor(fn: MapFunction<unknown, unknown>, onError: OnFunctionError, out: Output) {
    super(out);
    this.fn = fn;
    this.onError = onError;
    this.buf = new BatchBuilder(out);
  }

  push(b: Batch): void {
    const { recs, ts, n } = b;
    const fn = this.fn;
    const ob = this.buf.batch;
    let m = 0;
    for (let i = 0; i < n; i++) {
      let v: unknown;
      try {
        v = fn(recs[i]);
      } catch (e) {
        this.onError(e, recs[i]);
        continue;
      }
      ob.recs[m] = v as Rec;
      ob.ts[m] = ts[i] as number;
      m++;
    }
    ob.n = m;
    this.buf.flush();
  }
}

export class FunctionFilterOperator extends ForwardingOutput {
  private readonly fn: FilterFunction<unknown>;
  private readonly onError: OnFunctionError;
  private readonly buf: BatchBuilder;

  constructor(fn: FilterFunction<unknown>, onError: OnFunctionError, out: Output) {
    super(out);
    this.fn = fn;
    this.onError = onError;
    this.buf = new BatchBuilder(out);
  }

  push(b: Batch): void {
    const { recs, ts, n } = b;
    const fn = this.fn;
    const ob = this.buf.batch;
    let m = 0;
    for (let i = 0; i < n; i++) {
      let keep: boolean;
      try {
        keep = fn(recs[i]);
      } catch (e) {
        this.onError(e, recs[i]);
        continue;
      }
      if (keep) {
        ob.recs[m] = recs[i] as Rec;
        ob.ts[m] = ts[i] as number;
        m++;
      }
    }
    ob.n = m;
    this.buf.flush();
  }
}

export class FunctionFlatMapOperator extends ForwardingOutput {
  private readonly fn: FlatMapFunction<unknown, unknown>;
  private readonly onError: OnFunctionError;
  private readonly buf: BatchBuilder;

  constructor(fn: FlatMapFunction<unknown, unknown>, onError: OnFunctionError, out: Output) {
    super(out);
    this.fn = fn;
    this.onError = onError;
    this.buf = new BatchBuilder(out);
  }

  push(b: Batch): void {
    const { recs, ts, n } = b;
    const ob = this.buf.batch;
    for (let i = 0; i < n; i++) {
      const start = ob.n;
      try {
        for (const v of this.fn(recs[i])) this.buf.add(v as Rec, ts[i] as number);
      } catch (e) {
        ob.n = start; // what this record produced before the throw is not emitted
        this.onError(e, recs[i]);
      }
    }
    this.buf.flush();
  }
}

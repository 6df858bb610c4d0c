// map, filter and flatMap with functions of the job's code. They run chained like the CEL
// operators (a plain call per record, no extra hop). Records are any values here: the engine
// carries them as they are. A record the function throws on goes to the step's errorOutput
// with the error, else to the step's policy (function-lookup.ts); records pushed downstream
// are pushed after the loop, so a downstream failure is never blamed on this step.
import type { FilterFunction, FlatMapFunction, MapFunction } from '../graph/function-types.ts';
import { ErrorRoutingOutput } from '../operators/forwarding-output.ts';
import type { RecordErrors } from '../operators/record-errors.ts';
import { BatchBuilder, type Output } from '../operators/types.ts';
import type { Batch } from '../core/batch.ts';
import type { Rec } from '../core/record.ts';
import { originsFrom } from '../core/origin.ts';

export class FunctionMapOperator extends ErrorRoutingOutput {
  private readonly fn: MapFunction<unknown, unknown>;
  private readonly buf: BatchBuilder;

  constructor(fn: MapFunction<unknown, unknown>, errors: RecordErrors, out: Output) {
    super(out, errors);
    this.fn = fn;
    this.buf = new BatchBuilder(out);
  }

  push(b: Batch): void {
    const { recs, ts, n } = b;
    const fn = this.fn;
    const ob = this.buf.batch;
    const io = b.origins;
    const oo = originsFrom(b, ob);
    let m = 0;
    for (let i = 0; i < n; i++) {
      let v: unknown;
      try {
        v = fn(recs[i]);
      } catch (e) {
        this.errors.failed(e, recs[i], ts[i] as number, io?.[i]);
        continue;
      }
      ob.recs[m] = v as Rec;
      ob.ts[m] = ts[i] as number;
      if (oo) oo[m] = io?.[i];
      m++;
    }
    ob.n = m;
    this.buf.flush();
    this.errors.flush();
  }
}

export class FunctionFilterOperator extends ErrorRoutingOutput {
  private readonly fn: FilterFunction<unknown>;
  private readonly buf: BatchBuilder;

  constructor(fn: FilterFunction<unknown>, errors: RecordErrors, out: Output) {
    super(out, errors);
    this.fn = fn;
    this.buf = new BatchBuilder(out);
  }

  push(b: Batch): void {
    const { recs, ts, n } = b;
    const fn = this.fn;
    const ob = this.buf.batch;
    const io = b.origins;
    const oo = originsFrom(b, ob);
    let m = 0;
    for (let i = 0; i < n; i++) {
      let keep: boolean;
      try {
        keep = fn(recs[i]);
      } catch (e) {
        this.errors.failed(e, recs[i], ts[i] as number, io?.[i]);
        continue;
      }
      if (keep) {
        ob.recs[m] = recs[i] as Rec;
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

export class FunctionFlatMapOperator extends ErrorRoutingOutput {
  private readonly fn: FlatMapFunction<unknown, unknown>;
  private readonly buf: BatchBuilder;

  constructor(fn: FlatMapFunction<unknown, unknown>, errors: RecordErrors, out: Output) {
    super(out, errors);
    this.fn = fn;
    this.buf = new BatchBuilder(out);
  }

  push(b: Batch): void {
    const { recs, ts, n } = b;
    const ob = this.buf.batch;
    const io = b.origins;
    const oo = originsFrom(b, ob);
    for (let i = 0; i < n; i++) {
      const start = ob.n;
      try {
        for (const v of this.fn(recs[i])) this.buf.add(v as Rec, ts[i] as number);
      } catch (e) {
        ob.n = start; // what this record produced before the throw is not emitted
        this.errors.failed(e, recs[i], ts[i] as number, io?.[i]);
        continue;
      }
      if (oo) for (let j = start; j < ob.n; j++) oo[j] = io?.[i];
    }
    this.buf.flush();
    this.errors.flush();
  }
}

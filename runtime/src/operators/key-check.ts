// A keyBy with an errorOutput, or a kafka sink with a key: evaluates the key of each record
// before the records leave (into the hash exchange, or to the sink's writer), and sends each
// record the key fails on to the error stream, or without one to the job's onRecordError
// (record-errors.ts), instead. The records that pass are unchanged; their key is evaluated
// again where it is used (the exchange, the writer), which gives the same answer: keys are
// deterministic (CEL, and key functions by contract). A keyBy without an errorOutput runs no
// check: the exchange counts a failing key under the job's onRecordError.
import type { Rec } from '../core/record.ts';
import { ErrorRoutingOutput } from './forwarding-output.ts';
import type { RecordErrors } from './record-errors.ts';
import { BatchBuilder, type Output } from './types.ts';
import type { Batch } from '../core/batch.ts';
import { originsFrom } from '../core/origin.ts';

export class KeyCheckOperator extends ErrorRoutingOutput {
  private readonly key: (rec: Rec) => unknown;
  private readonly buf: BatchBuilder;

  constructor(key: (rec: Rec) => unknown, out: Output, errors: RecordErrors) {
    super(out, errors);
    this.key = key;
    this.buf = new BatchBuilder(out);
  }

  push(b: Batch): void {
    const { recs, ts, n } = b;
    const key = this.key;
    const ob = this.buf.batch;
    const io = b.origins;
    const oo = originsFrom(b, ob);
    let m = 0;
    for (let i = 0; i < n; i++) {
      const r = recs[i] as Rec;
      try {
        key(r);
      } catch (e) {
        this.errors.failed(e, r, ts[i] as number, io?.[i]);
        continue;
      }
      ob.recs[m] = r;
      ob.ts[m] = ts[i] as number;
      if (oo) oo[m] = io?.[i];
      m++;
    }
    ob.n = m;
    this.buf.flush();
    this.errors.flush();
  }
}

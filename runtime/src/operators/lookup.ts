// lookup: enrichment from a table (see connectors/lookup-table.ts). For each record,
// `key` (CEL, one expression per key column) gives the lookup key, compared as a string (a tuple
// of strings for a composite key, connectors/lookup-key.ts) with the table's key columns; the
// matching row's fields (all but the key columns, or `fields`) are merged over the record.
// No match: the record passes unchanged (`keep`) or is dropped (`drop`). A record the key
// expression fails on goes to the step's errorOutput (record-errors.ts); without one it is
// counted under the job's onRecordError and, when that skips, treated as unmatched.
// Stateless: records keep their timestamps; watermarks pass through.
import type { CompiledExpr } from '../expr/cel.ts';
import type { LookupTable } from '../connectors/lookup-table.ts';
import { lookupKeyOf } from '../connectors/lookup-key.ts';
import type { Rec } from '../core/record.ts';
import { ErrorRoutingOutput } from './forwarding-output.ts';
import type { RecordErrors } from './record-errors.ts';
import { BatchBuilder, type Output } from './types.ts';
import type { Batch } from '../core/batch.ts';
import { originsFrom } from '../core/origin.ts';

export interface LookupOptions {
  /** One expression per key column, in the order of `columns`. */
  key: readonly CompiledExpr[];
  columns: readonly string[];
  fields?: readonly string[];
  onMissing: 'keep' | 'drop';
}

/** The lookup key of `rec` (throws what a key expression throws). */
export function recordKey(key: readonly CompiledExpr[], rec: Record<string, unknown>): string | undefined {
  return lookupKeyOf(key.map((k) => k.evaluate(rec)));
}

export function enrich(
  rec: Record<string, unknown>,
  row: Rec,
  columns: readonly string[],
  fields: readonly string[] | undefined,
): Record<string, unknown> {
  const out = { ...rec };
  if (fields) {
    for (const f of fields) if (f in row) out[f] = row[f];
  } else {
    for (const [f, v] of Object.entries(row)) if (!columns.includes(f)) out[f] = v;
  }
  return out;
}

export class LookupOperator extends ErrorRoutingOutput {
  private readonly table: LookupTable;
  private readonly o: LookupOptions;
  private readonly buf: BatchBuilder;

  constructor(table: LookupTable, o: LookupOptions, out: Output, errors: RecordErrors) {
    super(out, errors);
    this.table = table;
    this.o = o;
    this.buf = new BatchBuilder(out);
  }

  push(b: Batch): void {
    // A table whose store stayed unavailable past its bound fails the job here (lookup-table.ts).
    this.table.throwIfFailed();
    const ob = this.buf.batch;
    const io = b.origins;
    const oo = originsFrom(b, ob);
    let m = 0;
    for (let i = 0; i < b.n; i++) {
      const r = b.recs[i] as Record<string, unknown>;
      let k: string | undefined;
      try {
        k = recordKey(this.o.key, r);
      } catch (e) {
        this.errors.failed(e, r, b.ts[i] as number, io?.[i]);
        if (this.errors.routing) continue;
      }
      const row = k === undefined ? undefined : this.table.get(k);
      if (!row && this.o.onMissing === 'drop') continue;
      ob.recs[m] = row ? enrich(r, row, this.o.columns, this.o.fields) : r;
      ob.ts[m] = b.ts[i] as number;
      if (oo) oo[m] = io?.[i];
      m++;
    }
    ob.n = m;
    this.buf.flush();
    this.errors.flush();
  }
}

// lookup against a table read by key (KeyedLookup: a kudu source in `mode: get`), the same
// enrichment as LookupOperator (key, fields, onMissing), with fetches in between: a batch whose
// keys are all cached is enriched at once; otherwise its records are copied into a queue, the
// keys the cache does not know are fetched together, and when the answer is in, the batch is
// enriched and sent on from the slot's mailbox.
// Invariants:
// * Order: records, watermarks, idle markers and the end leave in the order they came; an
//   element behind a fetching batch waits in the queue.
// * While anything is queued the operator is not `writable`, so its task takes no more input
//   (a source does not poll, a gate takes no batch, barrier or end): at most the batch that
//   started a fetch, and what its task had taken with it, waits.
// * Checkpoints: a barrier injected into the task meanwhile (a source's, from the mailbox) is
//   held by the chain (`whenDrained`) until the queue is empty, so the snapshot and the barrier
//   come after every record read before it.
// * The operator is also a slot task, done once its end has left: the slot's loop (and the job)
//   does not end with records still queued.
// * A fetch that fails fails the slot (the error is thrown from the mailbox) with its code.
// * A record the key expression fails on goes to the step's errorOutput at once, not through
//   the queue: the error stream gets its records, watermarks, idleness and end in their order,
//   so it need not wait behind a fetch. Without an errorOutput: the job's onRecordError, and
//   when that skips, the record is treated as unmatched.
import type { CompiledExpr } from '../expr/cel.ts';
import type { Rec } from '../core/record.ts';
import type { KeyedLookup } from '../connectors/keyed-lookup.ts';
import type { RecordErrors } from './record-errors.ts';
import { enrich, recordKey } from './lookup.ts';
import { BatchBuilder, type Output } from './types.ts';
import type { Batch } from '../core/batch.ts';

export interface AsyncLookupOptions {
  /** One expression per key column, in the order of `columns`. */
  key: readonly CompiledExpr[];
  columns: readonly string[];
  fields?: readonly string[];
  onMissing: 'keep' | 'drop';
}

/** Runs a callback from the slot's loop (Slot.post). */
export interface Mailbox {
  post(cb: () => void): void;
}

type Queued =
  | { kind: 'batch'; recs: Rec[]; ts: number[]; keys: (string | undefined)[]; rows: Map<string, Rec | null> }
  | { kind: 'watermark'; wm: number }
  | { kind: 'idle'; idle: boolean }
  | { kind: 'end' };

export class AsyncLookupOperator implements Output {
  readonly name: string;
  private readonly table: KeyedLookup;
  private readonly o: AsyncLookupOptions;
  private readonly out: Output;
  private readonly errors: RecordErrors;
  private readonly mailbox: Mailbox;
  private readonly buf: BatchBuilder;
  private readonly queue: Queued[] = [];
  private fetching = false;
  private ended = false;
  private closed = false;
  private drained: (() => void)[] = [];

  constructor(
    name: string,
    table: KeyedLookup,
    o: AsyncLookupOptions,
    out: Output,
    errors: RecordErrors,
    mailbox: Mailbox,
  ) {
    this.name = name;
    this.table = table;
    this.o = o;
    this.out = out;
    this.errors = errors;
    this.mailbox = mailbox;
    this.buf = new BatchBuilder(out);
  }

  /** Writable (for the task): false while anything waits. */
  get writable(): boolean {
    return this.queue.length === 0;
  }

  /** Task: done once the end went downstream with nothing queued. */
  get done(): boolean {
    return this.closed || (this.ended && this.queue.length === 0);
  }

  step(): boolean {
    return false;
  }

  /** Runs `cb` now when nothing is queued, else from the mailbox right after the queue empties. */
  whenDrained(cb: () => void): void {
    if (this.queue.length === 0) cb();
    else this.drained.push(cb);
  }

  get busy(): boolean {
    return this.queue.length > 0;
  }

  /** The job is over (failed or cancelled): answers still to come are dropped. */
  close(): void {
    this.closed = true;
  }

  push(b: Batch): void {
    if (b.n === 0) return;
    if (this.errors.routing) b = this.withoutFailedKeys(b);
    if (b.n === 0) return;
    const keys: (string | undefined)[] = new Array<string | undefined>(b.n);
    const rows = new Map<string, Rec | null>();
    let missing = false;
    for (let i = 0; i < b.n; i++) {
      let k: string | undefined;
      try {
        k = recordKey(this.o.key, b.recs[i] as Record<string, unknown>);
      } catch (e) {
        this.errors.failed(e, b.recs[i], b.ts[i] as number);
      }
      keys[i] = k;
      if (k === undefined || rows.has(k)) continue;
      const row = this.table.cached(k);
      if (row === undefined) missing = true;
      else rows.set(k, row);
    }
    if (!missing && this.queue.length === 0) {
      this.emit(b.recs, b.ts, b.n, keys, rows);
      return;
    }
    this.queue.push({ kind: 'batch', recs: b.recs.slice(0, b.n), ts: b.ts.slice(0, b.n), keys, rows });
    this.pump();
  }

  /** The records of `b` whose key evaluates (a new batch); the others went to the error stream. */
  private withoutFailedKeys(b: Batch): Batch {
    const recs: Rec[] = [];
    const ts: number[] = [];
    for (let i = 0; i < b.n; i++) {
      const r = b.recs[i] as Rec;
      try {
        recordKey(this.o.key, r as Record<string, unknown>);
      } catch (e) {
        this.errors.failed(e, r, b.ts[i] as number, b.origins?.[i]);
        continue;
      }
      recs.push(r);
      ts.push(b.ts[i] as number);
    }
    this.errors.flush();
    return { recs, ts, keys: [], kgs: [], n: recs.length };
  }

  watermark(wm: number): void {
    this.errors.watermark(wm);
    if (this.queue.length === 0) this.out.watermark(wm);
    else this.queue.push({ kind: 'watermark', wm });
  }

  idle(idle: boolean): void {
    this.errors.idle(idle);
    if (this.queue.length === 0) this.out.idle(idle);
    else this.queue.push({ kind: 'idle', idle });
  }

  end(): void {
    this.errors.end();
    if (this.queue.length === 0) {
      this.ended = true;
      this.out.end();
    } else this.queue.push({ kind: 'end' });
  }

  /** Sends on what is ready at the head of the queue; starts the fetch of the first batch that is not. */
  private pump(): void {
    while (!this.fetching && !this.closed) {
      const head = this.queue[0];
      if (!head) break;
      if (head.kind === 'batch') {
        const missing = [...new Set(head.keys)].filter((k): k is string => k !== undefined && !head.rows.has(k));
        if (missing.length > 0) {
          this.fetch(head, missing);
          return;
        }
        this.queue.shift();
        this.emit(head.recs, head.ts, head.recs.length, head.keys, head.rows);
      } else {
        this.queue.shift();
        if (head.kind === 'watermark') this.out.watermark(head.wm);
        else if (head.kind === 'idle') this.out.idle(head.idle);
        else {
          this.ended = true;
          this.out.end();
        }
      }
    }
    if (this.queue.length === 0 && this.drained.length > 0) {
      const cbs = this.drained;
      this.drained = [];
      for (const cb of cbs) cb();
    }
  }

  private fetch(head: Extract<Queued, { kind: 'batch' }>, keys: string[]): void {
    this.fetching = true;
    this.table.fetch(keys).then(
      (found) =>
        this.mailbox.post(() => {
          this.fetching = false;
          for (const k of keys) head.rows.set(k, found.get(k) ?? null);
          this.pump();
        }),
      (err: unknown) =>
        this.mailbox.post(() => {
          this.fetching = false;
          if (!this.closed) throw err;
        }),
    );
  }

  private emit(
    recs: Rec[],
    ts: number[],
    n: number,
    keys: (string | undefined)[],
    rows: Map<string, Rec | null>,
  ): void {
    const ob = this.buf.batch;
    let m = 0;
    for (let i = 0; i < n; i++) {
      const k = keys[i];
      const row = k === undefined ? null : (rows.get(k) ?? null);
      if (!row && this.o.onMissing === 'drop') continue;
      ob.recs[m] = row
        ? enrich(recs[i] as Record<string, unknown>, row, this.o.columns, this.o.fields)
        : (recs[i] as Rec);
      ob.ts[m] = ts[i] as number;
      m++;
    }
    ob.n = m;
    this.buf.flush();
  }
}

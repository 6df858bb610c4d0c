// aggregate directly after keyBy: a running aggregate per key; every input record emits
// the key's updated result with the record's timestamp. With a `ttl`, a key's accumulators
// expire that long (processing time) after the key's last record, and its next record starts
// from scratch (state/ttl-state.ts).
import type { Rec } from '../core/record.ts';
import { KeyedStateBackend } from '../state/keyed-state.ts';
import { ExpiredCount, keyedAccess, type KeyedAccess } from '../state/ttl-state.ts';
import {
  accsFromJSON,
  accsToJSON,
  addAll,
  canClash,
  clashOf,
  evaluateArgs,
  initAll,
  writeResults,
  type Aggregator,
} from './aggregators.ts';
import { keyFieldsOf } from './key-selector.ts';
import { BatchBuilder, type OperatorContext, type Output, type StatefulOperator } from './types.ts';
import type { Batch } from '../core/batch.ts';
import { ErrorRoutingOutput } from './forwarding-output.ts';
import { RecordErrors } from './record-errors.ts';

export class RollingAggregateOperator extends ErrorRoutingOutput implements StatefulOperator {
  readonly stateName: string;
  private readonly aggs: Aggregator[];
  private readonly keyFields: string[];
  private readonly buf: BatchBuilder;
  private readonly backend: KeyedStateBackend;
  private readonly accs: KeyedAccess<unknown[]>;
  private readonly expired = new ExpiredCount();
  private readonly ctx: OperatorContext;
  private readonly scratch: unknown[];
  private readonly clashes: boolean;

  /**
   * `errors`: where a record an aggregate's argument fails on goes (default: the job's onRecordError).
   * `ttlMs`: the step's `ttl` (OnCreateAndWrite: each record of the key writes its accumulators).
   */
  constructor(
    stateName: string,
    keyFields: string[],
    aggs: Aggregator[],
    ctx: OperatorContext,
    out: Output,
    errors: RecordErrors = new RecordErrors(ctx, undefined),
    ttlMs?: number,
  ) {
    super(out, errors);
    this.stateName = stateName;
    this.aggs = aggs;
    this.keyFields = keyFields;
    this.buf = new BatchBuilder(out);
    this.scratch = new Array<unknown>(aggs.length).fill(undefined);
    this.clashes = canClash(aggs);
    this.backend = new KeyedStateBackend(ctx.maxParallelism, ctx.keyGroupRange, ctx.stateStore);
    this.ctx = ctx;
    const now = (): number => ctx.processingTime.now();
    this.accs = keyedAccess<unknown[]>(
      this.backend,
      'accumulators',
      { toJSON: (a) => accsToJSON(aggs, a), fromJSON: (j) => accsFromJSON(aggs, j as unknown[]) },
      ttlMs === undefined ? undefined : { cfg: { ttlMs, update: 'OnCreateAndWrite' }, now, expired: this.expired },
    );
  }

  /** Its keyed state, whose key groups a live rescale moves (rescale/migration.ts). */
  get keyedBackend(): KeyedStateBackend {
    return this.backend;
  }

  snapshotState(): Uint8Array {
    return this.backend.snapshot();
  }

  restoreState(snapshots: readonly Uint8Array[]): void {
    this.backend.restore(snapshots);
  }

  push(b: Batch): void {
    for (let i = 0; i < b.n; i++) {
      const rec = b.recs[i] as Rec;
      const ts = b.ts[i] as number;
      if (!evaluateArgs(this.aggs, rec, ts, this.scratch, this.errors)) continue;
      const key = b.keys[i] as string;
      const kg = b.kgs[i] as number;
      let accs = this.accs.get(kg, key);
      if (!accs) {
        accs = initAll(this.aggs);
        this.accs.put(kg, key, accs);
      }
      // A value the key's accumulators refuse (a sum overflowing, mixed kinds in min/max) leaves them as they were.
      const clash = this.clashes ? clashOf(this.aggs, accs, this.scratch) : undefined;
      if (clash !== undefined) {
        this.errors.failed(clash, rec, ts);
        continue;
      }
      addAll(this.aggs, accs, this.scratch, ts);
      this.accs.touch(kg, key);
      const o: Rec = {};
      keyFieldsOf(key, this.keyFields, o);
      writeResults(this.aggs, accs, o);
      this.buf.add(o, ts);
    }
    this.buf.flush();
    this.errors.flush();
    if (this.expired.n > 0) this.ctx.metrics.stateExpired(this.expired.take());
  }
}

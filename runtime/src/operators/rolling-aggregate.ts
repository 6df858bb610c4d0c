// aggregate directly after keyBy: a running aggregate per key; every input record emits
// the key's updated result with the record's timestamp.
import type { Rec } from '../core/record.ts';
import { KeyedStateBackend, type KeyedState } from '../state/keyed-state.ts';
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
  private readonly accs: KeyedState<unknown[]>;
  private readonly scratch: unknown[];
  private readonly clashes: boolean;

  /** `errors`: where a record an aggregate's argument fails on goes (default: the job's onRecordError). */
  constructor(
    stateName: string,
    keyFields: string[],
    aggs: Aggregator[],
    ctx: OperatorContext,
    out: Output,
    errors: RecordErrors = new RecordErrors(ctx, undefined),
  ) {
    super(out, errors);
    this.stateName = stateName;
    this.aggs = aggs;
    this.keyFields = keyFields;
    this.buf = new BatchBuilder(out);
    this.scratch = new Array<unknown>(aggs.length).fill(undefined);
    this.clashes = canClash(aggs);
    this.backend = new KeyedStateBackend(ctx.maxParallelism, ctx.keyGroupRange);
    this.accs = this.backend.state('accumulators', {
      toJSON: (a) => accsToJSON(aggs, a),
      fromJSON: (j) => accsFromJSON(aggs, j as unknown[]),
    });
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
      const o: Rec = {};
      keyFieldsOf(key, this.keyFields, o);
      writeResults(this.aggs, accs, o);
      this.buf.add(o, ts);
    }
    this.buf.flush();
    this.errors.flush();
  }
}

// Interval join of two keyed streams (Flink's IntervalJoinOperator): a left record at time
// l and a right record at time r with the same key join when l + lowerBound ≤ r ≤ l + upperBound.
// The output's timestamp is max(l, r). Records behind the watermark are late and dropped
// (counted). Buffered records are removed once no future record can match them:
// left at l + upperBound, right at r − lowerBound (event-time timers per key); with a `ttl`, also
// `ttl` of processing time after it was buffered (join-buffer.ts). A pair a select
// expression fails on goes to the step's errorOutput as record `{left, right}` at the pair's
// timestamp (record-errors.ts), else to the job's onRecordError.
import type { CompiledExpr } from '../expr/cel.ts';
import type { Rec } from '../core/record.ts';
import { KeyedStateBackend } from '../state/keyed-state.ts';
import { ExpiredCount } from '../state/ttl-state.ts';
import { JoinBuffer, type JoinTtl } from './join-buffer.ts';
import { TimerService, type Timer } from '../time/timer-service.ts';
import { MIN_WATERMARK } from '../core/watermark.ts';
import { RecordErrors } from './record-errors.ts';
import {
  BatchBuilder,
  type EventTimeProgress,
  type MultiInputOperator,
  type OperatorContext,
  type Output,
  type StatefulOperator,
} from './types.ts';
import type { Batch } from '../core/batch.ts';

export interface IntervalJoinConfig {
  lowerBound: number;
  upperBound: number;
  /** Output projection over `left` and `right`; default merges right's fields over left's. */
  select: Record<string, CompiledExpr> | undefined;
}

export class IntervalJoinOperator implements MultiInputOperator, StatefulOperator {
  readonly stateName: string;
  private readonly cfg: IntervalJoinConfig;
  private readonly ctx: OperatorContext;
  private readonly out: Output;
  private readonly errors: RecordErrors;
  private readonly buf: BatchBuilder;
  private readonly backend: KeyedStateBackend;
  private readonly sides: [JoinBuffer, JoinBuffer];
  private readonly expired = new ExpiredCount();
  private readonly timers = new TimerService();
  private wm = MIN_WATERMARK;
  private newest = Number.NEGATIVE_INFINITY;

  /** `ttlMs`: the step's `ttl`: a buffered record also expires that long (processing time) after it was buffered. */
  constructor(
    stateName: string,
    cfg: IntervalJoinConfig,
    ctx: OperatorContext,
    out: Output,
    errors?: RecordErrors,
    ttlMs?: number,
  ) {
    this.stateName = stateName;
    this.cfg = cfg;
    this.ctx = ctx;
    this.out = out;
    this.errors = errors ?? new RecordErrors(ctx, undefined);
    this.buf = new BatchBuilder(out);
    this.backend = new KeyedStateBackend(ctx.maxParallelism, ctx.keyGroupRange, ctx.stateStore);
    this.sides = [
      new JoinBuffer(this.backend, 'left', this.sideTtl(0, ttlMs)),
      new JoinBuffer(this.backend, 'right', this.sideTtl(1, ttlMs)),
    ];
    this.timers.bind(this.backend, 'timers');
  }

  /**
   * A side's TTL. A record the TTL removed takes its cleanup timer along: timers live until the
   * watermark passes the interval, which may be far away. (A record of the same key, side and
   * event time loses it too and goes by its TTL alone: kept past its interval, it matches nothing.)
   */
  private sideTtl(side: number, ttlMs: number | undefined): JoinTtl | undefined {
    if (ttlMs === undefined) return undefined;
    const { lowerBound: lo, upperBound: hi } = this.cfg;
    return {
      ttlMs,
      now: () => this.ctx.processingTime.now(),
      expired: this.expired,
      dropped: (kg, key, ts) => this.timers.delete(kg, key, side, side === 0 ? ts + hi : ts - lo),
    };
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
    this.pushInput(0, b);
  }

  pushInput(input: number, b: Batch): void {
    const side = input === 0 ? 0 : 1;
    const mine = this.sides[side];
    const other = this.sides[1 - side] as JoinBuffer;
    const { lowerBound: lo, upperBound: hi } = this.cfg;
    let late = 0;
    let newest = this.newest;
    for (let i = 0; i < b.n; i++) {
      const ts = b.ts[i] as number;
      if (ts > newest) newest = ts;
      if (ts < this.wm) {
        late++;
        continue;
      }
      const rec = b.recs[i] as Rec;
      const key = b.keys[i] as string;
      const kg = b.kgs[i] as number;
      mine.append(kg, key, ts, rec);
      // Only read: the other side's key stays out of the next delta.
      other.forEach(kg, key, (ots, orec) => {
        const [l, r, lts, rts] = side === 0 ? [rec, orec, ts, ots] : [orec, rec, ots, ts];
        if (rts >= lts + lo && rts <= lts + hi) this.emit(l, r, Math.max(lts, rts));
      });
      this.timers.register(kg, key, side, side === 0 ? ts + hi : ts - lo);
    }
    this.newest = newest;
    if (late > 0) this.ctx.metrics.lateRecords('dropped', late);
    this.buf.flush();
    this.errors.flush();
    this.reportExpired();
  }

  private reportExpired(): void {
    if (this.expired.n > 0) this.ctx.metrics.stateExpired(this.expired.take());
  }

  eventTimeProgress(): EventTimeProgress {
    return { watermark: this.wm, newest: this.newest };
  }

  private emit(left: Rec, right: Rec, ts: number): void {
    const sel = this.cfg.select;
    if (!sel) {
      this.buf.add({ ...left, ...right }, ts);
      return;
    }
    const vars = { left, right };
    const o: Rec = {};
    try {
      for (const name in sel) o[name] = (sel[name] as CompiledExpr).evaluate(vars);
    } catch (e) {
      this.errors.failed(e, vars, ts);
      return;
    }
    this.buf.add(o, ts);
  }

  private onTimer(t: Timer): void {
    const side = t.ns as number;
    const keepAfter = side === 0 ? t.ts - this.cfg.upperBound : t.ts + this.cfg.lowerBound;
    (this.sides[side] as JoinBuffer).cleanup(t.kg, t.key, keepAfter);
  }

  watermark(wm: number): void {
    if (wm <= this.wm) return;
    this.wm = wm;
    this.timers.advance(wm, (t) => this.onTimer(t));
    this.buf.flush();
    this.errors.flush();
    this.reportExpired();
    this.out.watermark(wm);
    this.errors.watermark(wm);
  }

  idle(idle: boolean): void {
    this.out.idle(idle);
    this.errors.idle(idle);
  }

  end(): void {
    this.buf.flush();
    this.errors.flush();
    this.out.end();
    this.errors.end();
  }
}

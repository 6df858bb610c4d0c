// dedupe: per key, the first record passes and later records of the same key are dropped
// until `within` has passed (in event time) since that first record. The key's state is
// removed by an event-time timer at first + within.
import { KeyedStateBackend, type KeyedState } from '../state/keyed-state.ts';
import { TimerService, type Timer } from '../time/timer-service.ts';
import { MIN_WATERMARK } from '../time/watermark.ts';
import { type Batch, type OperatorContext, type Output, type StatefulOperator, newBatch } from './types.ts';

export class DedupeOperator implements Output, StatefulOperator {
  readonly stateName: string;
  private readonly within: number;
  private readonly out: Output;
  private readonly backend: KeyedStateBackend;
  /** Per key: the time until which duplicates are dropped. */
  private readonly until: KeyedState<number>;
  private readonly timers = new TimerService();
  private readonly ob = newBatch();
  private wm = MIN_WATERMARK;
  dropped = 0;

  constructor(stateName: string, withinMs: number, ctx: OperatorContext, out: Output) {
    this.stateName = stateName;
    this.within = withinMs;
    this.out = out;
    this.backend = new KeyedStateBackend(ctx.maxParallelism, ctx.keyGroupRange);
    this.until = this.backend.state<number>('until');
    this.timers.bind(this.backend, 'timers');
  }

  snapshotState(): Uint8Array {
    return this.backend.snapshot();
  }

  restoreState(snapshots: readonly Uint8Array[]): void {
    this.backend.restore(snapshots);
  }

  push(b: Batch): void {
    const ob = this.ob;
    let m = 0;
    for (let i = 0; i < b.n; i++) {
      const key = b.keys[i] as string;
      const kg = b.kgs[i] as number;
      const ts = b.ts[i] as number;
      const until = this.until.get(kg, key);
      if (until !== undefined && ts < until) {
        this.dropped++;
        continue;
      }
      if (until !== undefined) this.timers.delete(kg, key, 0, until);
      this.until.put(kg, key, ts + this.within);
      this.timers.register(kg, key, 0, ts + this.within);
      ob.recs[m] = b.recs[i] as Record<string, unknown>;
      ob.ts[m] = ts;
      m++;
    }
    ob.n = m;
    if (m > 0) this.out.push(ob);
  }

  private onTimer(t: Timer): void {
    if (this.until.get(t.kg, t.key) === t.ts) this.until.delete(t.kg, t.key);
  }

  watermark(wm: number): void {
    if (wm <= this.wm) return;
    this.wm = wm;
    this.timers.advance(wm, (t) => this.onTimer(t));
    this.out.watermark(wm);
  }

  idle(idle: boolean): void {
    this.out.idle(idle);
  }

  end(): void {
    this.out.end();
  }
}

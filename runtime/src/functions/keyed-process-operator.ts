// A keyed process function (Flink's KeyedProcessOperator): per record, the job's function with
// the record's key in scope for its ValueState/ListState/MapState and its timers. Event-time
// timers fire when the watermark passes them, processing-time timers from the slot's mailbox
// at their wall-clock time; both live in keyed state (timer-service.ts), so they are
// checkpointed and move with their key group on rescale. State is declared in open(), which
// runs in the constructor: a restore needs every state registered before it loads.
import type {
  Collector,
  KeyedContext,
  KeyedProcessFunction,
  OnTimerContext,
  TimerService as UserTimers,
} from '../graph/function-types.ts';
import {
  BatchBuilder,
  type EventTimeProgress,
  type OperatorContext,
  type Output,
  type StatefulOperator,
} from '../operators/types.ts';
import type { Batch } from '../core/batch.ts';
import type { Rec } from '../core/record.ts';
import { TributaryError } from '../errors.ts';
import { KeyedStateBackend } from '../state/keyed-state.ts';
import { TimerService, type Timer } from '../time/timer-service.ts';
import { MIN_WATERMARK } from '../core/watermark.ts';
import type { OnFunctionError } from './function-lookup.ts';
import { stateContext, type KeyScope } from './keyed-state-handles.ts';
import { ExpiredCount } from '../state/ttl-state.ts';

type Fn = KeyedProcessFunction<unknown, unknown, unknown>;

/** The key a canonical key string stands for: the value of a one-part key, else the parts. */
export function keyValue(key: string): unknown {
  const parts = JSON.parse(key) as unknown[];
  return parts.length === 1 ? parts[0] : parts;
}

export class KeyedProcessOperator implements Output, StatefulOperator {
  readonly stateName: string;
  private readonly fn: Fn;
  private readonly ctx: OperatorContext;
  private readonly out: Output;
  private readonly onError: OnFunctionError;
  private readonly buf: BatchBuilder;
  private readonly backend: KeyedStateBackend;
  private readonly eventTimers = new TimerService();
  private readonly procTimers = new TimerService();
  private readonly scope: KeyScope = { kg: -1, key: '' };
  private ts = 0;
  private domain: 'event' | 'processing' = 'event';
  private wm = MIN_WATERMARK;
  private newest = Number.NEGATIVE_INFINITY;
  /** A `process` step reports its event-time progress (rolling reduce/aggregate, built on this too, do not). */
  private readonly reportsEventTime: boolean;
  private ended = false;
  /** Entries of TTL'd states that expired since the last batch (counted once per batch). */
  private readonly expired = new ExpiredCount();
  private readonly collector: Collector<unknown>;
  private readonly keyed: OnTimerContext<unknown>;

  constructor(
    stateName: string,
    fn: Fn | (() => Fn),
    ctx: OperatorContext,
    onError: OnFunctionError,
    out: Output,
    opts: { reportsEventTime?: boolean } = {},
  ) {
    this.stateName = stateName;
    this.reportsEventTime = opts.reportsEventTime ?? false;
    // One instance per slot: a factory's result, or an object whose fields set in open() (on
    // `this`) are its own, not shared with the other slots of this process.
    this.fn = typeof fn === 'function' ? fn() : (Object.create(fn) as Fn);
    this.ctx = ctx;
    this.out = out;
    this.onError = onError;
    this.buf = new BatchBuilder(out);
    this.backend = new KeyedStateBackend(ctx.maxParallelism, ctx.keyGroupRange, ctx.stateStore);
    this.eventTimers.bind(this.backend, 'timers:event');
    this.procTimers.bind(this.backend, 'timers:processing');
    this.backend.onRestore(() => this.scheduleProcessing());
    this.collector = { collect: (v) => this.buf.add(v as Rec, this.ts) };
    const timers: UserTimers = {
      currentWatermark: () => this.wm,
      currentProcessingTime: () => ctx.processingTime.now(),
      registerEventTimeTimer: (t) => this.eventTimers.register(this.keyed$().kg, this.scope.key, 0, t),
      deleteEventTimeTimer: (t) => this.eventTimers.delete(this.scope.kg, this.scope.key, 0, t),
      registerProcessingTimeTimer: (t) => {
        this.procTimers.register(this.keyed$().kg, this.scope.key, 0, t);
        ctx.processingTime.schedule(t, () => this.fireProcessing());
      },
      deleteProcessingTimeTimer: (t) => this.procTimers.delete(this.scope.kg, this.scope.key, 0, t),
    };
    this.keyed = {
      getCurrentKey: () => keyValue(this.scope.key),
      timestamp: () => this.ts,
      timerService: () => timers,
      timeDomain: () => this.domain,
    } satisfies KeyedContext<unknown> & OnTimerContext<unknown>;
    this.fn.open?.(
      stateContext(
        this.backend,
        this.scope,
        { stepName: ctx.stepName, slot: ctx.slot, parallelism: ctx.parallelism },
        { now: () => ctx.processingTime.now(), expired: this.expired },
      ),
    );
  }

  /** The current key's scope; timers need one (they are per key). */
  private keyed$(): KeyScope {
    if (this.scope.kg < 0)
      throw new TributaryError(
        'TRIB_FUNCTION_FAILED',
        `step "${this.stateName}": a timer was registered outside processElement/onTimer; timers belong to a key`,
      );
    return this.scope;
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
    const { recs, ts, keys, kgs, n } = b;
    const scope = this.scope;
    let newest = this.newest;
    for (let i = 0; i < n; i++) {
      scope.kg = kgs[i] as number;
      scope.key = keys[i] as string;
      this.ts = ts[i] as number;
      if (this.ts > newest) newest = this.ts;
      const start = this.buf.batch.n;
      try {
        this.fn.processElement(recs[i], this.keyed, this.collector);
      } catch (e) {
        this.buf.batch.n = start;
        this.onError(e, recs[i]);
      }
    }
    scope.kg = -1;
    this.newest = newest;
    this.flush();
  }

  private flush(): void {
    this.buf.flush();
    if (this.expired.n > 0) this.ctx.metrics.stateExpired(this.expired.take());
  }

  eventTimeProgress(): EventTimeProgress | undefined {
    return this.reportsEventTime ? { watermark: this.wm, newest: this.newest } : undefined;
  }

  private fire(t: Timer, domain: 'event' | 'processing'): void {
    const onTimer = this.fn.onTimer;
    if (!onTimer) return;
    this.scope.kg = t.kg;
    this.scope.key = t.key;
    this.ts = t.ts;
    this.domain = domain;
    const start = this.buf.batch.n;
    try {
      onTimer.call(this.fn, t.ts, this.keyed, this.collector);
    } catch (e) {
      this.buf.batch.n = start;
      this.onError(e, { timer: t.ts, domain, key: keyValue(t.key) });
    }
    this.scope.kg = -1;
  }

  private fireProcessing(): void {
    if (this.ended) return;
    this.procTimers.advance(this.ctx.processingTime.now(), (t) => this.fire(t, 'processing'));
    this.flush();
  }

  /** After a restore: wake up for the earliest processing-time timer (later ones reschedule as they fire). */
  private scheduleProcessing(): void {
    const next = this.procTimers.nextTimestamp();
    if (next !== undefined) this.ctx.processingTime.schedule(next, () => this.fireProcessing());
  }

  watermark(wm: number): void {
    if (wm <= this.wm) return;
    this.wm = wm;
    this.eventTimers.advance(wm, (t) => this.fire(t, 'event'));
    this.flush();
    this.out.watermark(wm);
  }

  idle(idle: boolean): void {
    this.out.idle(idle);
  }

  end(): void {
    this.ended = true;
    this.out.end();
  }
}

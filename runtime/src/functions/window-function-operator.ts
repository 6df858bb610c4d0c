// Keyed windows aggregated by a function of the job's code (an AggregateFunction, or a reduce
// function as one): tumbling, sliding and session windows in event or processing time. A
// window [start, end) fires once when the watermark (or the wall clock) reaches end − 1 and is
// then removed; an event-time record whose windows have all fired is late: counted and
// dropped (function windows have no allowed lateness). Sessions merge their accumulators
// with `merge`, and a record is merged before it is judged: late only if its merged session
// is. Windows and timers are keyed state (namespace = window start): checkpointed
// and redistributed on rescale like the CEL window operator's.
import type { Batch } from '../core/batch.ts';
import { TributaryError } from '../errors.ts';
import type { AggregateFunction, WindowResultFunction } from '../graph/function-types.ts';
import { assignStarts, windowSize, type WindowKind } from '../operators/window-assigner.ts';
import {
  BatchBuilder,
  type EventTimeProgress,
  type OperatorContext,
  type Output,
  type StatefulOperator,
} from '../operators/types.ts';
import type { Rec } from '../core/record.ts';
import { KeyedStateBackend, type KeyedState, type StateSerializer } from '../state/keyed-state.ts';
import { TimerService, type Timer } from '../time/timer-service.ts';
import { MIN_WATERMARK } from '../core/watermark.ts';
import type { OnFunctionError } from './function-lookup.ts';
import { keyValue } from './keyed-process-operator.ts';

interface Win {
  start: number;
  end: number;
  acc: unknown;
}

/** JSON form per key: `[[start, end, accumulator], …]`. */
const WINDOWS: StateSerializer<Map<number, Win>> = {
  toJSON: (m) => [...m.values()].map((w) => [w.start, w.end, w.acc]),
  fromJSON: (j) => new Map((j as [number, number, unknown][]).map(([start, end, acc]) => [start, { start, end, acc }])),
};

export interface WindowFunctionConfig {
  window: WindowKind;
  eventTime: boolean;
  agg: AggregateFunction<unknown, unknown, unknown>;
  result?: WindowResultFunction<unknown, unknown, unknown>;
}

export class WindowFunctionOperator implements Output, StatefulOperator {
  readonly stateName: string;
  private readonly cfg: WindowFunctionConfig;
  private readonly ctx: OperatorContext;
  private readonly out: Output;
  private readonly onError: OnFunctionError;
  private readonly buf: BatchBuilder;
  private readonly backend: KeyedStateBackend;
  private readonly windows: KeyedState<Map<number, Win>>;
  private readonly timers = new TimerService();
  private readonly starts: number[] = [];
  private wm = MIN_WATERMARK;
  private newest = Number.NEGATIVE_INFINITY;
  private ended = false;

  constructor(
    stateName: string,
    cfg: WindowFunctionConfig,
    ctx: OperatorContext,
    onError: OnFunctionError,
    out: Output,
  ) {
    if (cfg.window.kind === 'session' && !cfg.agg.merge)
      throw new TributaryError(
        'TRIB_GRAPH_INVALID',
        `step "${stateName}": session windows need an aggregate function with merge()`,
        {
          path: stateName,
        },
      );
    this.stateName = stateName;
    this.cfg = cfg;
    this.ctx = ctx;
    this.out = out;
    this.onError = onError;
    this.buf = new BatchBuilder(out);
    this.backend = new KeyedStateBackend(ctx.maxParallelism, ctx.keyGroupRange);
    this.windows = this.backend.state('windows', WINDOWS);
    this.timers.bind(this.backend, 'timers');
    if (!cfg.eventTime) this.backend.onRestore(() => this.scheduleNext());
  }

  snapshotState(): Uint8Array {
    return this.backend.snapshot();
  }

  restoreState(snapshots: readonly Uint8Array[]): void {
    this.backend.restore(snapshots);
  }

  push(b: Batch): void {
    const { recs, ts, keys, kgs, n } = b;
    const { eventTime, window } = this.cfg;
    const now = eventTime ? 0 : this.ctx.processingTime.now();
    let late = 0;
    let newest = this.newest;
    for (let i = 0; i < n; i++) {
      const t = eventTime ? (ts[i] as number) : now;
      if (t > newest) newest = t;
      const kg = kgs[i] as number;
      const key = keys[i] as string;
      try {
        if (window.kind === 'session') {
          if (!this.addSession(kg, key, t, recs[i])) late++;
          continue;
        }
        const count = assignStarts(window, t, this.starts);
        let accepted = false;
        for (let s = 0; s < count; s++) {
          const start = this.starts[s] as number;
          const end = start + windowSize(window);
          if (eventTime && end - 1 <= this.wm) continue;
          accepted = true;
          this.addTo(kg, key, start, end, recs[i]);
        }
        if (!accepted) late++;
      } catch (e) {
        this.onError(e, recs[i]);
      }
    }
    this.newest = newest;
    if (late > 0) this.ctx.metrics.lateRecords('dropped', late);
    this.buf.flush();
  }

  eventTimeProgress(): EventTimeProgress | undefined {
    return this.cfg.eventTime ? { watermark: this.wm, newest: this.newest } : undefined;
  }

  private keyWindows(kg: number, key: string): Map<number, Win> {
    let m = this.windows.get(kg, key);
    if (!m) this.windows.put(kg, key, (m = new Map()));
    return m;
  }

  private addTo(kg: number, key: string, start: number, end: number, v: unknown): void {
    const m = this.keyWindows(kg, key);
    let w = m.get(start);
    if (!w) {
      w = { start, end, acc: this.cfg.agg.create() };
      m.set(start, w);
      this.timer(kg, key, start, end - 1);
    }
    w.acc = this.cfg.agg.add(w.acc, v);
  }

  /**
   * Merge, then judge (as the CEL window operator and Flink): a record is late only if the
   * session it merges into is. A session still held has not fired (`end − 1 > watermark`), so
   * a record that touches one is never late; only a record opening a session of its own is
   * judged, from `[t, t + gap)`. Returns false when the record is late.
   */
  private addSession(kg: number, key: string, t: number, v: unknown): boolean {
    const { agg, window } = this.cfg;
    const gap = windowSize(window);
    if (this.cfg.eventTime && t + gap - 1 <= this.wm) {
      let touches = false;
      for (const w of this.windows.get(kg, key)?.values() ?? []) if (w.start <= t + gap && w.end >= t) touches = true;
      if (!touches) return false;
    }
    const m = this.keyWindows(kg, key);
    const merged: Win = { start: t, end: t + gap, acc: agg.add(agg.create(), v) };
    // Sessions of a key never intersect each other, so one pass finds every merge.
    for (const w of [...m.values()]) {
      if (w.start > merged.end || w.end < merged.start) continue;
      m.delete(w.start);
      this.timers.delete(kg, key, w.start, w.end - 1);
      merged.start = Math.min(merged.start, w.start);
      merged.end = Math.max(merged.end, w.end);
      merged.acc = (agg.merge as NonNullable<typeof agg.merge>)(w.acc, merged.acc);
    }
    m.set(merged.start, merged);
    this.timer(kg, key, merged.start, merged.end - 1);
    return true;
  }

  private timer(kg: number, key: string, start: number, at: number): void {
    this.timers.register(kg, key, start, at);
    if (!this.cfg.eventTime) this.ctx.processingTime.schedule(at, () => this.fireProcessing());
  }

  private fire(t: Timer): void {
    const m = this.windows.get(t.kg, t.key);
    const w = m?.get(t.ns as number);
    if (!m || !w) return;
    m.delete(w.start);
    if (m.size === 0) this.windows.delete(t.kg, t.key);
    let v: unknown;
    try {
      const r = this.cfg.agg.result(w.acc);
      v = this.cfg.result ? this.cfg.result(r, keyValue(t.key), { start: w.start, end: w.end }) : r;
    } catch (e) {
      this.onError(e, { key: keyValue(t.key), window: { start: w.start, end: w.end } });
      return;
    }
    this.buf.add(v as Rec, w.end - 1);
  }

  private fireProcessing(): void {
    if (this.ended) return;
    this.timers.advance(this.ctx.processingTime.now(), (t) => this.fire(t));
    this.buf.flush();
  }

  private scheduleNext(): void {
    const next = this.timers.nextTimestamp();
    if (next !== undefined) this.ctx.processingTime.schedule(next, () => this.fireProcessing());
  }

  watermark(wm: number): void {
    if (wm <= this.wm) return;
    this.wm = wm;
    if (this.cfg.eventTime) {
      this.timers.advance(wm, (t) => this.fire(t));
      this.buf.flush();
    }
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

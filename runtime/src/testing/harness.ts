// Test harness for driving operators directly: keyed batches, a collecting output, and a
// manual processing-time clock. Used by unit tests; also handy for embedding.
import { CollectingSink, type Emitted } from '../connectors/collection/collecting-sink.ts';
import type { OperatorContext, Output, ProcessingTimeService } from '../operators/types.ts';
import type { Batch } from '../core/batch.ts';
import type { Rec } from '../core/record.ts';
import type { StateStore } from '../state/disk-store.ts';
import { canonicalKey, keyGroupOf, keyGroupRangeForSlot, type KeyGroupRange } from '../state/key-groups.ts';

export { CollectingSink, type Emitted };

export class CollectingOutput implements Output {
  readonly records: Emitted[] = [];
  readonly watermarks: number[] = [];
  readonly idles: boolean[] = [];
  ended = false;

  push(b: Batch): void {
    for (let i = 0; i < b.n; i++) this.records.push({ rec: b.recs[i] as Rec, ts: b.ts[i] as number });
  }

  watermark(wm: number): void {
    this.watermarks.push(wm);
  }

  idle(idle: boolean): void {
    this.idles.push(idle);
  }

  end(): void {
    this.ended = true;
  }

  /** Records emitted so far, then forgets them. */
  take(): Rec[] {
    return this.records.splice(0).map((e) => e.rec);
  }
}

export class ManualClock implements ProcessingTimeService {
  time: number;
  private pending: { at: number; cb: () => void }[] = [];

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  schedule(time: number, cb: () => void): void {
    this.pending.push({ at: time, cb });
  }

  /** Moves the clock and runs due callbacks in time order. */
  advanceTo(time: number): void {
    this.time = time;
    for (;;) {
      this.pending.sort((a, b) => a.at - b.at);
      const next = this.pending[0];
      if (!next || next.at > time) return;
      this.pending.shift();
      next.cb();
    }
  }
}

export interface TestContextOptions {
  slot?: number;
  parallelism?: number;
  maxParallelism?: number;
  clock?: ManualClock;
  /** Opens the operator's keyed-state store (testing/state-backends.ts); absent: the heap. */
  stateStore?: (() => StateStore) | undefined;
}

export interface TestContext extends OperatorContext {
  clock: ManualClock;
  /** Late records dropped (counted only). */
  late: number;
  /** Late records sent to a lateOutput. */
  lateSent: number;
  /** Late records decided at once (dedupe). */
  lateDecided: number;
  exprErrors: unknown[];
  /** Keyed-state entries that expired (TTL). */
  expired: number;
}

export function testContext(o: TestContextOptions = {}): TestContext {
  const slot = o.slot ?? 0;
  const parallelism = o.parallelism ?? 1;
  const maxParallelism = o.maxParallelism ?? 128;
  const clock = o.clock ?? new ManualClock();
  const ctx: TestContext = {
    stepName: 'test',
    slot,
    parallelism,
    maxParallelism,
    keyGroupRange: keyGroupRangeForSlot(slot, parallelism, maxParallelism),
    processingTime: clock,
    clock,
    late: 0,
    lateSent: 0,
    lateDecided: 0,
    exprErrors: [],
    expired: 0,
    ...(o.stateStore ? { stateStore: o.stateStore } : {}),
    metrics: {
      lateRecords: (outcome, n) => {
        if (outcome === 'sent') ctx.lateSent += n;
        else if (outcome === 'decided') ctx.lateDecided += n;
        else ctx.late += n;
      },
      expressionError: (e) => {
        ctx.exprErrors.push(e);
      },
      expressionErrorRouted: () => {},
      functionError: (e) => {
        ctx.exprErrors.push(e);
      },
      functionErrorRouted: () => {},
      stateExpired: (n) => {
        ctx.expired += n;
      },
    },
  };
  return ctx;
}

/** Builds a keyed batch: each item is [record, timestamp, key parts]. */
export function keyedBatch(items: [Rec, number, unknown[]][], maxParallelism = 128): Batch {
  const b: Batch = { recs: [], ts: [], keys: [], kgs: [], n: 0 };
  for (const [rec, ts, parts] of items) {
    const key = canonicalKey(parts);
    b.recs.push(rec);
    b.ts.push(ts);
    b.keys.push(key);
    b.kgs.push(keyGroupOf(key, maxParallelism));
    b.n++;
  }
  return b;
}

export function batchOf(items: [Rec, number][]): Batch {
  return { recs: items.map((i) => i[0]), ts: items.map((i) => i[1]), keys: [], kgs: [], n: items.length };
}

export function inRange(r: KeyGroupRange, kg: number): boolean {
  return kg >= r.start && kg <= r.end;
}

/** Stable order for comparing results across parallelism: sort by JSON. */
export function sortedJson(recs: readonly Rec[]): string[] {
  return recs.map((r) => JSON.stringify(r)).sort();
}

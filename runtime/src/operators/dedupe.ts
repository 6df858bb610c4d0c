// dedupe by event time: per key, the earliest record by event time passes, and the key's
// records less than `within` after it are dropped; the first record at or after that passes
// next, and so on. The answer is a function of the key's records and their timestamps only,
// so it is the same at every parallelism and every arrival order:
//  * a record ahead of the watermark waits in the key's `pending` candidates; when the
//    watermark reaches its timestamp (a release timer), the key's candidates up to there are
//    decided in event-time order — ties (same timestamp) by the record's canonical JSON (keys
//    sorted), the smallest first, so equal records are interchangeable;
//  * a record at or behind the watermark (late: its predecessors may already be decided) is
//    decided at once against what the key remembers: dropped when it falls before `until`;
//  * `until` (the last passed record's time + `within`) is removed by a cleanup timer once the
//    watermark passes it — no later decision can need it. Without `within` (keep-first) `until`
//    is +∞: the key's later records are all dropped, and no cleanup timer is registered.
//  * with a `ttl`, `until` is a TTL'd state (state/ttl-state.ts: processing time, stamped when a
//    record passes, OnCreateAndWrite; dropped records only read it): once `ttl` has passed since
//    the key's last passed record, the key is forgotten and its next record passes. The TTL
//    deletes the cleanup timer of an `until` it removes; one it could not (a chain compacted
//    without the `until`) finds nothing, or a newer `until`, which it leaves.
//    `pending` takes no TTL: the watermark releases it.
// Latency: a record passes when the watermark reaches it (the source's out-of-orderness bound
// after it in event time).
import { canonicalKey } from '../state/key-groups.ts';
import { KeyedStateBackend, type KeyedState } from '../state/keyed-state.ts';
import { ExpiredCount, keyedAccess, TtlState, type KeyedAccess } from '../state/ttl-state.ts';
import { TimerService, type Timer } from '../time/timer-service.ts';
import { MIN_WATERMARK } from '../core/watermark.ts';
import {
  type EventTimeProgress,
  type OperatorContext,
  type Output,
  type StatefulOperator,
  BatchBuilder,
} from './types.ts';
import type { Batch } from '../core/batch.ts';
import type { Rec } from '../core/record.ts';

/** Timer namespaces: removal of `until`, and release of pending candidates. */
const CLEANUP = 0;
const RELEASE = 1;

type Candidate = [ts: number, rec: Rec];

function byTimeThenRecord(a: Candidate, b: Candidate): number {
  if (a[0] !== b[0]) return a[0] - b[0];
  const x = canonicalKey([a[1]]);
  const y = canonicalKey([b[1]]);
  return x < y ? -1 : x > y ? 1 : 0;
}

export class DedupeOperator implements Output, StatefulOperator {
  readonly stateName: string;
  /** +∞ without `within`: keep-first. */
  private readonly within: number;
  private readonly out: Output;
  private readonly backend: KeyedStateBackend;
  /** Per key: the time until which records are dropped (last passed record's time + within). */
  private readonly until: KeyedAccess<number>;
  private readonly expired = new ExpiredCount();
  /** Per key: records ahead of the watermark, not yet decided (JSON form `[[ts, record], …]`). */
  private readonly pending: KeyedState<Candidate[]>;
  private readonly timers = new TimerService();
  private readonly results: BatchBuilder;
  private readonly fireTimer: (t: Timer) => void;
  private wm = MIN_WATERMARK;
  private newest = Number.NEGATIVE_INFINITY;
  private readonly ctx: OperatorContext;
  dropped = 0;

  /**
   * `withinMs`: undefined keeps the first record per key and drops every later one (keep-first).
   * `ttlMs`: the step's `ttl`: a key's `until` expires that long (processing time) after its last passed record.
   */
  constructor(stateName: string, withinMs: number | undefined, ctx: OperatorContext, out: Output, ttlMs?: number) {
    this.stateName = stateName;
    this.ctx = ctx;
    this.within = withinMs ?? Number.POSITIVE_INFINITY;
    this.out = out;
    this.results = new BatchBuilder(out);
    this.backend = new KeyedStateBackend(ctx.maxParallelism, ctx.keyGroupRange, ctx.stateStore);
    const now = (): number => ctx.processingTime.now();
    this.until = keyedAccess<number>(
      this.backend,
      'until',
      undefined,
      ttlMs === undefined ? undefined : { cfg: { ttlMs, update: 'OnCreateAndWrite' }, now, expired: this.expired },
    );
    // An `until` the TTL removed takes its cleanup timer along (a `within` may be far longer than the ttl).
    if (this.until instanceof TtlState)
      this.until.onExpire((kg, key, until) => {
        if (until !== Number.POSITIVE_INFINITY) this.timers.delete(kg, key, CLEANUP, until);
      });
    this.pending = this.backend.state<Candidate[]>('pending');
    this.timers.bind(this.backend, 'timers');
    this.fireTimer = (t) => this.onTimer(t);
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

  /** Records held until the watermark reaches them (all keys). */
  get pendingCount(): number {
    let n = 0;
    for (const [, , list] of this.pending.entries()) n += list.length;
    return n;
  }

  push(b: Batch): void {
    let late = 0;
    let newest = this.newest;
    for (let i = 0; i < b.n; i++) {
      const key = b.keys[i] as string;
      const kg = b.kgs[i] as number;
      const ts = b.ts[i] as number;
      const rec = b.recs[i] as Rec;
      if (ts > newest) newest = ts;
      if (ts <= this.wm) {
        this.decide(kg, key, ts, rec);
        late++;
        continue;
      }
      const list = this.pending.get(kg, key);
      if (!list) {
        this.pending.put(kg, key, [[ts, rec]]);
        this.timers.register(kg, key, RELEASE, ts);
        continue;
      }
      // One release timer per key, at its earliest candidate, which is kept first in the list.
      const first = list[0] as Candidate;
      if (ts < first[0]) {
        this.timers.delete(kg, key, RELEASE, first[0]);
        this.timers.register(kg, key, RELEASE, ts);
        list[0] = [ts, rec];
        list.push(first);
      } else list.push([ts, rec]);
    }
    this.newest = newest;
    if (late > 0) this.ctx.metrics.lateRecords('decided', late);
    this.results.flush();
    this.reportExpired();
  }

  /** Keys with `until` (all keys the operator remembers a passed record of). */
  get rememberedCount(): number {
    return this.backend.state('until').size;
  }

  private reportExpired(): void {
    if (this.expired.n > 0) this.ctx.metrics.stateExpired(this.expired.take());
  }

  eventTimeProgress(): EventTimeProgress {
    return { watermark: this.wm, newest: this.newest };
  }

  /** Passes or drops one record against the key's `until`; the caller goes in event-time order. */
  private decide(kg: number, key: string, ts: number, rec: Rec): void {
    // Only read (a number): a dropped record leaves the key out of the next delta.
    const until = this.until.peek(kg, key);
    if (until !== undefined && ts < until) {
      this.dropped++;
      return;
    }
    const next = ts + this.within;
    // (An `until` the TTL removed took its cleanup timer along.)
    if (until !== undefined && until !== Number.POSITIVE_INFINITY) this.timers.delete(kg, key, CLEANUP, until);
    this.until.put(kg, key, next);
    if (next !== Number.POSITIVE_INFINITY) this.timers.register(kg, key, CLEANUP, next);
    this.results.add(rec, ts);
  }

  private onTimer(t: Timer): void {
    if (t.ns === CLEANUP) {
      if (this.until.peek(t.kg, t.key) === t.ts) this.until.delete(t.kg, t.key);
      return;
    }
    // Fired while the watermark advances: every candidate it has reached is due.
    const list = this.pending.get(t.kg, t.key);
    if (!list) return;
    const due: Candidate[] = [];
    const rest: Candidate[] = [];
    for (const c of list) (c[0] <= this.wm ? due : rest).push(c);
    if (rest.length === 0) this.pending.delete(t.kg, t.key);
    else {
      let m = 0;
      for (let i = 1; i < rest.length; i++) if ((rest[i] as Candidate)[0] < (rest[m] as Candidate)[0]) m = i;
      [rest[0], rest[m]] = [rest[m] as Candidate, rest[0] as Candidate];
      this.pending.put(t.kg, t.key, rest);
      this.timers.register(t.kg, t.key, RELEASE, (rest[0] as Candidate)[0]);
    }
    if (due.length > 1) due.sort(byTimeThenRecord);
    for (const [ts, rec] of due) this.decide(t.kg, t.key, ts, rec);
  }

  watermark(wm: number): void {
    if (wm <= this.wm) return;
    this.wm = wm;
    this.timers.advance(wm, this.fireTimer);
    this.results.flush();
    this.reportExpired();
    this.out.watermark(wm);
  }

  idle(idle: boolean): void {
    this.out.idle(idle);
  }

  end(): void {
    this.results.flush();
    this.out.end();
  }
}

// One side of an interval join: per key, the records buffered until no future record can match
// them (event time, interval-join.ts), and with a `ttl` also until `ttl` of processing time after
// each was buffered (Flink's StateTtlConfig per list element: OnCreateAndWrite, NeverReturnExpired).
//
// With a ttl, each buffered record carries the processing time it was buffered, `[ts, record, at]`,
// the key's records in `at` order, and the key's list is a TtlState (state/ttl-state.ts) whose
// stamp is always its newest record's `at`. So the key expires exactly when its last record does,
// and the sweep, full snapshots and compaction remove whole keys as for any TTL'd state; a record
// that expired before its key's newer ones is never returned, and is removed when the key is next
// written (a record appended, an event-time cleanup). Its JSON form is
// `[newestAtMs, [[ts, record, atMs], …]]` (state-format.md).
import type { Rec } from '../core/record.ts';
import type { KeyedState, KeyedStateBackend, StateSerializer } from '../state/keyed-state.ts';
import { ExpiredCount, TtlState } from '../state/ttl-state.ts';

/** A buffered record: event time, record, and with a ttl the processing time it was buffered. */
type Entry = [ts: number, rec: Rec, at?: number];
type Buffered = Entry[];

/** The records of a plain side: a list restored from a TTL'd side loses the records' stamps. */
const PLAIN: StateSerializer<Buffered> = {
  toJSON: (v) => v,
  fromJSON: (j) => {
    const list = j as Buffered;
    return list.length > 0 && (list[0] as Entry).length > 2 ? list.map(([ts, rec]) => [ts, rec]) : list;
  },
};

/** The records of a TTL'd side: a record restored from a plain side is stamped at the restore. */
function stamped(now: () => number): StateSerializer<Buffered> {
  return {
    toJSON: (v) => v,
    fromJSON: (j) => {
      const list = j as Buffered;
      if (list.length === 0 || (list[0] as Entry).length > 2) return list;
      const at = now();
      return list.map(([ts, rec]) => [ts, rec, at]);
    },
  };
}

export interface JoinTtl {
  ttlMs: number;
  now: () => number;
  expired: ExpiredCount;
  /** Told of each buffered record the TTL removes (its event time), so its cleanup timer can go too. */
  dropped: (kg: number, key: string, ts: number) => void;
}

export class JoinBuffer {
  private readonly plain: KeyedState<Buffered> | undefined;
  private readonly ttl: TtlState<Buffered> | undefined;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly expired: ExpiredCount;
  private readonly dropped: JoinTtl['dropped'];

  constructor(backend: KeyedStateBackend, name: string, ttl: JoinTtl | undefined) {
    this.ttlMs = ttl?.ttlMs ?? Number.POSITIVE_INFINITY;
    this.now = ttl?.now ?? (() => 0);
    this.expired = ttl?.expired ?? new ExpiredCount();
    this.dropped = ttl?.dropped ?? (() => {});
    if (!ttl) this.plain = backend.state<Buffered>(name, PLAIN);
    else {
      const cfg = { ttlMs: ttl.ttlMs, update: 'OnCreateAndWrite' as const };
      this.ttl = new TtlState<Buffered>(backend, name, stamped(ttl.now), cfg, ttl.now, ttl.expired);
      this.ttl.onExpire((kg, key, list) => {
        for (const [ts] of list) this.dropped(kg, key, ts);
      });
    }
  }

  /** Buffers a record of `key` (a write: with a ttl, the key's records that expired go). */
  append(kg: number, key: string, ts: number, rec: Rec): void {
    if (this.plain) {
      const list = this.plain.get(kg, key);
      if (list) list.push([ts, rec]);
      else this.plain.put(kg, key, [[ts, rec]]);
      return;
    }
    const s = this.ttl as TtlState<Buffered>;
    const now = this.now();
    const list = s.get(kg, key);
    if (!list) {
      s.put(kg, key, [[ts, rec, now]]);
      return;
    }
    const kept = this.unexpired(kg, key, list, now);
    // Never before the key's newest record (a clock that went back, a restore elsewhere): the list stays in `at` order.
    const at = kept.length === 0 ? now : Math.max(now, (kept[kept.length - 1] as Entry)[2] as number);
    kept.push([ts, rec, at]);
    s.put(kg, key, kept, at);
  }

  /** Calls `fn` on each buffered record of `key` that has not expired; only reads. */
  forEach(kg: number, key: string, fn: (ts: number, rec: Rec) => void): void {
    const list = this.plain ? this.plain.peek(kg, key) : (this.ttl as TtlState<Buffered>).peek(kg, key);
    if (!list) return;
    const live = this.now() - this.ttlMs;
    for (const [ts, rec, at] of list) if (at === undefined || at > live) fn(ts, rec);
  }

  /** Event-time cleanup: removes the key's records at or before `keepAfter` (and with a ttl the expired ones). */
  cleanup(kg: number, key: string, keepAfter: number): void {
    const s = this.plain ?? (this.ttl as TtlState<Buffered>);
    const list = s.get(kg, key);
    if (!list) return;
    const now = this.now();
    const kept = this.unexpired(
      kg,
      key,
      list.filter(([ts]) => ts > keepAfter),
      now,
    );
    if (kept.length === 0) s.delete(kg, key);
    else if (this.plain) this.plain.put(kg, key, kept);
    // Stamped with its newest record's time: a cleanup is no write of the records it keeps.
    else (this.ttl as TtlState<Buffered>).put(kg, key, kept, (kept[kept.length - 1] as Entry)[2]);
  }

  /** `list` without its expired records, each counted and told; `list` itself when none expired. */
  private unexpired(kg: number, key: string, list: Buffered, now: number): Buffered {
    if (this.plain) return list;
    const live = now - this.ttlMs;
    let i = 0;
    // Records are buffered in processing-time order: the expired ones lead the list.
    while (i < list.length && ((list[i] as Entry)[2] as number) <= live) i++;
    if (i === 0) return list;
    this.expired.n += i;
    for (let j = 0; j < i; j++) this.dropped(kg, key, (list[j] as Entry)[0]);
    return list.slice(i);
  }
}

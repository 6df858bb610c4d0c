// A keyed state with a time-to-live, Flink's StateTtlConfig semantics: processing time; the
// timestamp is set when a value is created or written (OnCreateAndWrite) or also when it is
// read (OnReadAndWrite); an expired value is never returned (NeverReturnExpired). Expired
// entries go
//  * on access: a read of an expired key removes it and answers undefined;
//  * by an incremental sweep: every access checks a few more entries (SWEEP_PER_ACCESS) along
//    a cursor over the whole state, so keys nobody reads again go too, at bounded work per record;
//  * at full snapshots (KeyedStateBackend.beforeFullSnapshot);
//  * from merged chains of incremental checkpoints (delta-merge.ts, state-ttl.ts).
// Every removal from the live state marks the key changed, so a delta carries it, and is told to
// the `onExpire` listener (an operator with timers for the entry).
import type { KeyedState, KeyedStateBackend, StateSerializer } from './keyed-state.ts';
import { TtlSerializer, type Stamped, type TtlConfig } from './state-ttl.ts';
import type { KeyTable } from './key-table.ts';

/** Entries the incremental sweep checks per access (Flink's heap backend: 5). */
export const SWEEP_PER_ACCESS = 5;

/** Read, write and remove a key's value: what KeyedState and TtlState both offer an operator. */
export interface KeyedAccess<V> {
  readonly name: string;
  /** The key's value; the caller may change it in place and then call `touch`. */
  get(kg: number, key: string): V | undefined;
  /** The key's value for a caller that does not change it: not counted as a change (unless reads are writes). */
  peek(kg: number, key: string): V | undefined;
  put(kg: number, key: string, value: V): void;
  /** The caller changed the key's value in place: a write. */
  touch(kg: number, key: string): void;
  delete(kg: number, key: string): void;
}

/** Expired entries removed and not yet reported: operators report them once per batch. */
export class ExpiredCount {
  n = 0;

  /** The count since the last call. */
  take(): number {
    const n = this.n;
    this.n = 0;
    return n;
  }
}

export class TtlState<V> implements KeyedAccess<V> {
  readonly name: string;
  private readonly s: KeyedState<Stamped<V>>;
  private readonly ttl: number;
  private readonly onRead: boolean;
  private readonly now: () => number;
  private readonly expired: ExpiredCount;
  /** Told of each entry the TTL removes (an operator that keeps timers for it). */
  private expiredHook: ((kg: number, key: string, v: V) => void) | undefined = undefined;
  /** Sweep cursor: the table index, the table it iterates and its iterator. */
  private at = 0;
  private table: KeyTable<Stamped<V>> | undefined = undefined;
  private it: Iterator<[string, Stamped<V>]> | undefined = undefined;

  constructor(
    backend: KeyedStateBackend,
    name: string,
    serializer: StateSerializer<V>,
    cfg: TtlConfig,
    now: () => number,
    expired: ExpiredCount,
  ) {
    this.name = name;
    this.ttl = cfg.ttlMs;
    this.onRead = cfg.update === 'OnReadAndWrite';
    this.now = now;
    this.expired = expired;
    this.s = backend.state<Stamped<V>>(name, new TtlSerializer(serializer, cfg.ttlMs, now));
    backend.beforeFullSnapshot((only) => this.purge(only));
  }

  /** Calls `fn` with every entry the TTL removes, after it was removed (one listener). */
  onExpire(fn: (kg: number, key: string, v: V) => void): void {
    this.expiredHook = fn;
  }

  private expire(kg: number, key: string, e: Stamped<V>): void {
    this.s.delete(kg, key);
    this.expired.n++;
    this.expiredHook?.(kg, key, e.v);
  }

  /** The state underneath, values with their timestamps (tests, tooling). */
  get stamped(): KeyedState<Stamped<V>> {
    return this.s;
  }

  get(kg: number, key: string): V | undefined {
    this.sweep(SWEEP_PER_ACCESS);
    return this.unexpired(kg, key, this.s.get(kg, key));
  }

  /** As `get`, but an unexpired value read here leaves the key out of the next delta (OnCreateAndWrite). */
  peek(kg: number, key: string): V | undefined {
    this.sweep(SWEEP_PER_ACCESS);
    const v = this.unexpired(kg, key, this.s.peek(kg, key));
    if (v !== undefined && this.onRead) this.s.touch(kg, key);
    return v;
  }

  /** The value of entry `e` of `key`, or undefined (and the entry removed) once it expired. */
  private unexpired(kg: number, key: string, e: Stamped<V> | undefined): V | undefined {
    if (e === undefined) return undefined;
    const now = this.now();
    if (e.at + this.ttl <= now) {
      this.expire(kg, key, e);
      return undefined;
    }
    if (this.onRead) e.at = now;
    return e.v;
  }

  /**
   * Writes the key's value, stamped now; `at`: stamped then instead (≤ now), for a value whose
   * parts carry their own stamps, so that the key's stamp stays its newest part's (join-buffer.ts).
   */
  put(kg: number, key: string, value: V, at = this.now()): void {
    this.sweep(SWEEP_PER_ACCESS);
    this.s.put(kg, key, { at, v: value });
  }

  touch(kg: number, key: string): void {
    const e = this.s.peek(kg, key);
    if (e === undefined) return;
    e.at = this.now();
    this.s.touch(kg, key);
  }

  delete(kg: number, key: string): void {
    this.s.delete(kg, key);
  }

  /**
   * Checks up to `budget` entries along the cursor and removes the expired ones; also moves past
   * at most a few empty key groups per entry budgeted, so the work per call is bounded.
   */
  sweep(budget: number): void {
    const tables = this.s.tables;
    const n = tables.length;
    if (n === 0) return;
    const now = this.now();
    let steps = budget * 4;
    while (budget > 0 && steps-- > 0) {
      // A restore or a key-group move replaces tables: the cursor restarts on what is there now.
      if (this.it === undefined || tables[this.at] !== this.table) {
        if (this.at >= n) this.at = 0;
        const t = tables[this.at];
        if (t === undefined || t.size === 0) {
          this.next(n);
          continue;
        }
        this.table = t;
        this.it = t.entries();
      }
      const r = this.it.next();
      if (r.done === true) {
        this.next(n);
        continue;
      }
      budget--;
      const [key, e] = r.value;
      if (e.at + this.ttl <= now) this.expire(this.s.keyGroupAt(this.at), key, e);
    }
  }

  private next(n: number): void {
    this.at = (this.at + 1) % n;
    this.table = undefined;
    this.it = undefined;
  }

  /**
   * Removes every expired entry (before a full snapshot: it writes none of them); of key groups
   * `only` when given (a hand-off extracts only those: the rest need not be read).
   */
  purge(only?: readonly number[]): void {
    const now = this.now();
    const tables = this.s.tables;
    const base = this.s.keyGroupAt(0);
    const at = only ? only.map((kg) => kg - base) : tables.keys();
    for (const i of at) {
      const t = tables[i];
      if (!t) continue;
      for (const [key, e] of t) if (e.at + this.ttl <= now) this.expire(this.s.keyGroupAt(i), key, e);
    }
  }
}

/**
 * The state `name` of `backend`: with a TTL when `ttl` is given, else the plain KeyedState.
 * Operators hold the result as a KeyedAccess either way.
 */
export function keyedAccess<V>(
  backend: KeyedStateBackend,
  name: string,
  serializer: StateSerializer<V> | undefined,
  ttl: { cfg: TtlConfig; now: () => number; expired: ExpiredCount } | undefined,
): KeyedAccess<V> {
  if (!ttl) return serializer ? backend.state<V>(name, serializer) : backend.state<V>(name);
  return new TtlState<V>(
    backend,
    name,
    serializer ?? { toJSON: (v) => v, fromJSON: (j) => j as V },
    ttl.cfg,
    ttl.now,
    ttl.expired,
  );
}

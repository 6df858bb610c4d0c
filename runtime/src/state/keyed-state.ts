// Keyed state, partitioned by key group. Each named state keeps one table per key group of
// this slot's range (key-table.ts: a Map on the heap, or a disk store's), so a snapshot is
// naturally grouped by key group and a restore can take any subset of groups. Keys are
// canonical key strings (key-groups.ts).
import { TributaryError } from '../errors.ts';
import { HASH_FUNCTION, keyGroupRuns, type KeyGroupRange } from './key-groups.ts';
import { fullSnapshotVersion } from './snapshot-format.ts';
import { fullSnapshotLater, fullSnapshotNow, SLICE_MS, type FullSnapshotPlan } from './full-snapshot.ts';
import { ChangeLog, writeDelta } from './keyed-delta.ts';
import { loadSnapshots } from './keyed-restore.ts';
import { ttlField } from './state-ttl.ts';
import { HeapTable, type KeyTable, type ValueCodec } from './key-table.ts';
import type { StateStore } from './state-store.ts';
import type { KvDatabase } from './kv-database.ts';
import { stateCodec } from './state-codec.ts';
import type { StateSerializer } from './state-serializer.ts';

export type { StateSerializer };

export const JSON_SERIALIZER: StateSerializer<unknown> = { toJSON: (v) => v, fromJSON: (j) => j };

export class KeyedState<V> {
  readonly name: string;
  readonly serializer: StateSerializer<V>;
  private base: number;
  /** Index kg − range.start. */
  readonly tables: (KeyTable<V> | undefined)[];
  /** Where a key group's table is made: a disk store, or the heap when undefined. */
  private readonly store: StateStore | undefined;
  private codec: ValueCodec<V> | undefined = undefined;
  /** A snapshot writes this state from that state's entries (KeyedStateBackend.derivedState). */
  writtenFrom: KeyedState<V> | undefined = undefined;
  /** Keys changed since the last snapshot, per table index; undefined while changes are not tracked. */
  private dirty: (Set<string> | undefined)[] | undefined = undefined;

  constructor(name: string, range: KeyGroupRange, serializer: StateSerializer<V>, store?: StateStore) {
    this.name = name;
    this.serializer = serializer;
    this.base = range.start;
    this.store = store;
    this.tables = new Array<KeyTable<V> | undefined>(Math.max(0, range.end - range.start + 1)).fill(undefined);
  }

  private newTable(kg: number): KeyTable<V> {
    if (!this.store) return new HeapTable<V>();
    this.codec ??= stateCodec(this);
    return this.store.table(this.name, kg, this.codec);
  }

  /**
   * The value of `key`. Callers may change a returned value in place, so with change tracking on
   * (incremental checkpoints) a key read here counts as changed; `peek` reads without that.
   */
  get(kg: number, key: string): V | undefined {
    const i = kg - this.base;
    const t = this.tables[i];
    if (t === undefined) return undefined;
    const v = t.get(key);
    if (v !== undefined) {
      t.touch(key);
      if (this.dirty !== undefined) this.mark(i, key);
    }
    return v;
  }

  /** The value of `key`, for a caller that does not change it (not counted as a change). */
  peek(kg: number, key: string): V | undefined {
    return this.tables[kg - this.base]?.get(key);
  }

  /** The key group of table index `i`. */
  keyGroupAt(i: number): number {
    return i + this.base;
  }

  /** Counts `key` as changed (a caller that changed its value through `table`). */
  touch(kg: number, key: string): void {
    this.tables[kg - this.base]?.touch(key);
    if (this.dirty !== undefined) this.mark(kg - this.base, key);
  }

  private mark(i: number, key: string): void {
    const d = this.dirty as (Set<string> | undefined)[];
    let set = d[i];
    if (!set) d[i] = set = new Set();
    set.add(key);
  }

  /** From now on, keeps the keys changed since the last `takeChanged` (incremental checkpoints). */
  trackChanges(): void {
    this.dirty ??= new Array<Set<string> | undefined>(this.tables.length).fill(undefined);
  }

  /** The keys changed since the last call, per key group (empty while not tracking); starts a new set. */
  takeChanged(): Map<number, Set<string>> {
    const out = new Map<number, Set<string>>();
    const d = this.dirty;
    if (!d) return out;
    for (let i = 0; i < d.length; i++) {
      const set = d[i];
      if (set) out.set(i + this.base, set);
    }
    d.fill(undefined);
    return out;
  }

  put(kg: number, key: string, value: V): void {
    const i = kg - this.base;
    if (i < 0 || i >= this.tables.length) {
      throw new TributaryError(
        'TRIB_INVARIANT',
        `key group ${kg} is outside this slot's range [${this.base}, ${this.base + this.tables.length - 1}] (state ${this.name})`,
      );
    }
    let t = this.tables[i];
    if (!t) this.tables[i] = t = this.newTable(kg);
    t.set(key, value);
    if (this.dirty !== undefined) this.mark(i, key);
  }

  /** The table of key group `kg` (created when missing); `kg` must be inside the range. */
  table(kg: number): KeyTable<V> {
    const i = kg - this.base;
    if (i < 0 || i >= this.tables.length) {
      throw new TributaryError(
        'TRIB_JOB_FAILED',
        `key group ${kg} is outside this slot's range [${this.base}, ${this.base + this.tables.length - 1}] (state ${this.name})`,
      );
    }
    let t = this.tables[i];
    if (!t) this.tables[i] = t = this.newTable(kg);
    return t;
  }

  delete(kg: number, key: string): void {
    const i = kg - this.base;
    if (this.tables[i]?.delete(key) === true && this.dirty !== undefined) this.mark(i, key);
  }

  /** Number of keys across all key groups. */
  get size(): number {
    let n = 0;
    for (const t of this.tables) n += t?.size ?? 0;
    return n;
  }

  *entries(): Generator<[number, string, V]> {
    for (let i = 0; i < this.tables.length; i++) {
      const t = this.tables[i];
      if (t) for (const [k, v] of t) yield [i + this.base, k, v];
    }
  }

  clear(): void {
    for (const t of this.tables) t?.drop();
    this.tables.fill(undefined);
    this.dirty?.fill(undefined);
  }

  /** Grows the tables to cover `range`, which must contain the current one (live rescale: key-group-handoff.ts). */
  widen(range: KeyGroupRange): void {
    const t = this.tables;
    const d = this.dirty;
    if (t.length === 0) this.base = range.start;
    if (range.start < this.base) {
      t.splice(0, 0, ...new Array<undefined>(this.base - range.start).fill(undefined));
      d?.splice(0, 0, ...new Array<undefined>(this.base - range.start).fill(undefined));
    }
    this.base = range.start;
    while (t.length < range.end - range.start + 1) t.push(undefined);
    while (d && d.length < t.length) d.push(undefined);
  }
}

/** What a restore hook is told changed: key groups loaded into a running backend, or given up. */
export interface RestoreScope {
  loaded?: readonly number[];
  dropped?: readonly number[];
}

export class KeyedStateBackend {
  readonly maxParallelism: number;
  /**
   * The key groups the tables span. Without a live rescale, exactly the key groups owned; a live
   * rescale (key-group-handoff.ts) widens it to take key groups in and leaves holes where it
   * gave some away, so ownership is `owned`, and a key group not owned has no entries.
   */
  private spanned: KeyGroupRange;
  /** 1 for each key group this backend holds, index = key group. */
  private readonly owned: Uint8Array;
  private readonly states = new Map<string, KeyedState<unknown>>();
  private readonly afterRestore: ((scope?: RestoreScope) => void)[] = [];
  /** Key groups adopted since the last restore: the next restore loads exactly those. */
  private adopting: number[] | undefined = undefined;
  private readonly beforeFull: ((only?: readonly number[]) => void)[] = [];
  /** Changed keys per snapshot, kept once incremental snapshots are on (trackChanges). */
  private changes: ChangeLog | undefined = undefined;
  /** Bytes of the last delta: the next one starts with a buffer that size. */
  private lastDeltaSize = 64 * 1024;

  /** Opens the store the states' tables live in (disk-store.ts), on the first state kept there; undefined: the heap. */
  private readonly openStore: (() => StateStore) | undefined;
  private store: StateStore | undefined = undefined;

  constructor(maxParallelism: number, range: KeyGroupRange, openStore?: () => StateStore) {
    this.maxParallelism = maxParallelism;
    this.openStore = openStore;
    this.spanned = range;
    this.owned = new Uint8Array(maxParallelism);
    if (range.end >= range.start) this.owned.fill(1, range.start, range.end + 1);
  }

  get range(): KeyGroupRange {
    return this.spanned;
  }

  owns(kg: number): boolean {
    return this.owned[kg] === 1;
  }

  /**
   * Takes key groups in: widens the tables over them and marks them owned. The caller
   * (key-group-handoff.ts) checked that none is owned already; their state comes by `restore`.
   */
  adoptKeyGroups(kgs: readonly number[]): void {
    if (kgs.length === 0) return;
    let { start, end } = this.spanned;
    if (end < start) [start, end] = [kgs[0] as number, kgs[0] as number];
    for (const kg of kgs) {
      if (kg < start) start = kg;
      if (kg > end) end = kg;
    }
    this.spanned = { start, end };
    for (const s of this.states.values()) s.widen(this.spanned);
    for (const kg of kgs) this.owned[kg] = 1;
    (this.adopting ??= []).push(...kgs);
    this.changes?.reset();
  }

  /**
   * Gives key groups up: their entries in every state go, then the restore hooks rebuild what
   * derives from the tables (timer queues: they rebuild from the tables, whatever they held).
   */
  releaseKeyGroups(kgs: readonly number[]): void {
    const start = this.spanned.start;
    for (const s of this.states.values())
      for (const kg of kgs) {
        s.tables[kg - start]?.drop();
        s.tables[kg - start] = undefined;
      }
    for (const kg of kgs) this.owned[kg] = 0;
    this.changes?.reset();
    for (const fn of this.afterRestore) fn({ dropped: kgs });
  }

  /**
   * The state `name`, made on first use. `heap`: kept on the heap whatever the store, for a
   * state whose values other structures hold across safe points (timer queues, windows).
   */
  state<V>(
    name: string,
    serializer: StateSerializer<V> = JSON_SERIALIZER as StateSerializer<V>,
    opts: { heap?: boolean } = {},
  ): KeyedState<V> {
    let s = this.states.get(name);
    if (!s) {
      if (!opts.heap && this.openStore) this.store ??= this.openStore();
      s = new KeyedState<V>(name, this.spanned, serializer, opts.heap ? undefined : this.store) as KeyedState<unknown>;
      if (this.changes) s.trackChanges();
      this.states.set(name, s);
    }
    return s as KeyedState<V>;
  }

  hasState(name: string): boolean {
    return this.states.has(name);
  }

  /**
   * A state a snapshot writes from `from`'s entries, with its own serializer over their values,
   * and a restore reads into its own tables (for `onRestore` to fold back into `from`): one
   * in-memory structure kept under two snapshot states, e.g. a window aggregate's timers, kept
   * on the windows they belong to but written as the `timers` state.
   */
  derivedState<V, S extends V>(name: string, from: KeyedState<S>, serializer: StateSerializer<V>): KeyedState<V> {
    const s = this.state<V>(name, serializer, { heap: true });
    s.writtenFrom = from as unknown as KeyedState<V>;
    return s;
  }

  /**
   * Components with derived structures (timer queues) rebuild them after a restore, or after key
   * groups were given up; `scope` says which key groups changed (undefined: any may have).
   */
  onRestore(fn: (scope?: RestoreScope) => void): void {
    this.afterRestore.push(fn);
  }

  /** Runs before every full snapshot (not a delta): TTL'd states drop their expired entries (ttl-state.ts). */
  beforeFullSnapshot(fn: (only?: readonly number[]) => void): void {
    this.beforeFull.push(fn);
  }

  /** From now on every change is tracked, so `snapshotFor` can write deltas (incremental checkpoints). */
  trackChanges(): void {
    if (this.changes) return;
    this.changes = new ChangeLog();
    for (const s of this.states.values()) s.trackChanges();
  }

  /**
   * The snapshot of checkpoint `id`: a delta on checkpoint `base`'s snapshot when changes are
   * tracked and this backend took that snapshot after its last reset, else a full snapshot.
   * Either way the keys changed up to now are captured, so a later delta may build on this one.
   * `later`: a full snapshot may be written off the barrier, from a view of the disk store fixed
   * now (the bytes are then a promise).
   */
  snapshotFor(id: number, base: number | undefined): { bytes: Uint8Array; delta: boolean };
  snapshotFor(
    id: number,
    base: number | undefined,
    later: true,
  ): { bytes: Uint8Array | Promise<Uint8Array>; delta: boolean };
  snapshotFor(
    id: number,
    base: number | undefined,
    later = false,
  ): { bytes: Uint8Array | Promise<Uint8Array>; delta: boolean } {
    if (!this.changes) return { bytes: this.fullSnapshot(later), delta: false };
    const states = [...this.states.values()];
    const changed = this.changes.capture(id, states, base);
    if (changed === undefined || base === undefined) return { bytes: this.fullSnapshot(later), delta: false };
    const bytes = writeDelta(
      { maxParallelism: this.maxParallelism, range: this.spanned, owned: this.ownedRuns(), base },
      states,
      changed,
      this.lastDeltaSize + (this.lastDeltaSize >> 3),
    );
    this.lastDeltaSize = this.written.delta = bytes.length;
    return { bytes, delta: true };
  }

  /** Keyed state may live in a disk store (spec.stateBackend: disk): `maintain` must run at safe points. */
  get onDisk(): boolean {
    return this.openStore !== undefined;
  }

  /** With the disk backend, an ordered index `name` in the step's store (timer queues); undefined on the heap. */
  orderedIndex(name: string): KvDatabase | undefined {
    if (!this.openStore) return undefined;
    this.store ??= this.openStore();
    return this.store.index(name);
  }

  /** A safe point (no caller holds a state value): a disk store writes back and evicts to its budget. */
  maintain(): void {
    this.store?.maintain();
  }

  /**
   * The disk store's bytes on the local volume and its cached entries; undefined while every state
   * is on the heap (the heap backend, or a step whose states are all kept there: windows, timers).
   */
  localStats(): { localBytes: number; cachedEntries: number } | undefined {
    return this.store?.stats();
  }

  /** Releases the store; `remove`: deletes its local files (the job or this slot ended). */
  close(remove = true): void {
    this.store?.close(remove);
  }

  /** Bytes of the last snapshot: the next one starts with a buffer that size (fewer regrowth copies). */
  private lastSnapshotSize = 64 * 1024;
  /** How long a slice of a full snapshot written from a view runs before it yields (full-snapshot.ts). */
  snapshotSliceMs = SLICE_MS;
  /** Bytes of the last full snapshot and the last delta (0: none yet), for the state gauges. */
  readonly written = { full: 0, delta: 0 };

  /** Keys held across every state (a derived state counts its own restored entries only). */
  keyCount(): number {
    let n = 0;
    for (const s of this.states.values()) if (!s.writtenFrom) n += s.size;
    return n;
  }

  /**
   * The key groups owned inside the span as runs, or undefined when that is the whole span (no
   * key group moved out): what a snapshot's header lists as `keyGroups`.
   */
  ownedRuns(): [number, number][] | undefined {
    const { start, end } = this.spanned;
    const owned: number[] = [];
    for (let kg = start; kg <= end; kg++) if (this.owned[kg] === 1) owned.push(kg);
    return owned.length === end - start + 1 ? undefined : keyGroupRuns(owned);
  }

  /**
   * A version 2 snapshot: per key group with state, per state, its entries in TVE. `only`
   * (ascending, owned: key-group-handoff.ts checks) limits it to those key groups, and its
   * header's range to theirs. The header lists the key groups owned (`keyGroups`) when they
   * are not its whole range.
   */
  snapshot(only?: readonly number[]): Uint8Array {
    const bytes = fullSnapshotNow(this.fullPlan(only));
    return only ? bytes : this.recordFull(bytes);
  }

  /**
   * A full snapshot as `snapshot()`, written from a read view of the disk store in slices while
   * the slot goes on (full-snapshot.ts), where every state can be; else now.
   */
  private fullSnapshot(later: boolean): Uint8Array | Promise<Uint8Array> {
    const store = this.store;
    const plan = this.fullPlan();
    const pending = later && store ? fullSnapshotLater(plan, () => store.readView()) : undefined;
    return pending ? pending.then((b) => this.recordFull(b)) : this.recordFull(fullSnapshotNow(plan));
  }

  /** A full snapshot of the whole backend was written: its size sizes the next one's buffer and the gauges. */
  private recordFull(bytes: Uint8Array): Uint8Array {
    this.lastSnapshotSize = this.written.full = bytes.length;
    return bytes;
  }

  /** What a full snapshot (of `only`) writes; runs the before-full hooks (TTL purges) first. */
  private fullPlan(only?: readonly number[]): FullSnapshotPlan {
    for (const fn of this.beforeFull) fn(only);
    const states = [...this.states.values()];
    const range = only
      ? { start: only[0] ?? 0, end: only.length > 0 ? (only[only.length - 1] as number) : -1 }
      : this.spanned;
    const runs = only ? keyGroupRuns(only) : this.ownedRuns();
    const listed = runs && !(runs.length === 1 && runs[0]?.[0] === range.start && runs[0][1] === range.end);
    const ttl = ttlField(states);
    const { start, end } = this.spanned;
    return {
      header: {
        format: 'tributary-keyed-state',
        version: fullSnapshotVersion(ttl),
        hash: HASH_FUNCTION,
        maxParallelism: this.maxParallelism,
        keyGroupRange: range,
        ...(listed ? { keyGroups: runs } : {}),
        states: states.map((s) => s.name),
        ...ttl,
      },
      states,
      kgs: only ?? Array.from({ length: Math.max(0, end - start + 1) }, (_, i) => start + i),
      base: start,
      sizeHint: only ? 64 * 1024 : this.lastSnapshotSize + (this.lastSnapshotSize >> 3),
      sliceMs: this.snapshotSliceMs,
    };
  }

  /**
   * Loads the key groups of this backend's range from any number of snapshots (e.g. all
   * slots of a job taken at another parallelism), of any readable version. States must be
   * registered first. A key group in two of them is refused (TRIB_STATE_CORRUPT): a checkpoint
   * holds each key group once, so that is a broken checkpoint, never state to merge — a file's
   * range is no proof of it once a live rescale moved key groups between slots.
   */
  restore(snapshots: readonly Uint8Array[]): void {
    const stateOf = (name: string): KeyedState<unknown> => {
      const s = this.states.get(name);
      if (!s)
        throw new TributaryError(
          'TRIB_STATE_INCOMPATIBLE',
          `snapshot holds state "${name}" that no operator registered`,
        );
      return s;
    };
    this.changes?.reset();
    // Right after adoptKeyGroups, the snapshots hold exactly the adopted key groups (a hand-off).
    const loaded = this.adopting;
    this.adopting = undefined;
    loadSnapshots(snapshots, {
      maxParallelism: this.maxParallelism,
      range: this.range,
      stateOf,
      has: (n) => this.states.has(n),
    });
    this.store?.endLoad();
    for (const fn of this.afterRestore) fn(loaded ? { loaded } : undefined);
  }
}

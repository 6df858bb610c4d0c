// Keyed state, partitioned by key group. Each named state keeps one Map per key group of
// this slot's range, so a snapshot is naturally grouped by key group and a restore can take
// any subset of groups. Keys are canonical key strings (key-groups.ts).
import { TributaryError } from '../errors.ts';
import { HASH_FUNCTION, type KeyGroupRange } from './key-groups.ts';
import { readSnapshot, readSnapshotHeader, writeSnapshot, type SnapshotEntry } from './snapshot-format.ts';

/** Converts a state value to and from a JSON-encodable value for snapshots. */
export interface StateSerializer<V> {
  toJSON(v: V): unknown;
  fromJSON(j: unknown): V;
}

export const JSON_SERIALIZER: StateSerializer<unknown> = { toJSON: (v) => v, fromJSON: (j) => j };

export class KeyedState<V> {
  readonly name: string;
  readonly serializer: StateSerializer<V>;
  private readonly base: number;
  /** Index kg − range.start. */
  readonly tables: (Map<string, V> | undefined)[];

  constructor(name: string, range: KeyGroupRange, serializer: StateSerializer<V>) {
    this.name = name;
    this.serializer = serializer;
    this.base = range.start;
    this.tables = new Array<Map<string, V> | undefined>(Math.max(0, range.end - range.start + 1)).fill(undefined);
  }

  get(kg: number, key: string): V | undefined {
    return this.tables[kg - this.base]?.get(key);
  }

  put(kg: number, key: string, value: V): void {
    const i = kg - this.base;
    if (i < 0 || i >= this.tables.length) {
      throw new TributaryError('TRIB_JOB_FAILED', `key group ${kg} is outside this slot's range [${this.base}, ${this.base + this.tables.length - 1}] (state ${this.name})`);
    }
    let t = this.tables[i];
    if (!t) this.tables[i] = t = new Map();
    t.set(key, value);
  }

  delete(kg: number, key: string): void {
    this.tables[kg - this.base]?.delete(key);
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
    this.tables.fill(undefined);
  }
}

export class KeyedStateBackend {
  readonly maxParallelism: number;
  readonly range: KeyGroupRange;
  private readonly states = new Map<string, KeyedState<unknown>>();
  private readonly beforeSnapshot: (() => void)[] = [];
  private readonly afterRestore: (() => void)[] = [];

  constructor(maxParallelism: number, range: KeyGroupRange) {
    this.maxParallelism = maxParallelism;
    this.range = range;
  }

  state<V>(name: string, serializer: StateSerializer<V> = JSON_SERIALIZER as StateSerializer<V>): KeyedState<V> {
    let s = this.states.get(name);
    if (!s) {
      s = new KeyedState<V>(name, this.range, serializer) as KeyedState<unknown>;
      this.states.set(name, s);
    }
    return s as KeyedState<V>;
  }

  /** Hooks let components with derived in-memory structures (timer heaps) write and rebuild state. */
  onSnapshot(fn: () => void): void {
    this.beforeSnapshot.push(fn);
  }

  onRestore(fn: () => void): void {
    this.afterRestore.push(fn);
  }

  snapshot(): Uint8Array {
    for (const fn of this.beforeSnapshot) fn();
    const n = this.range.end - this.range.start + 1;
    const groups: [number, SnapshotEntry[]][] = [];
    for (let i = 0; i < n; i++) {
      const entries: SnapshotEntry[] = [];
      for (const s of this.states.values()) {
        const t = s.tables[i];
        if (t) for (const [key, v] of t) entries.push({ state: s.name, key, value: s.serializer.toJSON(v) });
      }
      if (entries.length > 0) groups.push([i + this.range.start, entries]);
    }
    return writeSnapshot(
      { format: 'tributary-keyed-state', version: 1, hash: HASH_FUNCTION, maxParallelism: this.maxParallelism, keyGroupRange: this.range, states: [...this.states.keys()] },
      groups,
    );
  }

  /**
   * Loads the key groups of this backend's range from any number of snapshots (e.g. all
   * slots of a job taken at another parallelism). States must be registered first.
   */
  restore(snapshots: readonly Uint8Array[]): void {
    for (const bytes of snapshots) {
      const h = readSnapshotHeader(bytes);
      if (h.maxParallelism !== this.maxParallelism) {
        throw new TributaryError('TRIB_STATE_INCOMPATIBLE', `snapshot has maxParallelism ${h.maxParallelism}, this job has ${this.maxParallelism}; maxParallelism cannot change`);
      }
      if (h.hash !== HASH_FUNCTION) throw new TributaryError('TRIB_STATE_INCOMPATIBLE', `snapshot key hash ${h.hash} differs from ${HASH_FUNCTION}`);
    }
    for (const bytes of snapshots) {
      for (const [kg, e] of readSnapshot(bytes, this.range)) {
        const s = this.states.get(e.state);
        if (!s) throw new TributaryError('TRIB_STATE_INCOMPATIBLE', `snapshot holds state "${e.state}" that no operator registered`);
        s.put(kg, e.key, s.serializer.fromJSON(e.value));
      }
    }
    for (const fn of this.afterRestore) fn();
  }
}

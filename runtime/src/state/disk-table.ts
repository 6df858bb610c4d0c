// One key group of one keyed state in a disk store (disk-store.ts): the entries live in lmdb
// under `[kg u16 BE][key UTF-8]`, and the values the job is using live decoded in a write-back
// cache in front. Nothing but this table writes its key range, so the cache is authoritative for
// the keys it holds and lmdb for the others.
//
// Invariants:
// - a cached value is the object callers got from `get`, kept until the store's safe point
//   (maintain), never evicted while a caller may hold it;
// - `dirty` lists exactly the keys whose cache entry differs from lmdb (a changed value or a
//   removal, GONE); a flush writes them and leaves only clean entries;
// - `count` is the number of keys in the table: lmdb's plus the cache's inserts minus its removals.
import { removeRange, type KvDatabase, type KvRange } from './kv-database.ts';
import type { KeyTable, ReadView, StoredEntry, ValueCodec } from './key-table.ts';

/** A removal not yet written to lmdb. */
const GONE = Symbol('gone');

interface Cached<V> {
  v: V;
  /** Read since the last eviction pass looked at it (second chance). */
  ref: boolean;
}

/** What a table needs of its store (disk-store.ts). */
export interface TableHost {
  /** Entries cached across the store's tables. */
  cached: number;
  /** Bumps when lmdb changes under the tables (flush, eviction, drop): iterators re-read. */
  epoch: number;
  /** `[kg][key]` in a shared buffer, valid until the next call. */
  keyBytes(kg: number, key: string): Buffer;
  /** Writes `t`'s dirty entries now (one transaction). */
  flushTable(t: DiskTable<unknown>): void;
  dirtied(t: DiskTable<unknown>): void;
  /** `t` was dropped: the store no longer flushes or evicts it. */
  forget(t: DiskTable<unknown>): void;
  queueLoad(db: KvDatabase, key: Buffer, value: Uint8Array | undefined, t: DiskTable<unknown>): void;
}

/** Entries read from lmdb per batch when a table is iterated. */
const ITERATION_BATCH = 512;

export class DiskTable<V> implements KeyTable<V> {
  readonly kg: number;
  private readonly host: TableHost;
  private readonly db: KvDatabase;
  private readonly codec: ValueCodec<V>;
  private readonly cache = new Map<string, Cached<V> | typeof GONE>();
  private readonly dirty = new Set<string>();
  private count = 0;
  /** The last key `get` found in neither the cache nor lmdb: a `set` of it right after needs no lookup. */
  private absent: string | undefined = undefined;

  constructor(host: TableHost, db: KvDatabase, kg: number, codec: ValueCodec<V>) {
    this.host = host;
    this.db = db;
    this.kg = kg;
    this.codec = codec;
  }

  get size(): number {
    return this.count;
  }

  get(key: string): V | undefined {
    const c = this.cache.get(key);
    if (c !== undefined) {
      if (c === GONE) return undefined;
      c.ref = true;
      return c.v;
    }
    const bytes = this.db.getBinary(this.host.keyBytes(this.kg, key));
    if (bytes === undefined) {
      this.absent = key;
      return undefined;
    }
    const v = this.codec.decode(bytes);
    this.cache.set(key, { v, ref: false });
    this.host.cached++;
    return v;
  }

  read(key: string): V | undefined {
    const c = this.cache.get(key);
    if (c !== undefined) return c === GONE ? undefined : c.v;
    const bytes = this.db.getBinary(this.host.keyBytes(this.kg, key));
    return bytes === undefined ? undefined : this.codec.decode(bytes);
  }

  set(key: string, value: V): void {
    const c = this.cache.get(key);
    if (c === undefined || c === GONE) {
      if (c === GONE || key === this.absent || !this.db.doesExist(this.host.keyBytes(this.kg, key))) this.count++;
      this.absent = undefined;
      if (c === undefined) this.host.cached++;
      this.cache.set(key, { v: value, ref: true });
    } else c.v = value;
    this.markDirty(key);
  }

  delete(key: string): boolean {
    const c = this.cache.get(key);
    if (c === GONE) return false;
    if (c === undefined) {
      if (!this.db.doesExist(this.host.keyBytes(this.kg, key))) return false;
      this.host.cached++;
    }
    this.cache.set(key, GONE);
    this.count--;
    this.markDirty(key);
    return true;
  }

  touch(key: string): void {
    const c = this.cache.get(key);
    if (c !== undefined && c !== GONE) this.markDirty(key);
  }

  private markDirty(key: string): void {
    if (this.dirty.size === 0) this.host.dirtied(this as DiskTable<unknown>);
    this.dirty.add(key);
  }

  load(key: string, value: V | undefined): void {
    this.absent = undefined;
    this.forgetCached(key);
    // encode's bytes are valid until its next call: the queue keeps a copy.
    const bytes = value === undefined ? undefined : Buffer.from(this.codec.encode(value));
    this.host.queueLoad(this.db, Buffer.from(this.host.keyBytes(this.kg, key)), bytes, this as DiskTable<unknown>);
  }

  loadStored(key: Uint8Array, value: Uint8Array): void {
    this.absent = undefined;
    const text = (): string => Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('utf8');
    if (this.cache.size > 0) this.forgetCached(text());
    // keyBytes refuses a key longer than lmdb takes, naming it.
    const k = key.length > 256 ? this.host.keyBytes(this.kg, text()) : undefined;
    const full = Buffer.allocUnsafe(2 + key.length);
    if (k) k.copy(full);
    else {
      full[0] = this.kg >> 8;
      full[1] = this.kg & 255;
      full.set(key, 2);
    }
    this.host.queueLoad(this.db, full, value, this as DiskTable<unknown>);
  }

  /** A restore replaces `key`: the cache's entry (and pending change) of it goes. */
  private forgetCached(key: string): void {
    if (!this.cache.has(key)) return;
    this.cache.delete(key);
    this.dirty.delete(key);
    this.host.cached--;
  }

  /** After queued loads were written: the key count from lmdb (the cache holds no change then). */
  recount(): void {
    let n = this.db.getKeysCount(this.range());
    for (const [key, c] of this.cache) {
      if (!this.dirty.has(key)) continue;
      const inDb = this.db.doesExist(this.host.keyBytes(this.kg, key));
      if (c === GONE && inDb) n--;
      else if (c !== GONE && !inDb) n++;
    }
    this.count = n;
  }

  /** Writes the dirty entries (inside the store's write transaction). */
  writeBack(): void {
    for (const key of this.dirty) {
      const c = this.cache.get(key);
      const k = this.host.keyBytes(this.kg, key);
      if (c === GONE) {
        this.db.removeSync(k);
        this.cache.delete(key);
        this.host.cached--;
      } else if (c !== undefined) this.db.putSync(k, this.codec.encode(c.v));
    }
    this.dirty.clear();
  }

  /** Drops up to `n` clean entries, giving recently read ones a second chance; returns how many went. */
  evict(n: number): number {
    let dropped = 0;
    let looked = 0;
    const limit = this.cache.size * 2;
    for (const [key, c] of this.cache) {
      if (dropped >= n || looked++ >= limit) break;
      if (c === GONE || this.dirty.has(key)) continue;
      this.cache.delete(key);
      if (c.ref) {
        c.ref = false;
        this.cache.set(key, c);
      } else dropped++;
    }
    this.host.cached -= dropped;
    return dropped;
  }

  get cachedEntries(): number {
    return this.cache.size;
  }

  drop(): void {
    this.absent = undefined;
    this.host.cached -= this.cache.size;
    this.cache.clear();
    this.dirty.clear();
    removeRange(this.db, this.range());
    this.count = 0;
    this.host.epoch++;
    this.host.forget(this as DiskTable<unknown>);
  }

  private range(after?: Buffer): { start: Buffer; end: Buffer; limit?: number } {
    const start = Buffer.from([this.kg >> 8, this.kg & 255]);
    const end = Buffer.from([(this.kg + 1) >> 8, (this.kg + 1) & 255]);
    return { start: after ? Buffer.concat([after, Buffer.from([0])]) : start, end };
  }

  entries(): IterableIterator<[string, V]> {
    return this.iterate();
  }

  stored(view?: ReadView): Iterable<StoredEntry> | undefined {
    if (!this.codec.asSnapshot) return undefined;
    if (!view) this.host.flushTable(this as DiskTable<unknown>);
    // lmdb-js reads a range through the transaction given as `transaction` (a view's, fixed at its start).
    const getRange = this.db.getRange.bind(this.db) as (
      r: KvRange & { transaction?: unknown },
    ) => Iterable<StoredEntry>;
    return getRange({ ...this.range(), ...(view ? { transaction: view.txn } : {}) });
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.iterate();
  }

  /**
   * Every entry: the cache's value where it holds the key, else lmdb's. Reads lmdb in batches
   * after a flush, and re-reads from the last key when lmdb changed in between (a visitor that
   * keeps the iterator across safe points: the TTL sweep), so it never returns a removed key or
   * a stale value. Keys added while it runs may be missed.
   */
  private *iterate(): Generator<[string, V]> {
    this.host.flushTable(this as DiskTable<unknown>);
    let after: Buffer | undefined;
    for (;;) {
      const epoch = this.host.epoch;
      const batch = [...this.db.getRange({ ...this.range(after), limit: ITERATION_BATCH })] as {
        key: Buffer;
        value: Uint8Array;
      }[];
      if (batch.length === 0) return;
      for (const { key: k, value } of batch) {
        if (this.host.epoch !== epoch) break;
        after = k;
        const key = k.toString('utf8', 2);
        const c = this.cache.get(key);
        if (c === GONE) continue;
        yield [key, c !== undefined ? c.v : this.codec.decode(value)];
      }
      if (batch.length < ITERATION_BATCH && this.host.epoch === epoch) return;
    }
  }
}

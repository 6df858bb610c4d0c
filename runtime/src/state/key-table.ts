// One key group of one keyed state: what KeyedState keeps per key group, on the heap (a Map) or
// in a disk store behind a write-back cache (disk-table.ts).
//
// Invariant shared by both: a value returned by `get` is the stored object itself, and stays
// valid (changes made to it in place are kept once `touch` says so) until the next safe point
// (`StateStore.maintain`), where nothing holds a value; only there may a store evict it.

/** A read transaction fixed at a point in time: reads through it see the store as it was then. */
export interface ReadView {
  /** The store's transaction object (a table passes it to its range reads). */
  readonly txn: unknown;
  /** Throws when the store was closed meanwhile (the step ended): what is read is moot. */
  check(): void;
  /** Releases the view (once; later calls do nothing). */
  done(): void;
}

/** An entry as a disk store keeps it: `[kg u16][key UTF-8]`, and the value's bytes. */
export interface StoredEntry {
  key: Buffer;
  value: Uint8Array;
}

export interface KeyTable<V> {
  /** Keys held. */
  readonly size: number;
  /** The value (the stored object; the caller may change it in place and then `touch` the key). */
  get(key: string): V | undefined;
  /**
   * The value for a reader that neither changes it nor keeps it past the call (a delta
   * snapshot): a store that caches leaves its cache as it was (no entry added, none refreshed).
   */
  read(key: string): V | undefined;
  set(key: string, value: V): void;
  /** Removes the key; true when it was there. */
  delete(key: string): boolean;
  /** The value last returned for `key` was changed in place (heap: nothing to do). */
  touch(key: string): void;
  /**
   * Restore: sets (undefined: removes) an entry without the caches a running job uses; keeps no
   * reference to `value`.
   */
  load(key: string, value: V | undefined): void;
  /**
   * Restore, where the store keeps a snapshot's bytes (the disk): as `load`, from the key's UTF-8
   * and the value's TVE as a snapshot holds them, not decoded. Both stay the caller's, unchanged,
   * until the restore's loads are written (StateStore.endLoad).
   */
  loadStored?(key: Uint8Array, value: Uint8Array): void;
  /**
   * Every entry; the visitor may set or delete the visited key only. A value it gets here is the
   * stored object only on the heap: a change to it must be written with `set`.
   */
  entries(): IterableIterator<[string, V]>;
  [Symbol.iterator](): IterableIterator<[string, V]>;
  /** This key group leaves the store (rescale release, clear): its entries go. */
  drop(): void;
  /**
   * Every entry as the store keeps it, when those are a snapshot's bytes (ValueCodec.asSnapshot),
   * else undefined: read from `view` (lazily, as the caller iterates), or without one from the
   * store now, flushed first (the caller iterates to the end before anything writes).
   */
  stored?(view?: ReadView): Iterable<StoredEntry> | undefined;
}

/** The heap's table: a Map, whose values are the objects themselves. */
export class HeapTable<V> extends Map<string, V> implements KeyTable<V> {
  read(key: string): V | undefined {
    return this.get(key);
  }

  touch(_key: string): void {}

  load(key: string, value: V | undefined): void {
    if (value === undefined) this.delete(key);
    else this.set(key, value);
  }

  drop(): void {
    this.clear();
  }
}

/** Makes the table of key group `kg` of state `name`: where a KeyedState's entries live. */
export interface TableFactory {
  table<V>(name: string, kg: number, codec: ValueCodec<V>): KeyTable<V>;
}

/** How a store that keeps bytes encodes one state's values (the state's serializer). */
export interface ValueCodec<V> {
  encode(v: V): Uint8Array;
  decode(bytes: Uint8Array): V;
  /**
   * Every value encoded so far has the bytes a snapshot writes for it (no Date kept as a Date),
   * so a snapshot may copy stored bytes instead of decoding and encoding them again.
   */
  readonly asSnapshot: boolean;
}

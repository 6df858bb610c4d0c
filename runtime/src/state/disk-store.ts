// A stateful step's keyed state on the slot's local disk (spec.stateBackend: disk): one lmdb
// environment per step and slot, one sub-database per state, keys `[kg u16 BE][key UTF-8]`,
// values in the state serializer's TVE. It is only a cache of what checkpoints hold, so it is
// opened empty, never synced (noSync: a crash loses it, and a restore rebuilds it), and removed
// when the step ends.
//
// Memory: decoded values sit in a write-back cache of at most `cacheEntries` clean entries per
// step after each safe point (maintain); dirty entries are written back at flushes (a
// snapshot, an iteration, or maintain when over budget). lmdb itself keeps no cache: its pages
// are the kernel's page cache (reclaimable, but counted in the pod's memory).
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import { TributaryError } from '../errors.ts';
import { DiskTable, type TableHost } from './disk-table.ts';
import type { KeyTable, ReadView, ValueCodec } from './key-table.ts';
import type { KvDatabase } from './kv-database.ts';
import type { StateStore } from './state-store.ts';

export type { StateStore };
import { getHeapStatistics } from 'node:v8';
import { defaultCacheEntries, type StateBackendOptions } from './state-backend-options.ts';

/** lmdb's key size limit (bytes), less the 2 bytes of the key group. */
const MAX_KEY_BYTES = 1978 - 2;
/** Named states one step may keep in a store (lmdb sub-databases; the root takes none of them). */
const MAX_STATES = 256;
/** Restored entries written per transaction. */
const LOAD_BATCH = 8192;
/** An eviction pass brings the cache down to this share of its budget, so passes are rare. */
const EVICT_TO = 0.75;

export class DiskStore implements StateStore, TableHost {
  readonly dir: string;
  private readonly env: RootDatabase;
  private readonly dbs = new Map<string, KvDatabase>();
  private readonly budget: number;
  private readonly all: DiskTable<unknown>[] = [];
  private readonly dirtyTables = new Set<DiskTable<unknown>>();
  private readonly loads: [KvDatabase, Buffer, Uint8Array | undefined][] = [];
  private readonly loaded = new Set<DiskTable<unknown>>();
  private readonly keyBuf = Buffer.allocUnsafe(2 + MAX_KEY_BYTES);
  private closed = false;
  /** Read views not yet done: the environment closes once the last one is (close waits for none). */
  private views = 0;
  private closing: (() => void) | undefined = undefined;
  cached = 0;
  epoch = 0;

  /** Opens a fresh store in a new directory under `parent` (default: the OS temp dir). */
  constructor(parent: string | undefined, cacheEntries = defaultCacheEntries(getHeapStatistics().heap_size_limit)) {
    this.budget = cacheEntries;
    try {
      const base = parent ?? tmpdir();
      mkdirSync(base, { recursive: true });
      this.dir = mkdtempSync(join(base, 'keyed-'));
      this.env = open({ path: this.dir, noSync: true, noMetaSync: true, maxDbs: MAX_STATES, compression: false });
    } catch (cause) {
      throw new TributaryError(
        'TRIB_STATE_LOCAL_STORE',
        `cannot open the local state store under ${parent ?? tmpdir()}`,
        {
          cause,
        },
      );
    }
  }

  table<V>(name: string, kg: number, codec: ValueCodec<V>): KeyTable<V> {
    const t = new DiskTable<V>(this, this.db(name), kg, codec);
    this.all.push(t as DiskTable<unknown>);
    return t;
  }

  index(name: string): KvDatabase {
    // A character no state name holds keeps indexes apart from states.
    return this.db(`\u0001${name}`);
  }

  private db(name: string): KvDatabase {
    this.open();
    let db = this.dbs.get(name);
    if (!db) {
      try {
        db = this.env.openDB({ name, encoding: 'binary', keyEncoding: 'binary', compression: false });
      } catch (cause) {
        throw new TributaryError(
          'TRIB_STATE_LOCAL_STORE',
          `cannot open state "${name}" in the local state store ${this.dir} (at most ${MAX_STATES} states per step)`,
          { cause },
        );
      }
      this.dbs.set(name, db);
    }
    return db;
  }

  keyBytes(kg: number, key: string): Buffer {
    const b = this.keyBuf;
    b[0] = kg >> 8;
    b[1] = kg & 255;
    if (key.length * 3 > MAX_KEY_BYTES && Buffer.byteLength(key) > MAX_KEY_BYTES)
      throw new TributaryError(
        'TRIB_STATE_KEY_TOO_LONG',
        `a key of ${Buffer.byteLength(key)} bytes is longer than the disk state backend's limit of ${MAX_KEY_BYTES} (key starts ${JSON.stringify(key.slice(0, 60))}); use a shorter key or the heap backend`,
      );
    const n = b.write(key, 2, 'utf8');
    return b.subarray(0, 2 + n);
  }

  dirtied(t: DiskTable<unknown>): void {
    this.dirtyTables.add(t);
  }

  flushTable(t: DiskTable<unknown>): void {
    this.open();
    if (!this.dirtyTables.delete(t)) return;
    this.env.transactionSync(() => t.writeBack());
    this.epoch++;
  }

  forget(t: DiskTable<unknown>): void {
    this.dirtyTables.delete(t);
    const i = this.all.indexOf(t);
    if (i >= 0) this.all.splice(i, 1);
  }

  /** Refuses use after close (a snapshot asked for once the job ended): the files are gone. */
  private open(): void {
    if (this.closed)
      throw new TributaryError('TRIB_STATE_LOCAL_STORE', `the local state store ${this.dir} is closed: the step ended`);
  }

  flush(): void {
    this.open();
    if (this.dirtyTables.size === 0) return;
    const tables = [...this.dirtyTables];
    this.dirtyTables.clear();
    this.env.transactionSync(() => {
      for (const t of tables) t.writeBack();
    });
    this.epoch++;
  }

  readView(): ReadView {
    this.flush();
    const txn = (this.env as unknown as { useReadTransaction(): { done(): void } }).useReadTransaction();
    this.views++;
    let open = true;
    return {
      txn,
      check: () => this.open(),
      done: () => {
        if (!open) return;
        open = false;
        txn.done();
        if (--this.views === 0) this.closing?.();
      },
    };
  }

  maintain(): void {
    if (this.cached <= this.budget) return;
    this.flush();
    let excess = this.cached - Math.floor(this.budget * EVICT_TO);
    const tables = this.all.filter((t) => t.cachedEntries > 0);
    // Each table gives up its share of the excess, so no key group's hot entries go first.
    for (const t of tables) {
      if (excess <= 0) break;
      excess -= t.evict(Math.ceil((excess * t.cachedEntries) / Math.max(1, this.cached)) + 1);
    }
    this.epoch++;
  }

  queueLoad(db: KvDatabase, key: Buffer, value: Uint8Array | undefined, t: DiskTable<unknown>): void {
    this.loads.push([db, key, value]);
    this.loaded.add(t);
    if (this.loads.length >= LOAD_BATCH) this.writeLoads();
  }

  private writeLoads(): void {
    const loads = this.loads.splice(0);
    this.env.transactionSync(() => {
      for (const [db, k, v] of loads) {
        if (v === undefined) db.removeSync(k);
        else db.putSync(k, v);
      }
    });
    this.epoch++;
  }

  endLoad(): void {
    if (this.loads.length > 0) this.writeLoads();
    for (const t of this.loaded) t.recount();
    this.loaded.clear();
  }

  stats(): { localBytes: number; cachedEntries: number } {
    let localBytes = 0;
    if (!this.closed) for (const f of readdirSync(this.dir)) localBytes += statSync(join(this.dir, f)).blocks * 512;
    return { localBytes, cachedEntries: this.cached };
  }

  close(remove: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.closing = () => {
      try {
        // Only synchronous transactions ran, so nothing is left for the close to wait for.
        void this.env.close();
      } finally {
        if (remove) rmSync(this.dir, { recursive: true, force: true });
      }
    };
    // A snapshot reading a view fails at its next slice (check) and releases it; then the store goes.
    if (this.views === 0) this.closing();
  }
}

/** An operator context's `stateStore`: with the disk backend, a fresh local store per stateful step and slot. */
export function storeOpener(b: StateBackendOptions | undefined): { stateStore?: () => StateStore } {
  if (b?.kind !== 'disk') return {};
  return { stateStore: () => new DiskStore(b.dir, b.cacheEntries) };
}

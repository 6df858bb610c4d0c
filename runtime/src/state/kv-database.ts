// The part of an lmdb sub-database (lmdb-js `Database`) the disk store uses, as our own type:
// the runtime's published declarations name this instead of lmdb's types, whose `export =`
// a user's ESM project cannot type-check (TS1203) when it checks libraries (skipLibCheck false);
// and what the store does with one beyond single calls.
export interface KvRange {
  start: Buffer;
  end: Buffer;
  limit?: number;
}

export interface KvDatabase {
  getBinary(key: Buffer): Buffer | undefined;
  doesExist(key: Buffer): boolean;
  putSync(key: Buffer, value: Uint8Array): void;
  removeSync(key: Buffer): boolean;
  getKeysCount(range: KvRange): number;
  getKeys(range: KvRange): Iterable<unknown>;
  getRange(range: KvRange): Iterable<{ key: unknown; value: unknown }>;
  transactionSync<T>(fn: () => T): T;
  clearSync(): void;
}

/** Removes every key of `range` from `db` in one transaction; returns how many went. */
export function removeRange(db: KvDatabase, range: KvRange): number {
  const keys = [...db.getKeys(range)] as Buffer[];
  if (keys.length > 0) db.transactionSync(() => keys.forEach((k) => db.removeSync(k)));
  return keys.length;
}

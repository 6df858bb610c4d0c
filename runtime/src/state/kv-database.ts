// The part of an lmdb sub-database (lmdb-js `Database`) the disk store uses, as our own type:
// the runtime's published declarations name this instead of lmdb's types, whose `export =`
// a user's ESM project cannot type-check (TS1203) when it checks libraries (skipLibCheck false).
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

// The interface of the storage every checkpoint and savepoint goes through: the local filesystem or an
// S3-compatible object store, chosen by the location's form (state-uri.ts).
//
// Fails closed: an absent object or folder is an answer (undefined / []), every other failure
// (permissions, I/O, network, an S3 error) is a TributaryError naming the location and its cause,
// so no caller can mistake "could not look" for "nothing there" and restore older state or none.
export interface RangeRead {
  bytes: Uint8Array;
  size: number | undefined;
}

export interface StateStore {
  /** Writes a whole object, durable on return (fsync / S3 acknowledged); overwrites. */
  write(location: string, body: Uint8Array): Promise<void>;
  /**
   * The commit point: writes `body` only if nothing is at `location` (S3: `If-None-Match: *`;
   * filesystem: a temporary file, fsync, rename, fsync of the folder). Two writers can never
   * both commit the same location on S3; on a filesystem the last rename wins (one job writes
   * one folder).
   */
  commit(location: string, body: Uint8Array): Promise<void>;
  /** The object's bytes; undefined iff it does not exist. */
  read(location: string): Promise<Uint8Array | undefined>;
  /**
   * Up to `length` bytes from byte `offset` (S3: a ranged GET; filesystem: a positioned read);
   * undefined iff the object does not exist. Fewer bytes when the object ends sooner; `size` is
   * the whole object's size (undefined when the range starts past its end), so a reader can
   * tell a truncated or replaced object from the one it indexed.
   */
  readRange(location: string, offset: number, length: number): Promise<RangeRead | undefined>;
  exists(location: string): Promise<boolean>;
  /** Names of the direct children (files and folders) of a folder/prefix; [] if it does not exist. */
  list(location: string): Promise<string[]>;
  /** Removes one object; absent is fine. */
  remove(location: string): Promise<void>;
  /** Removes a folder/prefix and everything under it; absent is fine. */
  removeTree(location: string): Promise<void>;
  /**
   * Removes a folder only if it is empty; absent or not empty is fine (it stays). Object stores
   * have no folders: a prefix with no objects is gone already, so S3 does nothing. Retention uses
   * it so that a file written into a folder after it was listed is never removed unseen.
   */
  removeEmptyFolder(location: string): Promise<void>;
}

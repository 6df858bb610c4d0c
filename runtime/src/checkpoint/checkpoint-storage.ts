// The checkpoint/savepoint layout under `stateDir`, a local path or an `s3://bucket/prefix` URI
// (storage/state-store.ts reaches either):
//
//   <stateDir>/checkpoints/chk-<id>/_metadata.json + state files
//   <stateDir>/savepoints/sp-<id>/_metadata.json  + state files
//
// A folder without `_metadata.json` is not a checkpoint: the metadata is written last, by the
// store's commit (atomic rename on a filesystem, a conditional `If-None-Match: *` PUT on S3), so
// it exists only once every state file it references is durable. That is the commit point.
// Listing fails closed: a folder that cannot be read is an error, never "no checkpoints".
import { createHash } from 'node:crypto';
import { pruneCheckpoints, type PinnedFile, type PruneResult } from './checkpoint-retention.ts';
import type { CheckpointKind } from './messages.ts';
import { METADATA_FILE } from './metadata-file.ts';
import { stateStoreFor } from './storage/state-store-for.ts';
import { childOf, normalizeLocation } from './storage/state-uri.ts';
import { RemovedFiles } from './removed-files.ts';

export { writeDurable } from './storage/fs-state-store.ts';
export { METADATA_FILE };

export interface StoredFile {
  file: string;
  size: number;
  sha256: string;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface CompletedCheckpointRef {
  id: number;
  kind: CheckpointKind;
  /** The checkpoint's location: an absolute path or an s3:// URI. */
  path: string;
}

export class CheckpointStorage {
  readonly root: string;

  constructor(stateDir: string) {
    this.root = normalizeLocation(stateDir);
  }

  dirFor(kind: CheckpointKind, id: number): string {
    return kind === 'checkpoint'
      ? childOf(this.root, 'checkpoints', `chk-${id}`)
      : childOf(this.root, 'savepoints', `sp-${id}`);
  }

  /** The folder a checkpoint's files go to (object stores have no folders to create). */
  async prepare(kind: CheckpointKind, id: number): Promise<string> {
    return Promise.resolve(this.dirFor(kind, id));
  }

  /** Writes one state file into a checkpoint folder. */
  static async writeStateFile(dir: string, file: string, bytes: Uint8Array): Promise<StoredFile> {
    await stateStoreFor(dir).write(childOf(dir, file), bytes);
    return { file, size: bytes.length, sha256: sha256Hex(bytes) };
  }

  /** The commit point: the metadata, last, written only if absent. */
  static async commitMetadata(dir: string, metadata: unknown): Promise<void> {
    await stateStoreFor(dir).commit(
      childOf(dir, METADATA_FILE),
      new TextEncoder().encode(JSON.stringify(metadata, null, 1)),
    );
  }

  /** Folders of one kind, complete or not, oldest id first (names that are not `chk-<id>`/`sp-<id>` are skipped). */
  async folders(kind: CheckpointKind): Promise<{ id: number; path: string; complete: boolean }[]> {
    const parent = childOf(this.root, kind === 'checkpoint' ? 'checkpoints' : 'savepoints');
    const prefix = kind === 'checkpoint' ? 'chk-' : 'sp-';
    const store = stateStoreFor(parent);
    const names = await store.list(parent);
    const out: { id: number; path: string; complete: boolean }[] = [];
    for (const n of names) {
      if (!n.startsWith(prefix)) continue;
      const id = Number(n.slice(prefix.length));
      if (!Number.isSafeInteger(id)) continue;
      const path = childOf(parent, n);
      out.push({ id, path, complete: await store.exists(childOf(path, METADATA_FILE)) });
    }
    return out.sort((a, b) => a.id - b.id);
  }

  /** Highest id of any checkpoint or savepoint folder, complete or not (ids never repeat). */
  async maxIdUsed(): Promise<number> {
    let max = 0;
    for (const k of ['checkpoint', 'savepoint'] as const)
      for (const e of await this.folders(k)) max = Math.max(max, e.id);
    return max;
  }

  /** Completed checkpoints, oldest first. */
  async completedCheckpoints(): Promise<CompletedCheckpointRef[]> {
    return (await this.folders('checkpoint'))
      .filter((e) => e.complete)
      .map((e) => ({ id: e.id, kind: 'checkpoint' as const, path: e.path }));
  }

  /** Completed savepoints, oldest first (ids share one sequence with checkpoints). */
  async completedSavepoints(): Promise<CompletedCheckpointRef[]> {
    return (await this.folders('savepoint'))
      .filter((e) => e.complete)
      .map((e) => ({ id: e.id, kind: 'savepoint' as const, path: e.path }));
  }

  async latestCompletedCheckpoint(): Promise<CompletedCheckpointRef | undefined> {
    const all = await this.completedCheckpoints();
    return all[all.length - 1];
  }

  /**
   * File keys (`chk-<id>/<file>`) pruning removed from this state directory through this object,
   * each added before its delete was awaited: a checkpoint whose acks reference one must not
   * complete (its file is gone or going).
   */
  readonly removedFiles = new RemovedFiles();

  /**
   * Retention, file by file (checkpoint-retention.ts): keeps the newest `retained` completed
   * checkpoints and `keepId` whole; drops the other completed ones (their metadata first); in
   * every dropped or abandoned folder at or below the newest completed id removes each file no
   * kept checkpoint references and `pinned` does not claim; removes a folder once it is empty.
   * A metadata it cannot read throws before anything is removed. `stopped` (no slot runs on this
   * state): abandoned folders above the newest go too, and unreferenced files of kept folders.
   */
  async prune(retained: number, keepId?: number, pinned?: PinnedFile, stopped?: boolean): Promise<PruneResult> {
    return pruneCheckpoints(await this.folders('checkpoint'), {
      retained,
      keepId,
      pinned,
      removedFiles: this.removedFiles,
      stopped,
    });
  }

  /**
   * Deletes a checkpoint or savepoint: its metadata first, so a deletion interrupted half-way
   * leaves an uncommitted folder (ignored, pruned later), never a "complete" one missing files.
   */
  static async discard(dir: string): Promise<void> {
    const store = stateStoreFor(dir);
    await store.remove(childOf(dir, METADATA_FILE));
    await store.removeTree(dir);
  }
}

/**
 * The `stateDir` a checkpoint or savepoint folder was written under (`<stateDir>/checkpoints/chk-<id>`,
 * `<stateDir>/savepoints/sp-<id>`), normalized; undefined for a folder outside that layout (a copy).
 */
export function stateDirOf(location: string): string | undefined {
  const folder = normalizeLocation(location);
  const m = /^(.*)\/(checkpoints\/chk|savepoints\/sp)-\d+$/.exec(folder);
  return m?.[1] ? m[1] : undefined;
}

/** The newest completed checkpoint under `stateDir`, for "restart from the latest checkpoint". */
export async function latestCheckpointPath(stateDir: string): Promise<string | undefined> {
  return (await new CheckpointStorage(stateDir).latestCompletedCheckpoint())?.path;
}

// The checkpoint/savepoint directory layout under `stateDir` (a shared volume in Kubernetes):
//
//   <stateDir>/checkpoints/chk-<id>/_metadata.json + state files
//   <stateDir>/savepoints/sp-<id>/_metadata.json  + state files
//
// A directory without `_metadata.json` is not a checkpoint: the metadata is written last,
// to a temporary name then renamed (atomic on POSIX), so it exists only once every state
// file it references is durable. That rename is the commit point of a checkpoint.
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CheckpointKind } from './messages.ts';

export const METADATA_FILE = '_metadata.json';

export interface StoredFile {
  file: string;
  size: number;
  sha256: string;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Writes and fsyncs a file. */
export async function writeDurable(path: string, bytes: Uint8Array | string): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function fsyncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  }
}

export interface CompletedCheckpointRef {
  id: number;
  kind: CheckpointKind;
  path: string;
}

export class CheckpointStorage {
  readonly root: string;

  constructor(stateDir: string) {
    this.root = resolve(stateDir);
  }

  dirFor(kind: CheckpointKind, id: number): string {
    return kind === 'checkpoint'
      ? join(this.root, 'checkpoints', `chk-${id}`)
      : join(this.root, 'savepoints', `sp-${id}`);
  }

  async prepare(kind: CheckpointKind, id: number): Promise<string> {
    const dir = this.dirFor(kind, id);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /** Writes one state file into a checkpoint directory. */
  static async writeStateFile(dir: string, file: string, bytes: Uint8Array): Promise<StoredFile> {
    await writeDurable(join(dir, file), bytes);
    return { file, size: bytes.length, sha256: sha256Hex(bytes) };
  }

  /** The commit point: metadata to a temporary file, fsync, atomic rename, fsync the directory. */
  static async commitMetadata(dir: string, metadata: unknown): Promise<void> {
    const tmp = join(dir, `${METADATA_FILE}.inprogress`);
    await writeDurable(tmp, JSON.stringify(metadata, null, 1));
    await rename(tmp, join(dir, METADATA_FILE));
    await fsyncDir(dir);
  }

  private async list(kind: CheckpointKind): Promise<{ id: number; path: string; complete: boolean }[]> {
    const parent = join(this.root, kind === 'checkpoint' ? 'checkpoints' : 'savepoints');
    const prefix = kind === 'checkpoint' ? 'chk-' : 'sp-';
    let names: string[];
    try {
      names = await readdir(parent);
    } catch {
      return [];
    }
    const out: { id: number; path: string; complete: boolean }[] = [];
    for (const n of names) {
      if (!n.startsWith(prefix)) continue;
      const id = Number(n.slice(prefix.length));
      if (!Number.isSafeInteger(id)) continue;
      const path = join(parent, n);
      const complete = await stat(join(path, METADATA_FILE)).then(
        () => true,
        () => false,
      );
      out.push({ id, path, complete });
    }
    return out.sort((a, b) => a.id - b.id);
  }

  /** Highest id of any checkpoint or savepoint directory, complete or not (ids never repeat). */
  async maxIdUsed(): Promise<number> {
    let max = 0;
    for (const k of ['checkpoint', 'savepoint'] as const) for (const e of await this.list(k)) max = Math.max(max, e.id);
    return max;
  }

  /** Completed checkpoints, oldest first. */
  async completedCheckpoints(): Promise<CompletedCheckpointRef[]> {
    return (await this.list('checkpoint'))
      .filter((e) => e.complete)
      .map((e) => ({ id: e.id, kind: 'checkpoint' as const, path: e.path }));
  }

  /** Completed savepoints, oldest first (ids share one sequence with checkpoints). */
  async completedSavepoints(): Promise<CompletedCheckpointRef[]> {
    return (await this.list('savepoint'))
      .filter((e) => e.complete)
      .map((e) => ({ id: e.id, kind: 'savepoint' as const, path: e.path }));
  }

  async latestCompletedCheckpoint(): Promise<CompletedCheckpointRef | undefined> {
    const all = await this.completedCheckpoints();
    return all[all.length - 1];
  }

  /**
   * Keeps the newest `retained` completed checkpoints; removes older ones and abandoned (incomplete) directories below
   * the newest.
   */
  async prune(retained: number, keepId?: number): Promise<number[]> {
    const all = await this.list('checkpoint');
    const complete = all.filter((e) => e.complete);
    const keep = new Set(complete.slice(Math.max(0, complete.length - retained)).map((e) => e.id));
    const newest = complete[complete.length - 1]?.id ?? 0;
    const removed: number[] = [];
    for (const e of all) {
      if (keep.has(e.id) || e.id === keepId) continue;
      if (!e.complete && e.id > newest) continue; // may be in progress
      await rm(e.path, { recursive: true, force: true });
      removed.push(e.id);
    }
    return removed;
  }

  static async discard(dir: string): Promise<void> {
    await rm(dir, { recursive: true, force: true });
  }
}

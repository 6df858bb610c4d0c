// TEST-ONLY: what retention left under a state directory (filesystem or s3://), read through the
// runtime's own store: the completed checkpoints, the files they reference (resolving `from`),
// the compacted bases a slot may still adopt (compacted-base.ts), and every file below the newest
// completed id that is none of these and not in a completed checkpoint's folder (a leftover).
// File-level retention (checkpoint-retention.ts) leaves none, but for a folder abandoned or being
// pruned as the test looks.
import { CheckpointStorage } from '../checkpoint/checkpoint-storage.ts';
import { adoptableBases } from '../checkpoint/compacted-base.ts';
import { readMetadata } from '../checkpoint/metadata.ts';
import { referencedFiles } from '../checkpoint/referenced-files.ts';
import { stateStoreFor } from '../checkpoint/storage/state-store-for.ts';
import { baseName } from '../checkpoint/storage/state-uri.ts';

export interface RetainedFiles {
  /** Completed checkpoint ids, oldest first. */
  complete: number[];
  /** `chk-<id>/<file>` keys the completed checkpoints reference. */
  referenced: Set<string>;
  /**
   * Whether a `chk-<id>/<file>` key is a compacted base a completed checkpoint's chains may still
   * adopt: retention keeps it though no metadata references it yet. Retention judges by the newest
   * completed checkpoint when it runs, and a completion may land after the last pruning, so any
   * completed checkpoint counts here.
   */
  adoptable: (key: string) => boolean;
  /** Folder ids (below the newest completed) holding a file no completed checkpoint references or may adopt. */
  leftoverFolders: number[];
}

export async function retainedFiles(stateDir: string): Promise<RetainedFiles> {
  const storage = new CheckpointStorage(stateDir);
  const folders = await storage.folders('checkpoint');
  const complete = folders.filter((f) => f.complete);
  const referenced = new Set<string>();
  const adoptables: ((key: string) => boolean)[] = [];
  for (const c of complete) {
    const meta = await readMetadata(c.path);
    for (const k of referencedFiles(meta, baseName(c.path))) referenced.add(k);
    adoptables.push(adoptableBases(c.id, meta));
  }
  const adoptable = (key: string): boolean => adoptables.some((a) => a(key));
  const newest = complete[complete.length - 1]?.id ?? 0;
  const leftoverFolders: number[] = [];
  for (const f of folders) {
    if (f.complete || f.id > newest) continue;
    const names = await stateStoreFor(f.path).list(f.path);
    const keys = names.map((n) => `${baseName(f.path)}/${n}`);
    if (keys.some((k) => !referenced.has(k) && !adoptable(k))) leftoverFolders.push(f.id);
  }
  return { complete: complete.map((c) => c.id), referenced, adoptable, leftoverFolders };
}

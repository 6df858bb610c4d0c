// TEST-ONLY: what retention left under a state directory (filesystem or s3://), read through the
// runtime's own store: the completed checkpoints, the files they reference (resolving `from`),
// and every file below the newest completed id that is neither in a completed checkpoint's
// folder nor referenced by one (a leftover). File-level retention (checkpoint-retention.ts) leaves
// none, but for a folder abandoned or being pruned as the test looks.
import { CheckpointStorage } from '../checkpoint/checkpoint-storage.ts';
import { readMetadata } from '../checkpoint/metadata.ts';
import { referencedFiles } from '../checkpoint/referenced-files.ts';
import { stateStoreFor } from '../checkpoint/storage/state-store-for.ts';
import { baseName } from '../checkpoint/storage/state-uri.ts';

export interface RetainedFiles {
  /** Completed checkpoint ids, oldest first. */
  complete: number[];
  /** `chk-<id>/<file>` keys the completed checkpoints reference. */
  referenced: Set<string>;
  /** Folder ids (below the newest completed) that hold a file no completed checkpoint references. */
  leftoverFolders: number[];
}

export async function retainedFiles(stateDir: string): Promise<RetainedFiles> {
  const storage = new CheckpointStorage(stateDir);
  const folders = await storage.folders('checkpoint');
  const complete = folders.filter((f) => f.complete);
  const referenced = new Set<string>();
  for (const c of complete)
    for (const k of referencedFiles(await readMetadata(c.path), baseName(c.path))) referenced.add(k);
  const newest = complete[complete.length - 1]?.id ?? 0;
  const leftoverFolders: number[] = [];
  for (const f of folders) {
    if (f.complete || f.id > newest) continue;
    const names = await stateStoreFor(f.path).list(f.path);
    if (names.some((n) => !referenced.has(`${baseName(f.path)}/${n}`))) leftoverFolders.push(f.id);
  }
  return { complete: complete.map((c) => c.id), referenced, leftoverFolders };
}

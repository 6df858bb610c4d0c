// GET /v1/savepoints on slot 0 (contract.ts SavepointFolderList): the savepoint folders of the
// job's state location with their trigger times, which the operator's orphan sweep needs to tell
// a savepoint of this job from one an earlier job of the same name left behind.
// Fails closed: a location that cannot be listed or a metadata file that cannot be read is an
// error, never a shorter list (a sweep must not act on a partial view).
import { CheckpointStorage } from '../checkpoint/checkpoint-storage.ts';
import { readMetadata } from '../checkpoint/metadata.ts';
import type { SavepointFolder } from './contract.ts';

export async function listSavepointFolders(stateDir: string): Promise<SavepointFolder[]> {
  const storage = new CheckpointStorage(stateDir);
  const out: SavepointFolder[] = [];
  for (const f of await storage.folders('savepoint')) {
    const name = `sp-${f.id}`;
    if (!f.complete) {
      out.push({ name, id: f.id, complete: false });
      continue;
    }
    // readMetadata throws TRIB_STATE_STORAGE / TRIB_RESTORE_METADATA_* naming the folder: propagated.
    const m = await readMetadata(f.path);
    out.push({ name, id: f.id, complete: true, triggeredAt: m.triggeredAt });
  }
  return out;
}

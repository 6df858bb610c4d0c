// TEST-ONLY: checkpoint folders built by hand under a state directory (filesystem or s3://),
// through the runtime's own store: state files with made-up bytes and `_metadata.json` files
// whose keyed-state handles reference files in older folders (`from`, `deltas`), as incremental
// checkpoints write them. Retention tests prune these and compare what is left.
import {
  newMetadataDefaults,
  type CheckpointMetadata,
  type KeyedStateDelta,
  type KeyedStateFile,
} from '../checkpoint/metadata.ts';
import { METADATA_FILE } from '../checkpoint/metadata-file.ts';
import { stateStoreFor } from '../checkpoint/storage/state-store-for.ts';
import { childOf } from '../checkpoint/storage/state-uri.ts';

const RANGE = { start: 0, end: 127 };

/** A base or delta entry for `file`, in folder `from` (absent: the checkpoint's own). */
export function stateFile(file: string, from?: string): KeyedStateDelta {
  return { file, size: 1, sha256: '0', keyGroupRange: RANGE, ...(from !== undefined ? { from } : {}) };
}

/** A handle of `slot`: its base and its deltas. */
export function handle(slot: number, base: KeyedStateDelta, deltas?: KeyedStateDelta[]): KeyedStateFile {
  return { slot, ...base, ...(deltas ? { deltas } : {}) };
}

export function checkpointDir(stateDir: string, id: number): string {
  return childOf(stateDir, 'checkpoints', `chk-${id}`);
}

/** Writes state files `names` into checkpoint folder `id` (no metadata: an abandoned or in-progress one). */
export async function writeFiles(stateDir: string, id: number, names: readonly string[]): Promise<void> {
  const dir = checkpointDir(stateDir, id);
  for (const n of names) await stateStoreFor(dir).write(childOf(dir, n), new TextEncoder().encode(n));
}

/** Metadata of checkpoint `id` whose one step "s" has the keyed handles `keyed`. */
export function metadataOf(id: number, keyed: KeyedStateFile[]): CheckpointMetadata {
  const now = new Date(0).toISOString();
  return {
    ...newMetadataDefaults(),
    formatVersion: 2,
    kind: 'checkpoint',
    checkpointId: id,
    graphHash: 'g',
    parallelism: keyed.length,
    maxParallelism: 128,
    triggeredAt: now,
    completedAt: now,
    operators: { s: { keyed } },
    sources: {},
    sinks: {},
    stateSize: keyed.length,
  };
}

/** Completes checkpoint `id`: writes `files` into its folder, then its metadata referencing `keyed`. */
export async function completeCheckpoint(
  stateDir: string,
  id: number,
  files: readonly string[],
  keyed: KeyedStateFile[],
): Promise<void> {
  await writeFiles(stateDir, id, files);
  const dir = checkpointDir(stateDir, id);
  const body = new TextEncoder().encode(JSON.stringify(metadataOf(id, keyed)));
  await stateStoreFor(dir).commit(childOf(dir, METADATA_FILE), body);
}

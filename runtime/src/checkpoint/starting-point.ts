// Where a coordinator starts (coordinator.ts start()): the first id it may issue — above every id
// ever issued under the stateDir (the mark), on disk, or restored, so ids never repeat — and the
// newest completed checkpoint there, reported with its real completion time (the operator copies it
// into status, where an empty or invented time would be rejected or mislead restore choice).
// First of all, a store that would let two writers commit one checkpoint's metadata is refused
// (storage/exclusive-commit-probe.ts).
import { readIdMark } from './checkpoint-id-mark.ts';
import type { CheckpointStorage } from './checkpoint-storage.ts';
import type { CompletedCheckpoint } from './completion-history.ts';
import { readMetadata } from './metadata.ts';
import { ensureExclusiveCommit } from './storage/exclusive-commit-probe.ts';

export async function startingPoint(
  storage: CheckpointStorage,
  restoredCheckpointId: number | undefined,
): Promise<{ nextId: number; latest?: CompletedCheckpoint }> {
  await ensureExclusiveCommit(storage.root);
  const nextId = Math.max(await storage.maxIdUsed(), restoredCheckpointId ?? 0, await readIdMark(storage.root)) + 1;
  const found = await storage.latestCompletedCheckpoint();
  const completedAt = found ? (await readMetadata(found.path).catch(() => undefined))?.completedAt : undefined;
  if (!found || !completedAt) return { nextId };
  return {
    nextId,
    latest: { id: found.id, kind: 'checkpoint', path: found.path, completedAt, durationMs: 0, stateSize: 0 },
  };
}

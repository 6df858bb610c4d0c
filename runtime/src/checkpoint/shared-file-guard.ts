// The coordinator's side of sharing files between checkpoints (checkpoint-format.md,
// "Incremental checkpoints" and "Retention"): a checkpoint in progress may reference files of
// older checkpoints that retention is removing at the same time. Retention asks, before each
// removal, whether an acknowledgement received so far references the file (then it stays), and
// records each file it removes before the delete; the coordinator completes a checkpoint only if
// none of the files its acknowledgements reference was removed. Between the two, a checkpoint
// never commits a reference to a file that is gone.
import type { CheckpointAck } from './messages.ts';
import { referencedFiles } from './referenced-files.ts';
import { checkpointFolder } from './incremental-chains.ts';
import type { CheckpointMetadata } from './metadata.ts';

/** The `chk-<id>/<file>` keys the acknowledgements of checkpoint `id` reference. */
export function filesOfAcks(acks: Iterable<CheckpointAck>, id: number): Set<string> {
  const operators: CheckpointMetadata['operators'] = {};
  for (const a of acks)
    for (const [step, h] of Object.entries(a.operators))
      (operators[step] ??= { keyed: [] }).keyed.push({ slot: a.slot, ...h });
  return referencedFiles({ operators } as CheckpointMetadata, checkpointFolder(id));
}

/** A file the acknowledgements reference that retention removed, if any. */
export function removedReference(
  acks: Iterable<CheckpointAck>,
  id: number,
  removed: ReadonlySet<string>,
): string | undefined {
  if (removed.size === 0) return undefined;
  for (const k of filesOfAcks(acks, id)) if (removed.has(k)) return k;
  return undefined;
}

/**
 * Retention's `pinned` for the checkpoint in progress that `pending()` returns: whether its
 * acknowledgements received so far reference a key. Asked once per file a pruning considers, so
 * the keys are derived once per set of acknowledgements (they only grow: one per slot), not per
 * question.
 */
export function pinnedByAcks(
  pending: () => { id: number; acks: ReadonlyMap<number, CheckpointAck> } | undefined,
): (key: string) => boolean {
  let memo: { acks: ReadonlyMap<number, CheckpointAck>; size: number; files: Set<string> } | undefined;
  return (key) => {
    const p = pending();
    if (p === undefined) return false;
    if (memo?.acks !== p.acks || memo.size !== p.acks.size)
      memo = { acks: p.acks, size: p.acks.size, files: filesOfAcks(p.acks.values(), p.id) };
    return memo.files.has(key);
  };
}

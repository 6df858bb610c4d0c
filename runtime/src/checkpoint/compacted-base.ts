// The name of a compacted base (chain-compactor.ts) and which ones a slot may still adopt
// (checkpoint-format.md, "Retention"). A compacted base of checkpoint K lies in K's folder and no
// metadata references it until a later checkpoint does; retention must not remove it while a slot
// may reference it next.
//
// Invariant: a slot adopts `chk-K/<step>.slot-<s>.base-K.kstate` only into chains that start with
// K's chain of that step (IncrementalChains.compacted), and its next delta builds on the newest
// completed checkpoint N's chain. So the file may be referenced next exactly while N's handle for
// (step, slot s) is a chain whose base lies in a folder at or before K (and K ≤ N); once that
// chain starts later (a full snapshot, a newer compaction), nothing can adopt it any more.
import { checkpointFolder } from './incremental-chains.ts';
import type { CheckpointMetadata } from './metadata.ts';
import { CHECKPOINT_FOLDER } from './referenced-files.ts';

/** `<encoded step>.slot-<s>`: whose chain a compacted base folds. */
const chainOf = (step: string, slot: number | string): string => `${encodeURIComponent(step)}.slot-${slot}`;

/** The file name of the compacted base of checkpoint `id`'s chain of `step` in slot `slot`. */
export function compactedBaseName(step: string, slot: number, id: number): string {
  return `${chainOf(step, slot)}.base-${id}.kstate`;
}

/**
 * A compacted base's name: its chain (encoded step and slot) and its checkpoint id; or the
 * temporary file a local store writes it to before renaming it (fs-state-store.ts `write`), which
 * retention must leave alone as well, or the base's write fails when it is renamed.
 */
const NAME = /^(.+\.slot-\d+)\.base-(\d+)\.kstate(?:\.tmp-\d+-[0-9a-f]+)?$/;

/**
 * A predicate over `chk-<id>/<file>` keys: whether the key is a compacted base some slot may still
 * adopt, given the newest completed checkpoint (`id`, `meta`) (see the header). Everything it
 * cannot parse is not claimed: it is not a compacted base.
 */
export function adoptableBases(id: number, meta: Pick<CheckpointMetadata, 'operators'>): (key: string) => boolean {
  /** Chain (chainOf) → the id of the folder its base lies in. */
  const chainStart = new Map<string, number>();
  for (const [step, op] of Object.entries(meta.operators))
    for (const h of op.keyed) {
      const from = h.from === undefined ? id : CHECKPOINT_FOLDER.test(h.from) ? Number(h.from.slice(4)) : NaN;
      if (Number.isSafeInteger(from)) chainStart.set(chainOf(step, h.slot), from);
    }
  return (key) => {
    const [folder, file] = key.split('/');
    const m = NAME.exec(file ?? '');
    if (!m) return false;
    const k = Number(m[2]);
    const start = chainStart.get(m[1] as string);
    return folder === checkpointFolder(k) && start !== undefined && start <= k && k <= id;
  };
}

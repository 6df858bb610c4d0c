// The state files a completed checkpoint needs (checkpoint-format.md, "Retention"): every base
// file and every delta of its keyed-state handles, wherever they live. With incremental
// checkpoints a handle may name a file in an older sibling folder (`from`), so retention works
// on these file keys, not on folders.
//
// A key is folder-relative to `<stateDir>/checkpoints`: `chk-<id>/<file>`. Anything retention
// cannot resolve with certainty (a `from` that is not `chk-<digits>`, a file name that is not a
// plain name, a handle that is not one) is TRIB_RESTORE_METADATA_CORRUPT naming the checkpoint
// and the field: a pruning that does not know what a checkpoint needs must remove nothing.
import { TributaryError } from '../errors.ts';
import type { CheckpointMetadata } from './metadata.ts';
import { METADATA_FILE } from './metadata-file.ts';

/** A checkpoint folder under `<stateDir>/checkpoints`, as `from` names it. */
export const CHECKPOINT_FOLDER = /^chk-\d+$/;

function corrupt(folder: string, field: string, problem: string): never {
  throw new TributaryError(
    'TRIB_RESTORE_METADATA_CORRUPT',
    `checkpoint ${folder}: ${METADATA_FILE} field ${field} ${problem}; nothing is pruned while a checkpoint's files are unknown`,
  );
}

/** The key of one base or delta entry at `field`, resolving `from` (absent: the checkpoint's own folder). */
function keyOf(folder: string, entry: unknown, field: string): string {
  if (entry === null || typeof entry !== 'object') corrupt(folder, field, 'is not a state file entry');
  const { file, from } = entry as { file?: unknown; from?: unknown };
  // As state-file-reader.ts checkName: a plain name, never a path out of its folder.
  if (typeof file !== 'string' || file === '' || file.includes('/') || file.includes('\\') || file.startsWith('.'))
    corrupt(folder, `${field}.file`, `${JSON.stringify(file)} is not a plain file name`);
  if (from !== undefined && (typeof from !== 'string' || !CHECKPOINT_FOLDER.test(from)))
    corrupt(folder, `${field}.from`, `${JSON.stringify(from)} is not a checkpoint folder (chk-<digits>)`);
  return `${from ?? folder}/${file}`;
}

/**
 * Every `chk-<id>/<file>` key the checkpoint in folder `folderName` (`chk-<id>`) restores from:
 * each handle's base file and its deltas, `from` resolved. `_metadata.json` itself is not listed.
 */
export function referencedFiles(meta: CheckpointMetadata, folderName: string): Set<string> {
  const out = new Set<string>();
  const operators: unknown = meta.operators;
  if (operators === null || typeof operators !== 'object') corrupt(folderName, 'operators', 'is not an object');
  for (const [step, op] of Object.entries(operators as Record<string, unknown>)) {
    const at = `operators[${JSON.stringify(step)}].keyed`;
    const keyed: unknown = (op as { keyed?: unknown } | null)?.keyed;
    if (!Array.isArray(keyed)) corrupt(folderName, at, 'is not a list');
    keyed.forEach((h: unknown, i) => {
      out.add(keyOf(folderName, h, `${at}[${i}]`));
      const deltas: unknown = (h as { deltas?: unknown }).deltas;
      if (deltas === undefined) return;
      if (!Array.isArray(deltas)) corrupt(folderName, `${at}[${i}].deltas`, 'is not a list');
      deltas.forEach((d: unknown, j) => out.add(keyOf(folderName, d, `${at}[${i}].deltas[${j}]`)));
    });
  }
  return out;
}

// The files a keyed-state handle of an incremental checkpoint restores from (checkpoint-format.md,
// "Incremental checkpoints"): its base file and deltas may live in older sibling checkpoint
// folders (`from`). A chain is read as the base's bytes, then every delta's, oldest first; each
// file is verified as any state file is (state-file-reader.ts), and a reference that leaves the
// checkpoints folder, or a delta that does not match its base, is refused before anything is read.
import { TributaryError } from '../errors.ts';
import type { KeyGroupRange } from '../state/key-groups.ts';
import { stateDirOf } from './checkpoint-storage.ts';
import type { KeyedStateDelta, KeyedStateFile } from './metadata.ts';
import { readKeyedStateFile, type FetchStats } from './state-file-reader.ts';
import { CHECKPOINT_FOLDER } from './referenced-files.ts';
import { childOf } from './storage/state-uri.ts';

/** The folder that holds `f`: `dir` itself, or the sibling checkpoint folder `f.from`. */
export function folderOf(dir: string, f: Pick<KeyedStateDelta, 'from' | 'file'>): string {
  if (f.from === undefined) return dir;
  const stateDir = stateDirOf(dir);
  if (
    typeof f.from !== 'string' ||
    !CHECKPOINT_FOLDER.test(f.from) ||
    stateDir === undefined ||
    !/\/checkpoints\/chk-\d+$/.test(dir)
  )
    throw new TributaryError(
      'TRIB_RESTORE_METADATA_CORRUPT',
      `${dir}: state file ${f.file} is referenced from ${JSON.stringify(f.from)}, which is not a checkpoint folder beside this one (a checkpoint copied out of its state directory cannot reach the files it shares)`,
    );
  return childOf(stateDir, 'checkpoints', f.from);
}

/** Refuses a chain whose deltas do not hold the key groups of its base. */
export function checkChain(dir: string, step: string, f: KeyedStateFile): void {
  const deltas: unknown = f.deltas;
  if (deltas === undefined) return;
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  if (!Array.isArray(deltas))
    throw new TributaryError(
      'TRIB_RESTORE_METADATA_CORRUPT',
      `${dir}: step "${step}", state file ${f.file}: deltas is not a list`,
    );
  for (const d of deltas as KeyedStateDelta[]) {
    if (
      d === null ||
      typeof d !== 'object' ||
      !same(d.keyGroupRange, f.keyGroupRange) ||
      !same(d.keyGroups, f.keyGroups)
    )
      throw new TributaryError(
        'TRIB_RESTORE_METADATA_CORRUPT',
        `${dir}: step "${step}": delta ${JSON.stringify((d as { file?: unknown } | null)?.file)} of state file ${f.file} holds other key groups than its base`,
      );
  }
}

/**
 * The bytes `f`'s chain restores for the key groups `wanted`: its base (if any key group has state
 * there), then its deltas.
 */
export async function readChain(
  dir: string,
  f: KeyedStateFile,
  wanted: readonly KeyGroupRange[],
  run: <T>(task: () => Promise<T>) => Promise<T>,
  stats: FetchStats,
): Promise<{ base: Uint8Array | undefined; deltas: Uint8Array[] }> {
  const [base, ...deltas] = await Promise.all(
    [f, ...(f.deltas ?? [])].map((x) => readKeyedStateFile(folderOf(dir, x), x, wanted, run, stats)),
  );
  return { base, deltas: deltas.filter((b): b is Uint8Array => b !== undefined) };
}

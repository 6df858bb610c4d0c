// File-level retention of periodic checkpoints (checkpoint-format.md, "Retention"). With
// incremental checkpoints a checkpoint's metadata may reference state files in OLDER checkpoint
// folders (`from`), so dropping a checkpoint cannot mean removing its folder: a file goes only
// once no kept checkpoint references it.
//
// Invariants:
// * The newest `retained` completed checkpoints (and `keepId`) are kept whole: nothing in their
//   folders is touched, files no metadata references yet (a compacted base) included.
// * Fails closed: every completed checkpoint's `_metadata.json` is read, and its references
//   resolved, before anything is removed; one that cannot be read (corrupt, an unknown version,
//   the store failing) throws and nothing is removed. A file is never removed because a metadata
//   could not say whether it is needed.
// * A dropped checkpoint's `_metadata.json` goes before any file: it stops being restorable
//   before it could miss a file, and an interrupted pruning leaves an uncommitted folder.
// * Only folders with an id ≤ the newest completed one are touched (above it one may be in
//   progress), unless the job is stopped (`stopped`: `tributary state gc`). In them each file
//   is removed unless a kept checkpoint references it or `pinned(key)` claims it. `pinned` is
//   asked synchronously right before the removal, and the key enters `removedFiles` before the
//   delete is awaited: a caller that checks the set before completing a checkpoint never
//   completes one that references a file being removed.
// * A compacted base a slot may still adopt into its next checkpoint (compacted-base.ts) stays,
//   though no metadata references it yet: removing it would abort that checkpoint.
// * A folder is removed only when empty (removeEmptyFolder), never as a tree: a file written into
//   it after it was listed (a compacted base landing late) stays for the next pruning to judge.
import { TributaryError } from '../errors.ts';
import { readMetadata } from './metadata.ts';
import { METADATA_FILE } from './metadata-file.ts';
import { referencedFiles } from './referenced-files.ts';
import { adoptableBases } from './compacted-base.ts';
import { stateStoreFor } from './storage/state-store-for.ts';
import { baseName, childOf } from './storage/state-uri.ts';

/** Claims a file key (`chk-<id>/<file>`) no completed metadata references yet but a checkpoint in progress will. */
export type PinnedFile = (key: string) => boolean;

export interface PruneResult {
  /** Completed checkpoints kept whole (restorable), oldest first. */
  kept: number[];
  /** Checkpoints whose `_metadata.json` was removed (no longer restorable), oldest first. */
  dropped: number[];
  /** State files removed, as `chk-<id>/<file>` keys. */
  removedFiles: string[];
  /** Files left in dropped or abandoned folders: a kept checkpoint references them (or `pinned` claimed them). */
  sharedFiles: string[];
  /** Folders left with nothing in them, and removed (S3 has no folders to remove). */
  removedFolders: number[];
  /** Folders above the newest completed checkpoint without metadata: possibly in progress, not touched. */
  untouched: number[];
}

export interface PruneOptions {
  retained: number;
  keepId?: number | undefined;
  pinned?: PinnedFile | undefined;
  /** Every removed file key is added here before its delete is awaited. */
  removedFiles: Set<string>;
  /**
   * No slot runs on this state (`tributary state gc` on a stopped job): a folder above the newest
   * completed checkpoint is abandoned (a crash between upload and commit), not in progress, and a
   * file no kept checkpoint references has no taker, in a kept folder too (a compacted base, a
   * commit's temporary file). A kept checkpoint's `_metadata.json` is never removed.
   */
  stopped?: boolean | undefined;
}

/** A checkpoint folder as CheckpointStorage.folders lists it. */
export interface CheckpointFolder {
  id: number;
  path: string;
  complete: boolean;
}

/**
 * Prunes the checkpoint folders `all` (every `chk-<id>` folder under one state directory, oldest
 * first, as just listed) to `o.retained` completed ones, file by file (see the header).
 */
export async function pruneCheckpoints(all: readonly CheckpointFolder[], o: PruneOptions): Promise<PruneResult> {
  if (!Number.isSafeInteger(o.retained) || o.retained < 1)
    throw new TributaryError(
      'TRIB_JOB_CONFIG',
      `retention keeps at least the newest completed checkpoint: retained must be an integer ≥ 1, got ${String(o.retained)}`,
    );
  const complete = all.filter((e) => e.complete);
  const newest = complete[complete.length - 1]?.id ?? 0;
  const keep = new Set(complete.slice(-o.retained).map((e) => e.id));
  if (o.keepId !== undefined) keep.add(o.keepId);
  const refs = await keptReferences(complete, keep);
  // A stopped job adopts nothing: its unreferenced compacted bases go.
  const needed = { referenced: refs.referenced, adoptable: o.stopped ? () => false : refs.adoptable };
  const result: PruneResult = {
    kept: complete.filter((e) => keep.has(e.id)).map((e) => e.id),
    dropped: [],
    removedFiles: [],
    sharedFiles: [],
    removedFolders: [],
    untouched: o.stopped ? [] : all.filter((e) => e.id > newest && !keep.has(e.id)).map((e) => e.id),
  };
  for (const e of complete) {
    if (keep.has(e.id)) continue;
    await stateStoreFor(e.path).remove(childOf(e.path, METADATA_FILE));
    result.dropped.push(e.id);
  }
  for (const e of all) {
    // A running job's kept folders stay whole, and folders above the newest may be in progress.
    if (!o.stopped && (keep.has(e.id) || e.id > newest)) continue;
    await pruneFolder(e, keep.has(e.id), needed, o, result);
  }
  return result;
}

/**
 * What the kept checkpoints reference, and which compacted bases a slot may still adopt (read from
 * the newest completed checkpoint: compacted-base.ts). Every completed checkpoint's metadata is
 * read, the dropped ones' too: a metadata this runtime cannot read may be one it does not
 * understand (a newer format), and retention then removes nothing rather than guess.
 */
async function keptReferences(
  complete: readonly CheckpointFolder[],
  keep: ReadonlySet<number>,
): Promise<{ referenced: Set<string>; adoptable: (key: string) => boolean }> {
  const refs = await Promise.all(
    complete.map(async (e) => {
      const meta = await readMetadata(e.path);
      return { id: e.id, meta, files: referencedFiles(meta, baseName(e.path)) };
    }),
  );
  const referenced = new Set<string>();
  for (const r of refs) if (keep.has(r.id)) for (const k of r.files) referenced.add(k);
  const newest = refs[refs.length - 1];
  return { referenced, adoptable: newest ? adoptableBases(newest.id, newest.meta) : () => false };
}

/**
 * Removes each file of a folder not referenced, adoptable or pinned; then the folder if empty. A
 * kept folder (only when the job is stopped) keeps its metadata and itself.
 */
async function pruneFolder(
  e: CheckpointFolder,
  kept: boolean,
  needed: { referenced: ReadonlySet<string>; adoptable: (key: string) => boolean },
  o: PruneOptions,
  result: PruneResult,
): Promise<void> {
  const store = stateStoreFor(e.path);
  const folder = baseName(e.path);
  const names = (await store.list(e.path)).sort();
  // A metadata that landed after the listing (a late commit of an abandoned checkpoint) goes first.
  if (!kept && names.includes(METADATA_FILE)) {
    await store.remove(childOf(e.path, METADATA_FILE));
    if (!result.dropped.includes(e.id)) result.dropped.push(e.id);
  }
  let left = 0;
  for (const name of names) {
    if (name === METADATA_FILE) continue;
    const key = `${folder}/${name}`;
    if (needed.referenced.has(key) || needed.adoptable(key) || o.pinned?.(key) === true) {
      left++;
      if (!kept) result.sharedFiles.push(key);
      continue;
    }
    o.removedFiles.add(key); // before the await: see the header
    await store.remove(childOf(e.path, name));
    result.removedFiles.push(key);
  }
  if (left > 0 || kept) return;
  await store.removeEmptyFolder(e.path);
  result.removedFolders.push(e.id);
}

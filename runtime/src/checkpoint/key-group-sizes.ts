// Bytes of keyed state per key group in a completed checkpoint: the input a live rescale's plan
// is sized from (rescale/plan.ts; docs/design/live-rescale.md, "The migration plan"). Read from
// the metadata alone — each state file's key-group index lists every section's length — so
// sizing a migration reads no state file.
//
// Invariants: a key group's size is the sum, over the stateful steps and the files of each chain
// (an incremental checkpoint's base and its deltas), of its sections' lengths (framing included:
// what a hand-off of it moves). Over a chain it is an upper bound, never less than the state: a
// key changed in several deltas counts once per file, so a plan sized from it moves no more per
// step than its budget. A file without an index (written before the index existed) spreads its
// size over its range, rounded up, and the result says it is an estimate; an index that cannot
// describe its file is refused, never guessed around.
import { TributaryError } from '../errors.ts';
import { indexProblem } from '../state/snapshot-index.ts';
import type { CheckpointMetadata, KeyedStateDelta } from './metadata.ts';

export interface KeyGroupSizes {
  /** Index = key group; length = maxParallelism. */
  bytes: number[];
  /** Some file had no index: its key groups' sizes are its size spread evenly. */
  estimated: boolean;
}

export function keyGroupSizes(meta: Pick<CheckpointMetadata, 'maxParallelism' | 'operators'>): KeyGroupSizes {
  const bytes = new Array<number>(meta.maxParallelism).fill(0);
  let estimated = false;
  for (const [step, { keyed }] of Object.entries(meta.operators))
    for (const h of keyed) for (const f of [h, ...(h.deltas ?? [])]) estimated = add(bytes, step, f) || estimated;
  return { bytes, estimated };
}

/** Adds file `f`'s sections to `bytes`; true if it had no index (its size spread over its range). */
function add(bytes: number[], step: string, f: KeyedStateDelta): boolean {
  const { start, end } = f.keyGroupRange;
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end < bytes.length))
    corrupt(step, f.file, `key-group range ${start}-${end} is not inside 0..${bytes.length - 1}`);
  if (end < start) return false;
  if (f.index === undefined) {
    const each = Math.ceil(f.size / (end - start + 1));
    for (let kg = start; kg <= end; kg++) bytes[kg] = (bytes[kg] as number) + each;
    return true;
  }
  const problem = indexProblem(f.index, f.size, f.keyGroupRange);
  if (problem) corrupt(step, f.file, problem);
  for (const [kg, , length] of f.index.sections) bytes[kg] = (bytes[kg] as number) + length;
  return false;
}

function corrupt(step: string, file: string, problem: string): never {
  throw new TributaryError(
    'TRIB_RESTORE_METADATA_CORRUPT',
    `key-group sizes: state file ${file} of step "${step}": ${problem}`,
  );
}

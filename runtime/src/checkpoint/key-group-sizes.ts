// Bytes of keyed state per key group in a completed checkpoint: the input a live rescale's plan
// is sized from (rescale/plan.ts; docs/design/live-rescale.md, "The migration plan"). Read from
// the metadata alone — each state file's key-group index lists every section's length — so
// sizing a migration reads no state file.
//
// Invariants: a key group's size is the sum, over the stateful steps, of its sections' lengths
// (framing included: what a hand-off of it moves); a file without an index (written before the
// index existed) spreads its size over its range, rounded up, and the result says it is an
// estimate; an index that cannot describe its file is refused, never guessed around.
import { TributaryError } from '../errors.ts';
import { indexProblem } from '../state/snapshot-index.ts';
import type { CheckpointMetadata } from './metadata.ts';

export interface KeyGroupSizes {
  /** Index = key group; length = maxParallelism. */
  bytes: number[];
  /** Some file had no index: its key groups' sizes are its size spread evenly. */
  estimated: boolean;
}

export function keyGroupSizes(meta: Pick<CheckpointMetadata, 'maxParallelism' | 'operators'>): KeyGroupSizes {
  const bytes = new Array<number>(meta.maxParallelism).fill(0);
  let estimated = false;
  for (const [step, { keyed }] of Object.entries(meta.operators)) {
    for (const f of keyed) {
      const { start, end } = f.keyGroupRange;
      if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end < meta.maxParallelism))
        corrupt(step, f.file, `key-group range ${start}-${end} is not inside 0..${meta.maxParallelism - 1}`);
      if (end < start) continue;
      if (f.index === undefined) {
        estimated = true;
        const each = Math.ceil(f.size / (end - start + 1));
        for (let kg = start; kg <= end; kg++) bytes[kg] = (bytes[kg] as number) + each;
        continue;
      }
      const problem = indexProblem(f.index, f.size, f.keyGroupRange);
      if (problem) corrupt(step, f.file, problem);
      for (const [kg, , length] of f.index.sections) bytes[kg] = (bytes[kg] as number) + length;
    }
  }
  return { bytes, estimated };
}

function corrupt(step: string, file: string, problem: string): never {
  throw new TributaryError(
    'TRIB_RESTORE_METADATA_CORRUPT',
    `key-group sizes: state file ${file} of step "${step}": ${problem}`,
  );
}

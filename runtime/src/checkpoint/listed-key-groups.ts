// The key groups a checkpoint's keyed-state file holds (`keyGroups` in _metadata.json:
// checkpoint-format.md; docs/design/live-rescale.md §6). Once a live rescale moved key groups
// between running slots, a file's `keyGroupRange` is only the span of its snapshot: a slot that
// gave key groups away still spans them, one that took some in spans them too. The list is what
// the file holds, so a restore reads a key group from the one file that lists it.
//
// Invariants (checked before any state file is read; a violation is TRIB_RESTORE_METADATA_CORRUPT):
// - a list is ascending, disjoint inclusive [start, end] runs of integers inside the file's range;
// - within one step, no key group is listed by two files;
// - a file without a list (written before lists existed) holds its whole range, as before.
import { TributaryError } from '../errors.ts';
import type { KeyGroupRange } from '../state/key-groups.ts';
import type { KeyedStateDelta, KeyedStateFile } from './metadata.ts';

/** Refuses a step's files whose lists are malformed or list one key group twice. */
export function checkListedKeyGroups(
  dir: string,
  step: string,
  files: readonly KeyedStateFile[],
  maxParallelism: number,
): void {
  const listedBy = new Map<number, string>();
  for (const f of files) {
    const runs: unknown = f.keyGroups;
    if (runs === undefined) continue;
    const bad = (why: string): never => {
      throw new TributaryError(
        'TRIB_RESTORE_METADATA_CORRUPT',
        `${dir}: step "${step}", state file ${f.file}: keyGroups ${why}`,
      );
    };
    if (!Array.isArray(runs)) bad('is not a list of [start, end] runs');
    const range = f.keyGroupRange;
    let last = -1;
    for (const run of runs as unknown[]) {
      if (!Array.isArray(run) || run.length !== 2 || !run.every((n) => Number.isSafeInteger(n)))
        bad(`entry ${JSON.stringify(run)} is not [start, end]`);
      const [start, end] = run as [number, number];
      if (start <= last || end < start) bad(`run ${start}-${end} is not ascending and disjoint`);
      if (start < range.start || end > range.end || end >= maxParallelism)
        bad(`run ${start}-${end} is outside the file's range ${range.start}-${range.end}`);
      for (let kg = start; kg <= end; kg++) {
        const other = listedBy.get(kg);
        if (other !== undefined)
          throw new TributaryError(
            'TRIB_RESTORE_METADATA_CORRUPT',
            `${dir}: step "${step}": key group ${kg} is listed by two state files, ${other} and ${f.file} (a checkpoint holds each key group once)`,
          );
        listedBy.set(kg, f.file);
      }
      last = end;
    }
  }
}

/** The part of `wanted` that `f` holds: `wanted` itself for a file without a list. */
export function wantedOfFile(f: KeyedStateDelta, wanted: readonly KeyGroupRange[]): KeyGroupRange[] {
  if (f.keyGroups === undefined) return [...wanted];
  const out: KeyGroupRange[] = [];
  for (const [start, end] of f.keyGroups)
    for (const w of wanted) {
      const r = { start: Math.max(start, w.start), end: Math.min(end, w.end) };
      if (r.start <= r.end) out.push(r);
    }
  return out;
}

/** The first of `keyGroups` (a file's sections) that `f`'s list does not name, or undefined. */
export function unlistedKeyGroup(f: KeyedStateDelta, keyGroups: Iterable<number>): number | undefined {
  const runs = f.keyGroups;
  if (runs === undefined) return undefined;
  for (const kg of keyGroups) if (!runs.some(([s, e]) => kg >= s && kg <= e)) return kg;
  return undefined;
}

// The checkpoints table of a job page, kept by whoever samples the slots (the local run, the
// operator): slot 0's reported completions (StatusResponse.recentCheckpoints, or the last one from
// a runtime without that list) added to the rows already seen, one row per kind and id, newest
// first, bounded. A sampler polling less often than checkpoints complete still lists each one
// the slot still reports. Imports types only (the operator uses it).
import type { CheckpointSummary, StatusResponse } from '../control/contract.ts';
import type { DashboardCheckpoint } from './model.ts';

/** What slot 0 reports as completed: its recent list, else its last checkpoint. */
export function reportedCheckpoints(slot0: StatusResponse | undefined): readonly CheckpointSummary[] {
  if (slot0 === undefined) return [];
  if (slot0.recentCheckpoints !== undefined) return slot0.recentCheckpoints;
  return slot0.lastCheckpoint ? [slot0.lastCheckpoint] : [];
}

/** Adds to `table` (in place) the reported rows it lacks; `shown` cleans a path for display. */
export function addCheckpoints(
  table: DashboardCheckpoint[],
  reported: readonly CheckpointSummary[],
  max: number,
  shown: (path: string) => string = (p) => p,
): void {
  const kindOf = (c: CheckpointSummary) => c.kind ?? 'checkpoint';
  const have = new Set(table.map((c) => `${c.kind}/${c.id}`));
  let added = false;
  for (const c of reported) {
    const key = `${kindOf(c)}/${c.id}`;
    if (have.has(key)) continue;
    have.add(key);
    added = true;
    table.push({
      id: c.id,
      kind: kindOf(c),
      completedAt: c.completedAt,
      path: shown(c.path),
      ...(c.durationMs !== undefined ? { durationMs: c.durationMs } : {}),
      ...(c.bytes !== undefined ? { bytes: c.bytes } : {}),
      ...(c.fullBytes !== undefined ? { fullBytes: c.fullBytes } : {}),
    });
  }
  if (!added) return;
  // ISO times of one clock sort as strings; the id breaks a tie (a checkpoint and savepoint in one ms).
  table.sort((a, b) => (a.completedAt === b.completedAt ? b.id - a.id : a.completedAt < b.completedAt ? 1 : -1));
  if (table.length > max) table.length = max;
}

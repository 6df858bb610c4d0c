// Which savepoint folders of a job's state location nothing references any more (the orphan
// sweep's choice; operation/sweep-orphans.ts acts on it). Pure.
//
// An orphan is a savepoint the operator took but never recorded (it died between the savepoint
// and the status write, or a retry took a new one), or one whose disposal beyond historyLimit
// failed. Invariants — a folder is never chosen when:
//   - retention is Retain (nothing is deleted);
//   - a savepoint may be in flight (pendingOperation carries a savepoint request or id): its
//     folder is not known until it completes;
//   - its id is at or above the newest one in status.savepoints (ids grow with time, so a newer
//     folder may be one being recorded right now), or status.savepoints is empty;
//   - anything names it: status.savepoints, resumeFrom, deployed.restoredFrom, lastCheckpoint,
//     pendingOperation.restoreFrom, spec.restore.savepointPath, and the restore.savepointPath of
//     the deployed and target specs. Names are compared by their last two segments
//     (`savepoints/sp-<n>`), so a path written in another form (an in-container path, another
//     prefix) still protects the folder: a false match keeps an orphan, never deletes a savepoint;
//   - it is complete and was triggered before the StreamJob was created, or its trigger time is
//     unknown: an earlier job of the same namespace and name left it (e.g. its final savepoint on
//     delete, which the user may still restore).
// A folder without metadata (no savepoint: abandoned half-way) below the newest recorded id goes.
import type { SavepointFolder } from '../../../../../runtime/src/control/contract.ts';
import type { StreamJob, StreamJobSpec } from '../../../api/v1alpha1/streamjob.ts';
import type { Retention } from '../state-storage.ts';

/** `sp-<n>` when `path` ends in `savepoints/sp-<n>`, else undefined. */
export function savepointFolderOf(path: string | undefined): string | undefined {
  const parts = (path ?? '').split('/').filter(Boolean);
  const name = parts.at(-1);
  return parts.at(-2) === 'savepoints' && name !== undefined && /^sp-\d+$/.test(name) ? name : undefined;
}

function restorePathOf(specJson: string | undefined): string | undefined {
  if (!specJson) return undefined;
  try {
    return (JSON.parse(specJson) as StreamJobSpec | null)?.restore?.savepointPath;
  } catch {
    return undefined; // unreadable: protects nothing, but then status still names the deployed state
  }
}

/** Every path status or spec names that may be a savepoint. */
export function referencedPaths(job: StreamJob): string[] {
  const st = job.status ?? {};
  const op = st.pendingOperation;
  return [
    ...(st.savepoints ?? []).map((s) => s.path),
    st.resumeFrom,
    st.deployed?.restoredFrom,
    st.lastCheckpoint?.path,
    op?.restoreFrom,
    job.spec.restore?.savepointPath,
    restorePathOf(st.deployed?.spec),
    restorePathOf(op?.targetSpec),
  ].filter((p): p is string => typeof p === 'string' && p !== '');
}

/** The folders the sweep may delete (see the invariants above), oldest first. */
export function orphanSavepoints(
  job: StreamJob,
  retention: Retention,
  folders: readonly SavepointFolder[],
): SavepointFolder[] {
  if (retention !== 'Delete') return [];
  const op = job.status?.pendingOperation;
  if (op?.savepointRequestId || op?.savepointId) return [];
  const recordedIds = (job.status?.savepoints ?? [])
    .map((s) => savepointFolderOf(s.path))
    .filter((n): n is string => n !== undefined)
    .map((n) => Number(n.slice(3)));
  if (recordedIds.length === 0) return [];
  const newest = Math.max(...recordedIds);
  const referenced = new Set(referencedPaths(job).map(savepointFolderOf));
  const created = Date.parse(String(job.metadata.creationTimestamp ?? ''));
  return folders
    .filter((f) => {
      if (!/^sp-\d+$/.test(f.name) || f.name !== `sp-${f.id}`) return false;
      if (f.id >= newest || referenced.has(f.name)) return false;
      if (!f.complete) return true;
      const at = Date.parse(f.triggeredAt ?? '');
      return !Number.isNaN(at) && !Number.isNaN(created) && at >= created;
    })
    .sort((a, b) => a.id - b.id);
}

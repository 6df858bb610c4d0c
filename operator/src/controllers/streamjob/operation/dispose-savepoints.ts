// Savepoint folders beyond historyLimit (already gone from status): slot 0 of the job that
// just took the newest one deletes them (DELETE /v1/savepoints/{sp-<n>}; after a stop it
// keeps serving until its pod is deleted). Best effort and idempotent: a folder that could
// not be deleted is reported in a Warning Event and never blocks the operation (status no
// longer names it, so nothing restores from it; the orphan sweep tries again later). Under
// retention Retain nothing is deleted: status drops the records, the folders stay.
import type { SavepointRecord } from '../../../api/v1alpha1/streamjob.ts';
import type { JobCtx, ReconcilerInternals } from '../job-context.ts';
import { slot0Url } from '../observer.ts';
import { retentionOf } from './sweep-orphans.ts';

export async function disposeDropped(
  r: ReconcilerInternals,
  c: JobCtx,
  dropped: readonly SavepointRecord[],
): Promise<void> {
  if (dropped.length === 0) return;
  if (retentionOf(r, c.job) === 'Retain') {
    c.log.info({ paths: dropped.map((s) => s.path) }, 'savepoints beyond historyLimit kept (retention Retain)');
    return;
  }
  const base = slot0Url(c.obs);
  const notDeleted = async (sp: SavepointRecord, why: string) => {
    c.log.warn({ path: sp.path, err: why }, 'could not delete a savepoint beyond historyLimit');
    await r.deps.events.warning(
      c.job,
      'SavepointNotDeleted',
      `savepoint ${sp.path} is beyond savepoints.historyLimit but could not be deleted: ${why}`,
    );
  };
  for (const sp of dropped) {
    const folder = sp.path.split('/').filter(Boolean).at(-1) ?? '';
    if (!/^sp-\d+$/.test(folder)) continue; // a user-provided restore path: not ours to delete
    if (!base || !c.obs.token) {
      await notDeleted(sp, 'slot 0 has no pod IP');
      continue;
    }
    try {
      await r.deps.runtime.deleteSavepoint(base, c.obs.token, folder);
      c.log.info({ path: sp.path }, 'savepoint beyond historyLimit deleted');
    } catch (err) {
      await notDeleted(sp, (err as Error).message);
    }
  }
}

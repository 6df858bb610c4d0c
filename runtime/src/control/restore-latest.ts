// JobConfig.restoreLatest (contract.ts): a slot resolves "the newest state of this job" itself,
// when it starts, instead of restoring a path the operator chose while the old pods still ran
// (a checkpoint completed after that choice may already have committed its Kafka
// transactions; restoring an older one would replay them as duplicates).
//
// Invariant that makes every slot pick the same one: the operator creates the pods of a
// deployment only after every pod of the previous one is gone (terminated), and the new
// deployment completes no checkpoint before all of its slots restored. Ids are one sequence
// per stateDir (checkpoints and savepoints), increasing with trigger time, so "newest" is the
// highest id; `since` excludes state of an earlier lineage (e.g. checkpoints left by a job that
// was later redeployed from an external savepoint).
import type { Logger } from 'pino';
import { CheckpointStorage } from '../checkpoint/checkpoint-storage.ts';
import { readMetadata } from '../checkpoint/metadata.ts';
import { TributaryError } from '../errors.ts';

export interface ResolvedRestore {
  /** Host path to restore; undefined = start empty. */
  path: string | undefined;
  /** `latest`: found under stateDir; `fallback`: nothing newer, the configured restoreFrom. */
  source: 'latest' | 'fallback';
  checkpointId?: number;
}

/**
 * The newest completed checkpoint or savepoint under `stateDir` triggered at or after `since`,
 * else `fallback`. Fails closed: a state location that cannot be listed, or a completed
 * checkpoint whose metadata cannot be read, stops the restore with an error naming it —
 * skipping it would silently restore older state (and replay committed output).
 */
export async function resolveLatestRestore(
  stateDir: string,
  since: string,
  fallback: string | undefined,
  logger?: Logger,
): Promise<ResolvedRestore> {
  const sinceMs = Date.parse(since);
  if (Number.isNaN(sinceMs))
    throw new TributaryError(
      'TRIB_PEER_CONFIG',
      `job config restoreLatest.since is not a timestamp: ${JSON.stringify(since)}`,
    );
  const storage = new CheckpointStorage(stateDir);
  const all = [...(await storage.completedCheckpoints()), ...(await storage.completedSavepoints())].sort(
    (a, b) => b.id - a.id,
  );
  for (const c of all) {
    let triggeredAt: number;
    try {
      triggeredAt = Date.parse((await readMetadata(c.path)).triggeredAt);
    } catch (e) {
      throw new TributaryError(
        'TRIB_RESTORE_UNREADABLE',
        `restoreLatest: the newest state under ${storage.root} includes ${c.path}, which cannot be read (${(e as TributaryError).code ?? 'error'}: ${(e as Error).message}); refusing to fall back to older state`,
        { cause: e },
      );
    }
    if (triggeredAt >= sinceMs) return { path: c.path, source: 'latest', checkpointId: c.id };
  }
  logger?.info(
    { stateDir: storage.root, fallback },
    'restoreLatest: no state since the deployment; using the fallback',
  );
  return { path: fallback, source: 'fallback' };
}

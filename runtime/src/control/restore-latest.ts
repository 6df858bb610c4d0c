// JobConfig.restoreLatest (contract.ts): a slot resolves "the newest state of this job" itself,
// when it starts, instead of restoring a path the operator chose while the old pods still ran
// (a checkpoint completed after that choice may already have committed its Kafka
// transactions; restoring an older one would replay them as duplicates).
//
// Invariant that makes every slot pick the same one: the operator creates the pods of a
// deployment only after every pod of the previous one is gone (terminated), and the new
// deployment completes no checkpoint before all of its slots restored. A replaced slot 0 gone
// from the API but still running could break the first half: with the deployments known, the
// slots fence it first and restore the first slot's recorded answer (restore-decision.ts). Ids are one sequence
// per stateDir (checkpoints and savepoints), increasing with trigger time, so "newest" is the
// highest id of the lineage.
//
// Which state is of the lineage: with `lineage` (the deployments whose state the job continues),
// state whose metadata names its `deployment` belongs iff that deployment is listed — decided
// by what storage recorded, no clock involved. State without `deployment` (written by a runtime
// before it existed) and every state when `lineage` is absent fall back to `triggeredAt >= since`
// (slot 0's clock against the operator's: skew can misplace state near the boundary). Either way
// state of an earlier lineage (checkpoints left before a redeploy from an external savepoint)
// is not picked. Nor is a fenced deployment's checkpoint completed after a successor chose what to
// restore (an orphan: its transactions were aborted; checkpoint/fenced-checkpoints.ts).
//
// The lookup is bounded (resolveLatestRestoreWithin): storage that accepts and never answers (S3
// paused or partitioned) would hold a starting slot pod for the SDK's request timeouts and
// retries (minutes), before its control API is up. It ends at the checkpoint timeout, as the
// local supervisor's restart lookup does, with TRIB_STATE_STORAGE naming the endpoint and bucket;
// the pod exits 1 and its restart policy retries. It warns while it waits, and on S3 reports the
// outage (`report`) until storage answers: the slot's early control API (restore-phase.ts) shows
// it in GET /v1/status, so the StreamJob says S3Unavailable while the new pods wait.
import type { Logger } from 'pino';
import { CheckpointStorage } from '../checkpoint/checkpoint-storage.ts';
import { readMetadata, type CheckpointMetadata } from '../checkpoint/metadata.ts';
import { stateStorageTarget } from '../checkpoint/storage/state-uri.ts';
import { StallWatch, stallWarnAfterMs } from '../checkpoint/storage/stall-watch.ts';
import { fenceDeployments } from '../checkpoint/deployment-fence.ts';
import { ensureExclusiveCommit } from '../checkpoint/storage/exclusive-commit-probe.ts';
import { orphanBounds, orphanReason, type OrphanBounds } from '../checkpoint/fenced-checkpoints.ts';
import type { ReportOutage } from '../core/outage.ts';
import { TributaryError } from '../errors.ts';
import { agreedRestore, type ResolvedRestore } from './restore-decision.ts';

export type { ResolvedRestore } from './restore-decision.ts';

export interface RestoreLatest {
  readonly since: string;
  readonly lineage?: readonly string[];
}

/** Whether state with this metadata belongs to the lineage (see the header). */
export function ofLineage(
  meta: Pick<CheckpointMetadata, 'deployment' | 'triggeredAt'>,
  sinceMs: number,
  lineage: ReadonlySet<string> | undefined,
): boolean {
  if (lineage && typeof meta.deployment === 'string') return lineage.has(meta.deployment);
  return Date.parse(meta.triggeredAt) >= sinceMs;
}

/**
 * The newest completed checkpoint or savepoint under `stateDir` of the lineage (`lineage`, else
 * triggered at or after `since`), else `fallback`. Fails closed: a state location that cannot be
 * listed, or a completed checkpoint whose metadata cannot be read, stops the restore with an
 * error naming it — skipping it would silently restore older state (and replay committed output).
 */
export async function resolveLatestRestore(
  stateDir: string,
  latest: string | RestoreLatest,
  fallback: string | undefined,
  logger?: Logger,
  deployment?: string,
): Promise<ResolvedRestore> {
  const { since, lineage } = typeof latest === 'string' ? { since: latest, lineage: undefined } : latest;
  const sinceMs = Date.parse(since);
  if (Number.isNaN(sinceMs))
    throw new TributaryError(
      'TRIB_PEER_CONFIG',
      `job config restoreLatest.since is not a timestamp: ${JSON.stringify(since)}`,
    );
  const find = (bounds?: OrphanBounds): Promise<ResolvedRestore> =>
    newestOfLineage(stateDir, sinceMs, lineage, fallback, logger, bounds);
  // With the deployments known, the ones replaced are fenced before anything is listed, and the
  // first slot's answer is every slot's (deployment-fence.ts, restore-decision.ts). The orphan
  // bounds are read after the fence: a successor that had not decided is superseded first.
  if (!lineage || !deployment) return find();
  // The decision and the `superseded` record need one writer each: a store that ignores the condition is refused.
  await ensureExclusiveCommit(stateDir);
  await fenceDeployments(stateDir, lineage, deployment);
  return agreedRestore(
    stateDir,
    deployment,
    async () => find(await orphanBounds(stateDir, lineage, deployment)),
    logger,
  );
}

async function newestOfLineage(
  stateDir: string,
  sinceMs: number,
  lineage: readonly string[] | undefined,
  fallback: string | undefined,
  logger: Logger | undefined,
  bounds: OrphanBounds = new Map(),
): Promise<ResolvedRestore> {
  const deployments = lineage ? new Set(lineage) : undefined;
  const storage = new CheckpointStorage(stateDir);
  const all = [...(await storage.completedCheckpoints()), ...(await storage.completedSavepoints())].sort(
    (a, b) => b.id - a.id,
  );
  for (const c of all) {
    let meta: CheckpointMetadata;
    try {
      meta = await readMetadata(c.path);
    } catch (e) {
      throw new TributaryError(
        'TRIB_RESTORE_UNREADABLE',
        `restoreLatest: the newest state under ${storage.root} includes ${c.path}, which cannot be read (${(e as TributaryError).code ?? 'error'}: ${(e as Error).message}); refusing to fall back to older state`,
        { cause: e },
      );
    }
    if (!ofLineage(meta, sinceMs, deployments)) continue;
    const orphan = orphanReason(stateDir, { id: c.id, deployment: meta.deployment }, bounds);
    if (orphan) {
      logger?.warn({ checkpoint: c.path, code: orphan.code }, `restoreLatest: skipping ${c.path}: ${orphan.message}`);
      continue;
    }
    return { path: c.path, source: 'latest', checkpointId: c.id };
  }
  logger?.info(
    { stateDir: storage.root, fallback, ...(lineage ? { lineage } : {}) },
    'restoreLatest: no state of the lineage; using the fallback',
  );
  return { path: fallback, source: 'fallback' };
}

/** The first warning: once half the bound passed without an answer, at most 10 s in (a stall's). */
export const lookupWarnAfterMs = stallWarnAfterMs;

/**
 * resolveLatestRestore bounded by `timeoutMs` (the job's checkpoint timeout): storage that has not
 * answered by then fails the lookup with TRIB_STATE_STORAGE naming it (endpoint and bucket on
 * S3), never a fresh start; a refusal or an unreadable checkpoint fails as resolveLatestRestore does.
 */
export async function resolveLatestRestoreWithin(
  stateDir: string,
  latest: string | RestoreLatest,
  fallback: string | undefined,
  bound: {
    timeoutMs: number;
    logger: Logger;
    /** S3 only: the outage while it waits, cleared when over. */
    report?: ReportOutage;
    /** This deployment (JobConfig.deployment): with a lineage, its predecessors are fenced. */
    deployment?: string;
  },
): Promise<ResolvedRestore> {
  const { timeoutMs, logger } = bound;
  const s3 = stateStorageTarget(stateDir);
  const storage = s3 ?? stateDir;
  // A local volume is no dependency the StreamJob names (core/outage.ts): its wait is only logged.
  const report = s3 ? bound.report : undefined;
  const startedAt = Date.now();
  let warned = false;
  const warn = (): void => {
    warned = true;
    const waited = Date.now() - startedAt;
    logger.warn(
      { storage, stateDir, waitedMs: waited, timeoutMs },
      `restoreLatest: the state storage ${storage} has not answered for ${(waited / 1000).toFixed(1)} s while this slot looks up the newest checkpoint in ${stateDir}; it fails after ${timeoutMs} ms (checkpointing timeout)`,
    );
    report?.({
      dependency: 's3',
      component: 'restore',
      target: storage,
      since: new Date(startedAt).toISOString(),
      error: `no answer for ${(waited / 1000).toFixed(1)} s while looking up the newest checkpoint in ${stateDir}`,
      bound: `fails after checkpoint timeout ${timeoutMs / 1000}s`,
    });
  };
  // The lookup is one wait with no progress until it answers: a stall watch bounds and warns it.
  const watch = new StallWatch({
    boundMs: timeoutMs,
    onWarn: warn,
    stallError: () =>
      new TributaryError(
        'TRIB_STATE_STORAGE',
        `cannot find the latest checkpoint in ${stateDir}: the state storage ${storage} did not answer within ${timeoutMs} ms (checkpointing timeout)`,
      ),
  });
  try {
    const found = await Promise.race([
      resolveLatestRestore(stateDir, latest, fallback, logger, bound.deployment),
      watch.stalled,
    ]);
    if (warned)
      logger.info(
        { storage, waitedMs: Date.now() - startedAt },
        `restoreLatest: the state storage ${storage} answered after ${((Date.now() - startedAt) / 1000).toFixed(1)} s`,
      );
    return found;
  } finally {
    watch.stop();
    // Answered or failed: the wait is over (a failure ends the slot, its error says the rest).
    if (warned) report?.(undefined);
  }
}

// One restore for all slots of a deployment. Each slot looks up "the newest checkpoint of the
// lineage" itself (restore-latest.ts); they agree as long as nothing completes a checkpoint of the
// lineage while they look. A replaced slot 0 still alive behind a partition can (until it sees
// its fence: checkpoint/deployment-fence.ts), and two slots that listed on either side of its
// metadata write would restore different checkpoints — state and transactions of two cuts. So
// the first slot to decide records its answer at `<stateDir>/restores/<deployment>.json` with
// the store's exclusive commit, and every slot of the deployment restores what that file says.
// A later deployment that found no answer there records `superseded` instead
// (checkpoint/fenced-checkpoints.ts): this deployment's slots then stop, TRIB_DEPLOYMENT_FENCED.
import type { Logger } from 'pino';
import { decisionLocation, isSuperseded } from '../checkpoint/fenced-checkpoints.ts';
import { stateStoreFor } from '../checkpoint/storage/state-store-for.ts';
import { TributaryError } from '../errors.ts';

export { decisionLocation } from '../checkpoint/fenced-checkpoints.ts';

/** What a slot restores (restore-latest.ts decides it; this file records it for the deployment). */
export interface ResolvedRestore {
  /** Host path to restore; undefined = start empty. */
  path: string | undefined;
  /** `latest`: found under stateDir; `fallback`: nothing newer, the configured restoreFrom. */
  source: 'latest' | 'fallback';
  checkpointId?: number;
}

function parseDecision(at: string, bytes: Uint8Array): ResolvedRestore {
  let d: unknown;
  try {
    d = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    d = e;
  }
  if (isSuperseded(d))
    throw new TributaryError(
      'TRIB_DEPLOYMENT_FENCED',
      `deployment ${d.by} superseded this deployment before it chose what to restore (${at}); this one stops (its pods were replaced while they still ran: a network partition or a force delete)`,
    );
  const o = d as Partial<ResolvedRestore> | null;
  const ok =
    typeof o === 'object' &&
    o !== null &&
    (o.source === 'latest' || o.source === 'fallback') &&
    (o.path === undefined || typeof o.path === 'string') &&
    (o.checkpointId === undefined || Number.isSafeInteger(o.checkpointId));
  if (!ok)
    throw new TributaryError(
      'TRIB_RESTORE_UNREADABLE',
      `the restore decision ${at} of this deployment is not a restore (another slot wrote it: refusing to guess which state the others restored)`,
    );
  return {
    source: o.source as ResolvedRestore['source'],
    path: o.path,
    ...(o.checkpointId !== undefined ? { checkpointId: o.checkpointId } : {}),
  };
}

/**
 * The deployment's restore: the one recorded by the first of its slots, else `decide()`'s,
 * recorded. Fails closed: a decision that cannot be read or written stops the slot.
 */
export async function agreedRestore(
  stateDir: string,
  deployment: string,
  decide: () => Promise<ResolvedRestore>,
  logger?: Logger,
): Promise<ResolvedRestore> {
  const at = decisionLocation(stateDir, deployment);
  const store = stateStoreFor(at);
  const storageError = (op: string, e: unknown): TributaryError =>
    e instanceof TributaryError && (e.code === 'TRIB_RESTORE_UNREADABLE' || e.code === 'TRIB_DEPLOYMENT_FENCED')
      ? e
      : new TributaryError(
          'TRIB_STATE_STORAGE',
          `cannot ${op} the restore decision ${at} of this deployment: ${(e as Error).message}`,
          { cause: e },
        );
  const recorded = async (): Promise<ResolvedRestore | undefined> => {
    const bytes = await store.read(at).catch((e: unknown) => {
      throw storageError('read', e);
    });
    return bytes === undefined ? undefined : parseDecision(at, bytes);
  };
  const before = await recorded();
  if (before) return before;
  const mine = await decide();
  try {
    await store.commit(at, new TextEncoder().encode(JSON.stringify(mine)));
    return mine;
  } catch (e) {
    // Another slot recorded first (S3 412, EEXIST): its answer is everyone's.
    const theirs = await recorded();
    if (!theirs) throw storageError('write', e);
    if (theirs.path !== mine.path)
      logger?.info({ decision: at, ours: mine.path, theirs: theirs.path }, 'restoreLatest: another slot decided first');
    return theirs;
  }
}

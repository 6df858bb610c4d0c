// Fencing a replaced deployment in the state storage. The operator starts a deployment's pods only
// once the previous deployment's slot 0 no longer answers it; a slot 0 that is cut off from the
// operator (a network partition, a node lost with its pods force-deleted) but still reaches the
// storage and Kafka would go on completing checkpoints and committing their transactions after its
// successor chose the checkpoint to restore — output the successor then replays as duplicates.
//
// The successor's slots write `<stateDir>/fences/<deployment>` for every deployment of the lineage
// they continue before they look for the newest checkpoint (restore-latest.ts), and a coordinator
// with a deployment id commits a checkpoint's transactions only if, *after* its `_metadata.json`
// is written, no fence names its deployment (coordinator.ts). Either the old slot 0 read "no
// fence" — then its metadata was written before the fence, so every successor slot lists it and
// restores it or a newer one, and the commit is one the restore would make anyway — or it sees
// the fence and stops without committing. Fencing the Kafka transactional ids first is no
// alternative: it would abort the transactions the restored checkpoint must commit.
//
// The coordinator reads the fence at trigger time too, after recording the id and before any slot
// sees it, so a successor never issues an id the old one uses (the successor reads the id mark
// after its fence). A checkpoint the old one completes after the fence is never committed by it,
// and once a successor restored an older one its transactions are aborted: such orphans are never
// restored (fenced-checkpoints.ts).
import { TributaryError } from '../errors.ts';
import { stateStoreFor } from './storage/state-store-for.ts';
import { childOf, normalizeLocation } from './storage/state-uri.ts';

const FENCES_DIR = 'fences';

/** Where the fence of `deployment` lives (a deployment id may hold `/`: it is one path segment here). */
export function fenceLocation(stateDir: string, deployment: string): string {
  return childOf(normalizeLocation(stateDir), FENCES_DIR, encodeURIComponent(deployment));
}

/**
 * Fences each of `deployments` for `by`. Idempotent: a fence already there (another slot of `by`,
 * or an earlier successor) stays as it is. Fails closed: a fence that cannot be written stops the
 * restore, since without it a live predecessor could commit past what is restored.
 */
export async function fenceDeployments(stateDir: string, deployments: readonly string[], by: string): Promise<void> {
  await Promise.all(deployments.filter((d) => d !== by).map((d) => fence(stateDir, d, by)));
}

async function fence(stateDir: string, d: string, by: string): Promise<void> {
  const at = fenceLocation(stateDir, d);
  const store = stateStoreFor(at);
  const body = new TextEncoder().encode(JSON.stringify({ deployment: d, fencedBy: by, at: new Date().toISOString() }));
  try {
    if (await store.exists(at)) return;
    await store.commit(at, body);
  } catch (e) {
    // A concurrent slot of the same successor committed it first: the fence is there all the same.
    if (await store.exists(at).catch(() => false)) return;
    throw new TributaryError(
      'TRIB_STATE_FENCE',
      `cannot fence the replaced deployment ${d} at ${at} before restoring: ${(e as Error).message}`,
      { cause: e },
    );
  }
}

/**
 * What a coordinator of `deployment` does with checkpoint `id` whose id it just recorded (stage
 * `triggered`: trigger it or not) or whose metadata it just wrote (`committed`):
 * undefined = commit it; TRIB_DEPLOYMENT_FENCED = a successor took over (stop, commit nothing);
 * TRIB_CHECKPOINT_FAILED = the fence could not be read (do not commit; a later checkpoint retries).
 */
export async function fenceVerdict(
  stateDir: string,
  deployment: string,
  { kind, id }: { kind: string; id: number },
  stage: 'triggered' | 'committed' = 'committed',
): Promise<TributaryError | undefined> {
  const at = fenceLocation(stateDir, deployment);
  try {
    if (!(await stateStoreFor(at).exists(at))) return undefined;
  } catch (e) {
    return new TributaryError(
      'TRIB_CHECKPOINT_FAILED',
      `${kind} ${id}: cannot read the fence ${at} of this deployment: ${(e as Error).message}`,
      { cause: e },
    );
  }
  return new TributaryError(
    'TRIB_DEPLOYMENT_FENCED',
    `${kind} ${id} is not ${stage}: a newer deployment of this job fenced deployment ${deployment} in ${normalizeLocation(stateDir)} and restores from there; this one stops (its pod was replaced while it still ran: a network partition or a force delete)`,
  );
}

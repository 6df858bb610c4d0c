// Whether the state storage honours the exclusive commit (`If-None-Match: *` on S3). Everything
// that must have one writer relies on it: a checkpoint's `_metadata.json` (two writers of one id),
// a deployment's restore decision and the `superseded` record (restore-decision.ts,
// fenced-checkpoints.ts). An S3-compatible store that ignores the header answers 200 to both
// writers and the last one silently wins, so the restore of a replaced deployment's successor
// could be replaced under it. Probed once per process and storage (endpoint and bucket): commit
// a fresh object twice; the second must be refused. A store that accepts it is refused, with
// TRIB_STATE_STORE_NOT_EXCLUSIVE naming it, before anything relies on it. The filesystem's
// commit (a hard link, EEXIST) is exclusive by construction and is not probed.
import { randomUUID } from 'node:crypto';
import { TributaryError } from '../../errors.ts';
import { stateStoreFor } from './state-store-for.ts';
import { childOf, normalizeLocation, stateStorageTarget } from './state-uri.ts';

const PROBES_DIR = '_probes';
const probed = new Map<string, Promise<void>>();

/** Resolves once the storage of `stateDir` is known to commit exclusively; a failed probe is tried again next time. */
export function ensureExclusiveCommit(stateDir: string): Promise<void> {
  const target = stateStorageTarget(stateDir);
  if (target === undefined) return Promise.resolve();
  let p = probed.get(target);
  if (!p) {
    p = probe(normalizeLocation(stateDir), target);
    probed.set(target, p);
    p.catch(() => probed.delete(target));
  }
  return p;
}

async function probe(stateDir: string, target: string): Promise<void> {
  const at = childOf(stateDir, PROBES_DIR, `exclusive-commit-${randomUUID()}`);
  const store = stateStoreFor(at);
  const body = new TextEncoder().encode('exclusive-commit probe\n');
  let second: unknown;
  try {
    await store.commit(at, body);
  } catch (e) {
    throw new TributaryError(
      'TRIB_STATE_STORAGE',
      `cannot probe the state storage ${target} for exclusive commits at ${at}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  try {
    await store.commit(at, body);
  } catch (e) {
    second = e;
  } finally {
    await store.remove(at).catch(() => undefined);
  }
  if (second !== undefined) {
    // Only a refusal of the condition proves it: any other failure (a lost connection) proves nothing.
    const status = ((second as { cause?: unknown }).cause as { $metadata?: { httpStatusCode?: number } } | undefined)
      ?.$metadata?.httpStatusCode;
    if (status === 412 || status === 409) return;
    throw new TributaryError(
      'TRIB_STATE_STORAGE',
      `cannot probe the state storage ${target} for exclusive commits at ${at}: the second conditional write failed otherwise than 412 Precondition Failed: ${(second as Error).message}`,
      { cause: second },
    );
  }
  throw new TributaryError(
    'TRIB_STATE_STORE_NOT_EXCLUSIVE',
    `the state storage ${target} accepted a second conditional write (If-None-Match: *) of ${at}: it does not honour exclusive commits, on which checkpoint metadata, deployment fences and restore decisions rely; refusing to use it (use a store that answers 412 Precondition Failed, e.g. AWS S3, MinIO, versitygw)`,
  );
}

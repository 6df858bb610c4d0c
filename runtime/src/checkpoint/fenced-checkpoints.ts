// Which checkpoints of a fenced deployment may still be restored (deployment-fence.ts).
//
// A successor S fences the deployments it continues, lists, and records what it restores at
// `<stateDir>/restores/<S>.json` (control/restore-decision.ts). A replaced deployment D that still
// runs can complete a checkpoint K after S listed: D reads its fence and commits nothing, and S,
// once its sinks start, fences D's transactional ids, which aborts K's transactions. K's metadata
// stays. Restoring K later would resume the sources after records whose output was aborted:
// lost. Since S restored the highest id of the lineage it listed, every checkpoint of D with an
// id above S's restore was written after S listed — an orphan. So:
//
//   a checkpoint of D is restorable iff, for every successor S of D (a deployment before D in
//   the lineage, which lists newest first) with a recorded restore, its id <= S's restored id
//   (a restore without a checkpoint id — nothing of the lineage, the fallback — bounds D at 0).
//
// A successor with no recorded restore may be deciding right now (a replaced successor that still
// runs), and would fence D's transactional ids after; so the deployment that decides records
// `superseded` in its place first (exclusive commit): that successor's slots then refuse to start
// (TRIB_DEPLOYMENT_FENCED), and it bounds nothing. If it recorded first, its restore bounds D.
import { TributaryError } from '../errors.ts';
import { fenceLocation } from './deployment-fence.ts';
import { stateStoreFor } from './storage/state-store-for.ts';
import { childOf, normalizeLocation } from './storage/state-uri.ts';

const RESTORES_DIR = 'restores';

/** Where the restore decision of `deployment` is recorded. */
export function decisionLocation(stateDir: string, deployment: string): string {
  return childOf(normalizeLocation(stateDir), RESTORES_DIR, `${encodeURIComponent(deployment)}.json`);
}

/** The record a deciding deployment leaves for a successor that had not decided: it must never start. */
export interface Superseded {
  superseded: true;
  by: string;
}

export function isSuperseded(d: unknown): d is Superseded {
  const o = d as Partial<Superseded> | null;
  return typeof o === 'object' && o !== null && o.superseded === true && typeof o.by === 'string';
}

/** A recorded decision as far as bounds go: restored up to `upTo`, superseded, or none yet. */
type Recorded = { upTo: number } | { superseded: string } | undefined;

async function recorded(stateDir: string, s: string): Promise<Recorded> {
  const at = decisionLocation(stateDir, s);
  let bytes: Uint8Array | undefined;
  try {
    bytes = await stateStoreFor(at).read(at);
  } catch (e) {
    throw unreadable(at, e);
  }
  if (bytes === undefined) return undefined;
  let d: unknown;
  try {
    d = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw unreadable(at, e);
  }
  if (isSuperseded(d)) return { superseded: d.by };
  const o = d as { source?: unknown; checkpointId?: unknown } | null;
  if (typeof o !== 'object' || o === null || (o.source !== 'latest' && o.source !== 'fallback'))
    throw unreadable(at, new Error('not a restore decision'));
  return { upTo: Number.isSafeInteger(o.checkpointId) ? (o.checkpointId as number) : 0 };
}

function unreadable(at: string, e: unknown): TributaryError {
  return new TributaryError(
    'TRIB_RESTORE_UNREADABLE',
    `the restore decision ${at} cannot be read (${(e as Error).message}); without it, which checkpoints of the deployments it fenced were orphaned is unknown: refusing to restore`,
    { cause: e },
  );
}

/** Per fenced deployment: the highest checkpoint id still restorable, and the successor that bounds it. */
export type OrphanBounds = ReadonlyMap<string, { upTo: number; by: string }>;

/**
 * The bounds for `self`, deciding its restore over `lineage` (newest first). Successors that have
 * not decided are recorded as superseded by `self` first (see the header). Fails closed.
 */
export async function orphanBounds(stateDir: string, lineage: readonly string[], self: string): Promise<OrphanBounds> {
  const others = lineage.filter((d) => d !== self);
  const decisions = new Map<string, Recorded>();
  for (const s of others.slice(0, -1)) decisions.set(s, await settled(stateDir, s, self));
  const bounds = new Map<string, { upTo: number; by: string }>();
  others.forEach((d, i) => {
    for (const s of others.slice(0, i)) {
      const r = decisions.get(s);
      if (r && 'upTo' in r && r.upTo < (bounds.get(d)?.upTo ?? Infinity)) bounds.set(d, { upTo: r.upTo, by: s });
    }
  });
  return bounds;
}

/** `s`'s recorded decision, after recording `superseded` for it when it had none. */
async function settled(stateDir: string, s: string, self: string): Promise<Recorded> {
  const before = await recorded(stateDir, s);
  if (before) return before;
  const at = decisionLocation(stateDir, s);
  const body: Superseded = { superseded: true, by: self };
  try {
    await stateStoreFor(at).commit(at, new TextEncoder().encode(JSON.stringify(body)));
    return { superseded: self };
  } catch (e) {
    // `s` (or another decider) recorded first: what it recorded counts.
    const theirs = await recorded(stateDir, s);
    if (theirs) return theirs;
    throw new TributaryError(
      'TRIB_STATE_STORAGE',
      `cannot record that deployment ${s} is superseded at ${at}: ${(e as Error).message}`,
      { cause: e },
    );
  }
}

/** Why checkpoint `id` of `deployment` must not be restored (an orphan), else undefined. */
export function orphanReason(
  stateDir: string,
  c: { id: number; deployment: string | undefined },
  bounds: OrphanBounds,
): TributaryError | undefined {
  const b = c.deployment === undefined ? undefined : bounds.get(c.deployment);
  if (!b || c.id <= b.upTo) return undefined;
  return new TributaryError(
    'TRIB_RESTORE_FENCED_ORPHAN',
    `checkpoint ${c.id} of ${normalizeLocation(stateDir)} was completed by deployment ${c.deployment} after it was fenced and after deployment ${b.by} chose to restore ${b.upTo > 0 ? `checkpoint ${b.upTo}` : 'no checkpoint of the lineage'}; its Kafka transactions were aborted, so restoring it would lose their records`,
  );
}

/**
 * The same verdict for one checkpoint, without recording anything (a recovery that doubts the
 * checkpoint it restored): bounded by the deployment that fenced the checkpoint's deployment
 * first (its fence names it), when that one recorded a restore. Fails closed on a fence or
 * decision it cannot read.
 */
export async function orphanVerdict(
  stateDir: string,
  c: { id: number; deployment: string | undefined },
): Promise<TributaryError | undefined> {
  if (c.deployment === undefined) return undefined;
  const at = fenceLocation(stateDir, c.deployment);
  let by: unknown;
  try {
    const bytes = await stateStoreFor(at).read(at);
    if (bytes === undefined) return undefined;
    by = (JSON.parse(Buffer.from(bytes).toString('utf8')) as { fencedBy?: unknown }).fencedBy;
  } catch (e) {
    throw new TributaryError('TRIB_RESTORE_UNREADABLE', `the fence ${at} cannot be read: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (typeof by !== 'string') return undefined;
  const r = await recorded(stateDir, by);
  const bounds = r && 'upTo' in r ? new Map([[c.deployment, { upTo: r.upTo, by }]]) : new Map();
  return orphanReason(stateDir, c, bounds);
}

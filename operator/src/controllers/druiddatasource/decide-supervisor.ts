// What a DruidDatasource reconcile does, from what it observed: the object (spec, status), the
// supervisor spec it wants and the live one Druid holds (whose context records its claimant).
// Pure: reconcile.ts observes, these decide, act.ts and record.ts carry the decision out.
import type { DruidDatasource } from '../../api/v1alpha1/druiddatasource.ts';
import type { DruidError } from '../../druid/errors.ts';
import type { SupervisorSpec } from '../../druid/types.ts';
import { claimConflict } from './supervisor-claim.ts';
import { driftedPaths } from './supervisor-spec.ts';

/** What to do with the live supervisor of a DruidDatasource that is not being deleted. */
export type SyncAction =
  /** Another object (or no Tributary object) owns it: touch nothing, say why (status ClaimedElsewhere). */
  | { readonly kind: 'refuse'; readonly conflict: string }
  /** None exists: post the desired spec; `recreate` when status says we had one (terminated outside). */
  | { readonly kind: 'create'; readonly recreate: boolean }
  /** Only `suspended` differs: Druid's own suspend or resume (the tasks hand off, nothing restarts). */
  | { readonly kind: 'suspend' }
  | { readonly kind: 'resume' }
  /** Keys we own differ (`drift`: their paths): post the desired spec over the live one. */
  | { readonly kind: 'update'; readonly drift: readonly string[] }
  /** The live supervisor is what the spec asks for. */
  | { readonly kind: 'none' };

export type DS = Pick<DruidDatasource, 'metadata' | 'spec' | 'status'>;

/** The claim first (an object never writes a supervisor it does not own), then existence, then drift. */
export function decide(ds: DS, id: string, desired: SupervisorSpec, live: SupervisorSpec | undefined): SyncAction {
  const conflict = claimConflict(ds, id, live);
  if (conflict !== undefined) return { kind: 'refuse', conflict };
  if (live === undefined) return { kind: 'create', recreate: Boolean(ds.status?.supervisorId) };
  const drift = driftedPaths(desired, live);
  if (drift.length === 1 && drift[0] === 'suspended') return { kind: ds.spec.suspend ? 'suspend' : 'resume' };
  if (drift.length > 0) return { kind: 'update', drift };
  return { kind: 'none' };
}

/** What to do with the supervisor of a DruidDatasource being deleted (its finalizer still on). */
export type DeletionAction =
  /** deletionPolicy Retain: the supervisor keeps running. */
  | { readonly kind: 'retain' }
  /** deletionPolicy Terminate, but the supervisor is not ours: it keeps running. */
  | { readonly kind: 'retain-claimed'; readonly conflict: string }
  | { readonly kind: 'terminate' };

/** Whether deciding a deletion needs the live supervisor (only to check the claim before a terminate). */
export function deletionReadsLive(ds: DS): boolean {
  return ds.spec.deletionPolicy === 'Terminate';
}

/**
 * `live` undefined also when Druid could not be asked: the terminate is then attempted, and its
 * failure (Druid down) keeps the finalizer, so a supervisor owned elsewhere is never terminated
 * on a guess: its claim is read once Druid answers.
 */
export function decideDeletion(ds: DS, id: string, live: SupervisorSpec | undefined): DeletionAction {
  if (!deletionReadsLive(ds)) return { kind: 'retain' };
  const conflict = claimConflict(ds, id, live);
  return conflict === undefined ? { kind: 'terminate' } : { kind: 'retain-claimed', conflict };
}

/** A status reason of a reconcile that could not bring the supervisor where the spec wants it. */
export type FailureReason =
  | 'DruidUnavailable'
  | 'DruidUnauthorized'
  | 'SpecRejected'
  | 'TerminateFailed'
  | 'ClaimedElsewhere'
  | 'CredentialsUnavailable'
  | 'InsecureCredentials';

/** Reasons a retry of the same spec cannot fix: Synced False (else Unknown: it may yet sync). */
export const refusedReasons: ReadonlySet<FailureReason> = new Set([
  'SpecRejected',
  'CredentialsUnavailable',
  'InsecureCredentials',
  'ClaimedElsewhere',
]);

/** How a Druid error during a sync is answered. */
export type DruidFailure =
  /** Druid down, failing, or refusing our credentials: retried through the queue's backoff. */
  | { readonly reason: 'DruidUnavailable' | 'DruidUnauthorized'; readonly retry: 'backoff' }
  /** Druid refused what we sent: the same spec cannot succeed; looked at again later or on a spec edit. */
  | { readonly reason: 'SpecRejected'; readonly retry: 'later'; readonly afterMs: number };

export const specRejectedRetryMs = 5 * 60_000;

export function druidFailure(err: Pick<DruidError, 'code' | 'retriable'>): DruidFailure {
  if (err.code === 'DRUID_ERR_UNAUTHORIZED') return { reason: 'DruidUnauthorized', retry: 'backoff' };
  if (err.retriable) return { reason: 'DruidUnavailable', retry: 'backoff' };
  return { reason: 'SpecRejected', retry: 'later', afterMs: specRejectedRetryMs };
}

/**
 * Druid has no watch: a settled supervisor is polled at `pollMs`, faster while it is on its way
 * (never slower than `pollMs`: an interval under the settling one applies while settling too).
 */
export const settlingPollMs = 5_000;
/** A supervisor owned elsewhere: looked at again now and then (its owner may let go). */
export const claimRetryMs = 60_000;

export function nextPollMs(action: SyncAction, settled: boolean, pollMs: number): number {
  return action.kind !== 'none' || !settled ? Math.min(settlingPollMs, pollMs) : pollMs;
}

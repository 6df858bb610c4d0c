// Where a StreamJob's running slots keep their keyed state (spec.stateBackend): the heap, or a
// local disk store on an emptyDir of each slot pod. Every consumer (validation, the deployment
// hash, the job config, the slot pod) asks this module, so they agree on one effective backend.
// Invariant: the local store is only a cache of what checkpoints hold; the volume is pod-local
// and goes with the pod, and no operator decision reads it.
import type { JobConfig } from '../../../../runtime/src/control/contract.ts';
import type { StreamJobSpec } from '../../api/v1alpha1/streamjob.ts';
import type { SpecIssue } from '../spec-issues.ts';
import type { EffectiveStateStorage } from './state-storage.ts';

/** Where the disk backend's volume is mounted in the slot container: the runtime's stateBackend.dir. */
export const LOCAL_STATE_DIR = '/var/lib/tributary/state';
/** The volume's name: `state` is stateStorage's (a pvc or emptyDir at stateStorage.path). */
export const LOCAL_STATE_VOLUME = 'local-state';
export const DEFAULT_LOCAL_VOLUME_SIZE = '10Gi';
/** Below this a cache holds too few values to spare the store a read per record. */
export const MIN_CACHE_ENTRIES = 1000;

export type EffectiveStateBackend =
  | { readonly kind: 'heap' }
  /** cacheEntries absent: the runtime's default. */
  | { readonly kind: 'disk'; readonly localVolumeSize: string; readonly cacheEntries?: number };

export function effectiveStateBackend(spec: Pick<StreamJobSpec, 'stateBackend'>): EffectiveStateBackend {
  const sb = spec.stateBackend;
  if (sb?.type !== 'disk') return { kind: 'heap' };
  return {
    kind: 'disk',
    localVolumeSize: sb.localVolumeSize ?? DEFAULT_LOCAL_VOLUME_SIZE,
    ...(sb.cacheEntries !== undefined ? { cacheEntries: sb.cacheEntries } : {}),
  };
}

/**
 * What the deployment hash covers of stateBackend: heap spelled out (`{}`, `type: heap`) hashes as
 * absent and disk with its defaults filled in, so that writing down a default redeploys nothing;
 * anything else (which validation refuses) as written.
 */
export function stateBackendForHash(spec: StreamJobSpec): unknown {
  const sb = spec.stateBackend as Record<string, unknown> | undefined;
  if (sb === undefined) return undefined;
  const eff = effectiveStateBackend(spec);
  if (eff.kind === 'disk') return eff;
  const plainHeap = Object.keys(sb).every((k) => k === 'type' && (sb[k] === undefined || sb[k] === 'heap'));
  return plainHeap ? undefined : sb;
}

/** The runtime's stateBackend (JobConfig); absent for heap, which is also what an older runtime runs. */
export function stateBackendConfig(spec: StreamJobSpec): Pick<JobConfig, 'stateBackend'> {
  const eff = effectiveStateBackend(spec);
  if (eff.kind === 'heap') return {};
  return {
    stateBackend: {
      kind: 'disk',
      dir: LOCAL_STATE_DIR,
      ...(eff.cacheEntries !== undefined ? { cacheEntries: eff.cacheEntries } : {}),
    },
  };
}

/** The disk backend's emptyDir and its mount; none for heap. */
export function localStateVolume(
  spec: StreamJobSpec,
): { volume: Record<string, unknown>; mount: Record<string, unknown> } | undefined {
  const eff = effectiveStateBackend(spec);
  if (eff.kind === 'heap') return undefined;
  return {
    volume: { name: LOCAL_STATE_VOLUME, emptyDir: { sizeLimit: eff.localVolumeSize } },
    mount: { name: LOCAL_STATE_VOLUME, mountPath: LOCAL_STATE_DIR },
  };
}

/** A Kubernetes quantity without sign (what a sizeLimit takes): digits, a fraction, a suffix or exponent. */
const quantityPattern = /^([0-9]+(\.[0-9]*)?|\.[0-9]+)([KMGTPE]i|[kMGTPE]|[eE][0-9]+)?$/;

/**
 * What the schema says of stateBackend, checked again for a spec it did not check (the schema's
 * enum, pattern, minimum and CEL rule), and what it cannot say: a size above zero, and that the
 * local volume's mount path and stateStorage's do not nest (one would hide the other's files).
 */
export function stateBackendIssues(spec: StreamJobSpec, storage: EffectiveStateStorage): SpecIssue[] {
  const sb = spec.stateBackend as Record<string, unknown> | undefined;
  if (sb === undefined || sb === null) return [];
  const at = 'spec.stateBackend';
  if (typeof sb !== 'object' || Array.isArray(sb)) return [{ path: at, message: 'expected an object' }];
  const issues: SpecIssue[] = [];
  const type = sb['type'] ?? 'heap';
  if (type !== 'heap' && type !== 'disk')
    issues.push({ path: `${at}.type`, message: `must be heap or disk, got ${JSON.stringify(type)}` });
  if (type === 'heap') {
    for (const field of ['localVolumeSize', 'cacheEntries'] as const)
      if (sb[field] !== undefined)
        issues.push({
          path: `${at}.${field}`,
          message: `applies to type disk only (the heap backend has no local volume or cache); set type: disk or drop it`,
        });
    return issues;
  }
  const size = sb['localVolumeSize'];
  if (size !== undefined && !isPositiveQuantity(size))
    issues.push({
      path: `${at}.localVolumeSize`,
      message: `must be a Kubernetes quantity above zero, e.g. 10Gi or 500Mi, got ${JSON.stringify(size)}`,
    });
  const cache = sb['cacheEntries'];
  if (cache !== undefined && !(Number.isInteger(cache) && (cache as number) >= MIN_CACHE_ENTRIES))
    issues.push({
      path: `${at}.cacheEntries`,
      message: `must be an integer of at least ${MIN_CACHE_ENTRIES}, got ${JSON.stringify(cache)}`,
    });
  if (type === 'disk' && storage.kind !== 's3' && nests(storage.path, LOCAL_STATE_DIR))
    issues.push({
      path: 'spec.stateStorage.path',
      message: `${JSON.stringify(storage.path)} and the disk state backend's local volume (${LOCAL_STATE_DIR}) would be mounted one inside the other; choose another path`,
    });
  return issues;
}

/** A quantity string whose number (before its suffix or exponent) is above zero. */
function isPositiveQuantity(v: unknown): boolean {
  return typeof v === 'string' && quantityPattern.test(v) && Number(/^[0-9.]*/.exec(v)?.[0]) > 0;
}

/** Whether mount paths `a` and `b` are equal or one lies under the other. */
function nests(a: string, b: string): boolean {
  const norm = (p: string): string => `${p.replace(/\/+$/, '')}/`;
  return norm(a).startsWith(norm(b)) || norm(b).startsWith(norm(a));
}

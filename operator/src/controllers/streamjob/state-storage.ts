// Where a StreamJob's checkpoints and savepoints live. The spec's stateStorage names at most one
// place (s3, pvc or emptyDir); when it names none, the operator-wide default applies (the chart's
// values.stateStorage), else an emptyDir. Every consumer (the deployment hash, the job config, the
// slot pods, validation) asks this module, so they agree on one effective place.
// Invariant: on s3 a job's state lives under s3://<bucket>/<prefix>/<namespace>/<name>: two jobs
// never share a location, and the location is a pure function of the spec, the default and the
// job's identity (a restart, rescale or operator restart finds the same objects).
import { parseDuration } from '../../../../runtime/src/graph/duration.ts';
import type { S3StateStorage, StateStorage, StreamJob, StreamJobSpec } from '../../api/v1alpha1/streamjob.ts';
import type { SpecIssue } from '../spec-issues.ts';

/** What the operator fills in for a spec that leaves it empty. */
export interface JobDefaults {
  /** Runtime image when spec.image is empty. */
  readonly image: string;
  /** stateStorage when the spec names no place (no s3, pvc or emptyDir). */
  readonly stateStorage?: StateStorage;
}

export type StorageDefaults = Pick<JobDefaults, 'stateStorage'>;

export type EffectiveStateStorage =
  | { readonly kind: 's3'; readonly s3: S3StateStorage; readonly retention: Retention }
  | { readonly kind: 'pvc'; readonly claimName: string; readonly path: string; readonly retention: Retention }
  | {
      readonly kind: 'emptyDir';
      readonly emptyDir: Record<string, unknown>;
      readonly path: string;
      readonly retention: Retention;
    };

export type Retention = 'Delete' | 'Retain';

const defaultPath = '/state';

function namesPlace(s: StateStorage | undefined): s is StateStorage {
  return s !== undefined && (s.s3 !== undefined || s.pvc !== undefined || s.emptyDir !== undefined);
}

export function effectiveStateStorage(spec: StreamJobSpec, defaults: StorageDefaults): EffectiveStateStorage {
  const own = spec.stateStorage;
  const place = namesPlace(own) ? own : namesPlace(defaults.stateStorage) ? defaults.stateStorage : own;
  const retention = own?.retention ?? defaults.stateStorage?.retention ?? 'Delete';
  const path = place?.path || own?.path || defaultPath;
  if (place?.s3) return { kind: 's3', s3: place.s3, retention };
  if (place?.pvc) return { kind: 'pvc', claimName: place.pvc.claimName, path, retention };
  return { kind: 'emptyDir', emptyDir: place?.emptyDir ?? {}, path, retention };
}

/** s3://bucket/<prefix>/<namespace>/<name> (no trailing slash; empty prefix segments dropped). */
export function s3Location(s3: S3StateStorage, namespace: string, name: string): string {
  const segments = [...(s3.prefix ?? '').split('/'), namespace, name].filter(Boolean);
  return `s3://${s3.bucket}/${segments.join('/')}`;
}

/** The runtime's stateDir: the job's S3 location, or the volume's mount path. */
export function stateLocation(job: StreamJob, storage: EffectiveStateStorage): string {
  return storage.kind === 's3' ? s3Location(storage.s3, job.metadata.namespace, job.metadata.name) : storage.path;
}

/**
 * What the deployment hash covers of stateStorage: the spec's own block, plus the operator's default
 * when that is what applies (a changed default replaces the pods of the jobs that use it). A job
 * that names its place hashes as it always did, so an operator upgrade does not redeploy it.
 */
export function storageForHash(spec: StreamJobSpec, defaults: StorageDefaults): unknown {
  if (namesPlace(spec.stateStorage) || !namesPlace(defaults.stateStorage)) return spec.stateStorage;
  return { ...(spec.stateStorage as object | undefined), operatorDefault: defaults.stateStorage };
}

const bucketPattern = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const endpointPattern = /^https?:\/\/[^/\s]+\/?$/;

/**
 * What the schema cannot say about stateStorage: the s3 fields' forms (also checked for the
 * operator's default, which no schema checks) and that savepoint/last-state jobs need a place that
 * outlives their pods.
 */
export function stateStorageIssues(
  spec: StreamJobSpec,
  defaults: StorageDefaults,
  at = 'spec.stateStorage',
): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const own = spec.stateStorage;
  if (own) issues.push(...placeIssues(own, at));
  const storage = effectiveStateStorage(spec, defaults);
  const mode = spec.upgradeMode ?? 'savepoint';
  if (storage.kind === 'emptyDir' && mode !== 'stateless')
    issues.push({
      path: at,
      message:
        `upgradeMode ${mode} keeps state across pod replacement, but ${namesPlace(own) ? 'the emptyDir named here' : 'the default (no stateStorage here and no operator default) is an emptyDir, which'} ` +
        `is deleted with each slot pod: the savepoint a rescale, upgrade or suspend takes would be lost. ` +
        `Use stateStorage.s3 (object storage; or install the operator with a default, the chart's stateStorage.s3), ` +
        `a pvc every slot pod can mount, or upgradeMode: stateless`,
    });
  return issues;
}

/** Form of one stateStorage object (the spec's or the operator's default). */
export function placeIssues(s: StateStorage, at: string): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const places = (['s3', 'pvc', 'emptyDir'] as const).filter((k) => s[k] !== undefined);
  if (places.length > 1)
    issues.push({ path: at, message: `names ${places.join(' and ')}; a job's state lives in exactly one place` });
  if (s.retention !== undefined && s.retention !== 'Delete' && s.retention !== 'Retain')
    issues.push({ path: `${at}.retention`, message: `must be Delete or Retain, got ${JSON.stringify(s.retention)}` });
  const s3 = s.s3;
  if (!s3) return issues;
  const f = `${at}.s3`;
  if (typeof s3.bucket !== 'string' || !bucketPattern.test(s3.bucket) || s3.bucket.includes('..'))
    issues.push({
      path: `${f}.bucket`,
      message: `must be an S3 bucket name (3-63 lowercase letters, digits, '.', '-'), got ${JSON.stringify(s3.bucket)}`,
    });
  if (s3.prefix !== undefined) {
    const parts = String(s3.prefix).split('/');
    if (s3.prefix.startsWith('/') || parts.includes('..') || parts.includes('.') || /[\s\\]/.test(s3.prefix))
      issues.push({
        path: `${f}.prefix`,
        message: `must be a relative key prefix without '.', '..', '\\' or spaces, got ${JSON.stringify(s3.prefix)}`,
      });
  }
  if (s3.endpoint !== undefined && !endpointPattern.test(s3.endpoint))
    issues.push({
      path: `${f}.endpoint`,
      message: `must be http(s)://host[:port], got ${JSON.stringify(s3.endpoint)}`,
    });
  if (s3.region !== undefined && !/^[a-z0-9-]{1,64}$/.test(s3.region))
    issues.push({
      path: `${f}.region`,
      message: `must be a region name like us-east-1, got ${JSON.stringify(s3.region)}`,
    });
  if (s3.requestTimeout !== undefined) {
    const ms = parseDuration(String(s3.requestTimeout));
    if (ms === undefined || ms < 100 || ms > 3_600_000)
      issues.push({
        path: `${f}.requestTimeout`,
        message: `must be a duration from 100ms to 1h, got ${JSON.stringify(s3.requestTimeout)}`,
      });
  }
  const ref = s3.credentialsSecretRef;
  if (ref !== undefined && (typeof ref.name !== 'string' || !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(ref.name)))
    issues.push({
      path: `${f}.credentialsSecretRef.name`,
      message: `must name a Secret in the job's namespace, got ${JSON.stringify(ref.name)}`,
    });
  return issues;
}

// What of a spec needs new pods, hashed: equal hashes = the running deployment already runs
// it; equal shape hashes with different replicas = a rescale. Deployment ids carry the hash.
// Which fields count is fields.ts's table (every field classified); this file only says how
// a field's value is hashed. Pure; the hash is stable across key order (sorted keys), and an
// absent field hashes as if its key did not exist: a new 'redeploy' field keeps the hashes of
// the specs that leave it unset (given no schema default), so an operator upgrade redeploys no job.
import { createHash } from 'node:crypto';
import type { StreamJobSpec } from '../../../api/v1alpha1/streamjob.ts';
import { SPEC_FIELDS, specFields, type DeployedField } from './fields.ts';
import { stateBackendForHash } from '../state-backend.ts';
import { storageForHash, type JobDefaults } from '../state-storage.ts';

/**
 * A deployed field's value as hashed, where it is not the field itself: the effective image, the
 * effective state storage (the operator's default when the spec names no place) and state backend. These forms
 * are what running jobs' hashes were computed from; changing one redeploys every job.
 */
const HASHED_AS: { readonly [K in DeployedField]?: (spec: StreamJobSpec, defaults: JobDefaults) => unknown } = {
  image: (spec, defaults) => spec.image || defaults.image,
  stateStorage: (spec, defaults) => storageForHash(spec, defaults),
  podTemplate: (spec) => spec.podTemplate ?? {},
  // Heap (absent, or spelled out) hashes as absent; disk with its defaults filled in.
  stateBackend: (spec) => stateBackendForHash(spec),
};

const deployedFields = specFields.filter(
  (k): k is DeployedField => SPEC_FIELDS[k] === 'redeploy' || SPEC_FIELDS[k] === 'rescale',
);

/** The fields whose change needs new pods (fields.ts); everything else applies otherwise. */
export function deploymentSpecOf(spec: StreamJobSpec, defaults: JobDefaults): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of deployedFields) out[k] = HASHED_AS[k] ? HASHED_AS[k](spec, defaults) : spec[k];
  return out;
}

/** Stable hash (sorted keys) of what matters for deployment. */
export function specHash(spec: StreamJobSpec, defaults: JobDefaults): string {
  return createHash('sha256')
    .update(stableJson(deploymentSpecOf(spec, defaults)))
    .digest('hex')
    .slice(0, 16);
}

/** Hash of the deployment spec without the rescale field (replicas): equal + different replicas = a rescale. */
export function shapeHash(spec: StreamJobSpec, defaults: JobDefaults): string {
  const shape = Object.fromEntries(
    Object.entries(deploymentSpecOf(spec, defaults)).filter(([k]) => SPEC_FIELDS[k as DeployedField] !== 'rescale'),
  );
  return createHash('sha256').update(stableJson(shape)).digest('hex').slice(0, 16);
}

export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export function deploymentId(hash: string, counter: number): string {
  return `${hash.slice(0, 8)}-${counter}`;
}

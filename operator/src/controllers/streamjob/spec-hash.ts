// What of a spec needs new pods, hashed: equal hashes = the running deployment already runs
// it; equal shape hashes with different replicas = a rescale. Deployment ids carry the hash.
// Pure; the hash is stable across key order (sorted keys).
import { createHash } from 'node:crypto';
import type { StreamJobSpec } from '../../api/v1alpha1/streamjob.ts';
import { storageForHash, type JobDefaults } from './state-storage.ts';

/** The fields whose change needs new pods; everything else (policies) applies in place. */
export function deploymentSpecOf(spec: StreamJobSpec, defaults: JobDefaults): Record<string, unknown> {
  return {
    image: spec.image || defaults.image,
    replicas: spec.replicas,
    maxParallelism: spec.maxParallelism,
    restartNonce: spec.restartNonce,
    checkpointing: spec.checkpointing,
    stateStorage: storageForHash(spec, defaults),
    podTemplate: spec.podTemplate ?? {},
    graph: spec.graph,
    // Application mode: the module (and the image above) define the graph; a new one is an upgrade.
    job: spec.job,
  };
}

/** Stable hash (sorted keys) of what matters for deployment. */
export function specHash(spec: StreamJobSpec, defaults: JobDefaults): string {
  return createHash('sha256')
    .update(stableJson(deploymentSpecOf(spec, defaults)))
    .digest('hex')
    .slice(0, 16);
}

/** Hash of the deployment spec without replicas: equal hashes + different replicas = a rescale. */
export function shapeHash(spec: StreamJobSpec, defaults: JobDefaults): string {
  const { replicas: _r, ...rest } = deploymentSpecOf(spec, defaults);
  void _r;
  return createHash('sha256').update(stableJson(rest)).digest('hex').slice(0, 16);
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

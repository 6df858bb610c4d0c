// Classifies what the spec asks for against what is deployed. Pure.
import type { StreamJob, StreamJobSpec, StreamJobStatus } from '../../../api/v1alpha1/streamjob.ts';
import { shapeHash, specHash } from './hash.ts';
import type { JobDefaults } from '../state-storage.ts';

export type Change =
  | { kind: 'none' }
  | { kind: 'deploy' }
  | { kind: 'resume' }
  | { kind: 'suspend' }
  | { kind: 'rescale'; from: number; to: number }
  | { kind: 'upgrade' }
  | { kind: 'savepoint' };

/** The spec a deployment ran with (status.deployed.spec), if recorded. */
export function deployedSpec(status: StreamJobStatus | undefined): StreamJobSpec | undefined {
  const text = status?.deployed?.spec;
  if (!text) return undefined;
  try {
    return JSON.parse(text) as StreamJobSpec;
  } catch {
    return undefined;
  }
}

/**
 * What to do for `spec` (already validated) given status. Order matters: suspend wins over
 * everything, then (re)deploy, then a spec change, then a manual savepoint.
 */
export function classify(job: StreamJob, spec: StreamJobSpec, defaults: JobDefaults): Change {
  const st = job.status;
  const deployed = st?.deployed;
  if (!deployed) {
    if (spec.state === 'suspended') return { kind: 'none' };
    return st?.resumeFrom ? { kind: 'resume' } : { kind: 'deploy' };
  }
  if (spec.state === 'suspended') return { kind: 'suspend' };
  const hash = specHash(spec, defaults);
  if (hash !== deployed.specHash) {
    const old = deployedSpec(st);
    if (old && shapeHash(old, defaults) === shapeHash(spec, defaults) && old.replicas !== spec.replicas) {
      return { kind: 'rescale', from: old.replicas, to: spec.replicas };
    }
    return { kind: 'upgrade' };
  }
  if ((spec.savepointNonce ?? 0) !== (st?.savepointNonce ?? 0)) return { kind: 'savepoint' };
  return { kind: 'none' };
}

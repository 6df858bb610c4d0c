// The deployment hash decides what needs new pods: in application mode the job module (with
// the image) stands where the graph does, so a new module or image is an upgrade, while a
// graph job's hash is what it was before the job field existed (no spurious upgrades).
import { describe, expect, it } from 'vitest';
import type { StreamJobSpec } from '../../api/v1alpha1/streamjob.ts';
import { shapeHash, specHash } from './spec-hash.ts';
import { sampleSpec } from './testing/sample-job.ts';

const defaults = { image: 'tributary/runtime:dev' };
const app = (module: string, image?: string): StreamJobSpec => {
  const { graph: _g, ...rest } = sampleSpec;
  void _g;
  return { ...rest, job: { module }, ...(image ? { image } : {}) };
};

describe('spec hash', () => {
  it('changes with the job module and the image, and a rescale keeps the shape', () => {
    const v1 = app('/app/jobs/clicks/v1.ts');
    expect(specHash(v1, defaults)).not.toBe(specHash(app('/app/jobs/clicks/v2.ts'), defaults));
    expect(specHash(v1, defaults)).not.toBe(specHash(app('/app/jobs/clicks/v1.ts', 'clicks:2'), defaults));
    expect(specHash(v1, defaults)).toBe(specHash(app('/app/jobs/clicks/v1.ts'), defaults));
    const rescaled = { ...v1, replicas: v1.replicas + 1 };
    expect(specHash(rescaled, defaults)).not.toBe(specHash(v1, defaults));
    expect(shapeHash(rescaled, defaults)).toBe(shapeHash(v1, defaults));
    expect(shapeHash(app('/app/jobs/clicks/v2.ts'), defaults)).not.toBe(shapeHash(v1, defaults));
  });

  it('leaves a graph job’s hash as it was without the job field', () => {
    const withUndefined = { ...sampleSpec, job: undefined } as StreamJobSpec;
    expect(specHash(withUndefined, defaults)).toBe(specHash(sampleSpec, defaults));
  });
});

import { describe, expect, it } from 'vitest';
import { shapeHash, specHash } from './spec-hash.ts';
import { classify } from './spec-diff.ts';
import { sampleJob as job, sampleSpec as spec } from './testing/sample-job.ts';

describe('spec classification', () => {
  it('classifies replicas-only changes as rescale, others as upgrade, policies as nothing', () => {
    const deployed = {
      id: 'x-1',
      specHash: specHash(spec, { image: 'img' }),
      parallelism: 2,
      startedAt: '',
      spec: JSON.stringify(spec),
    };
    expect(classify(job(spec, { deployed }), spec, { image: 'img' }).kind).toBe('none');
    expect(classify(job(spec, { deployed }), { ...spec, replicas: 3 }, { image: 'img' })).toEqual({
      kind: 'rescale',
      from: 2,
      to: 3,
    });
    expect(classify(job(spec, { deployed }), { ...spec, image: 'other' }, { image: 'img' }).kind).toBe('upgrade');
    expect(
      classify(
        job(spec, { deployed }),
        { ...spec, upgradeMode: 'stateless', savepoints: { ...spec.savepoints, historyLimit: 5 } },
        { image: 'img' },
      ).kind,
    ).toBe('none');
    expect(classify(job(spec, { deployed }), { ...spec, state: 'suspended' }, { image: 'img' }).kind).toBe('suspend');
    expect(classify(job(spec, { deployed }), { ...spec, savepointNonce: 1 }, { image: 'img' }).kind).toBe('savepoint');
    expect(classify(job(spec, { resumeFrom: '/state/sp' }), spec, { image: 'img' }).kind).toBe('resume');
    expect(shapeHash(spec, { image: 'img' })).toBe(shapeHash({ ...spec, replicas: 9 }, { image: 'img' }));
  });
});

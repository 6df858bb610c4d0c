import { describe, expect, it } from 'vitest';
import { shapeHash, specHash } from './spec-hash.ts';
import { classify } from './spec-diff.ts';
import { sampleJob as job, sampleSpec as spec } from './testing/sample-job.ts';

describe('spec classification', () => {
  it('classifies replicas-only changes as rescale, others as upgrade, policies as nothing', () => {
    const deployed = {
      id: 'x-1',
      specHash: specHash(spec, 'img'),
      parallelism: 2,
      startedAt: '',
      spec: JSON.stringify(spec),
    };
    expect(classify(job(spec, { deployed }), spec, 'img').kind).toBe('none');
    expect(classify(job(spec, { deployed }), { ...spec, replicas: 3 }, 'img')).toEqual({
      kind: 'rescale',
      from: 2,
      to: 3,
    });
    expect(classify(job(spec, { deployed }), { ...spec, image: 'other' }, 'img').kind).toBe('upgrade');
    expect(
      classify(
        job(spec, { deployed }),
        { ...spec, upgradeMode: 'stateless', savepoints: { ...spec.savepoints, historyLimit: 5 } },
        'img',
      ).kind,
    ).toBe('none');
    expect(classify(job(spec, { deployed }), { ...spec, state: 'suspended' }, 'img').kind).toBe('suspend');
    expect(classify(job(spec, { deployed }), { ...spec, savepointNonce: 1 }, 'img').kind).toBe('savepoint');
    expect(classify(job(spec, { resumeFrom: '/state/sp' }), spec, 'img').kind).toBe('resume');
    expect(shapeHash(spec, 'img')).toBe(shapeHash({ ...spec, replicas: 9 }, 'img'));
  });
});

import { describe, expect, it } from 'vitest';
import { shapeHash, specHash } from './hash.ts';
import { classify } from './diff.ts';
import { sampleJob as job, sampleSpec as spec } from '../testing/sample-job.ts';

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

describe('spec.autoscaler', () => {
  it('never replaces the pods: turning it on, its mode and its bounds change neither hash nor classification', () => {
    const defaults = { image: 'img' };
    const deployed = { id: 'x-1', specHash: specHash(spec, defaults), parallelism: 2, startedAt: '', spec: '' };
    deployed.spec = JSON.stringify(spec);
    const variants = [
      { enabled: true },
      { enabled: true, mode: 'Scale' as const, minReplicas: 2, maxReplicas: 8, metricsWindow: '30s' },
      { enabled: false, targetUtilization: 0.5 },
    ];
    for (const autoscaler of variants) {
      const changed = { ...spec, autoscaler };
      expect(specHash(changed, defaults)).toBe(specHash(spec, defaults));
      expect(classify(job(spec, { deployed }), changed, defaults).kind).toBe('none');
      // Deployed with one autoscaler setting, changed to another: still nothing to do.
      const deployedWith = { ...deployed, specHash: specHash(changed, defaults), spec: JSON.stringify(changed) };
      expect(classify(job(changed, { deployed: deployedWith }), spec, defaults).kind).toBe('none');
    }
  });
});

describe('spec.health', () => {
  it('never replaces the pods: turning the health check on or off, or changing its bound, changes neither hash nor classification', () => {
    const defaults = { image: 'img' };
    const deployed = { id: 'x-1', specHash: specHash(spec, defaults), parallelism: 2, startedAt: '', spec: '' };
    deployed.spec = JSON.stringify(spec);
    for (const health of [
      { checkpointTimeout: '5m' },
      { checkpointTimeout: '30s', restartOnUnhealthy: true },
      { restartOnUnhealthy: false },
    ]) {
      const changed = { ...spec, health };
      expect(specHash(changed, defaults)).toBe(specHash(spec, defaults));
      expect(classify(job(spec, { deployed }), changed, defaults).kind).toBe('none');
      const deployedWith = { ...deployed, specHash: specHash(changed, defaults), spec: JSON.stringify(changed) };
      expect(classify(job(changed, { deployed: deployedWith }), spec, defaults).kind).toBe('none');
    }
  });
});

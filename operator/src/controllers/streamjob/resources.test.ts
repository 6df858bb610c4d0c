import { describe, expect, it } from 'vitest';
import type { StreamJob, StreamJobSpec } from '../../api/v1alpha1/streamjob.ts';
import { podName, shapeHash, slotPod, specHash } from './resources.ts';
import { classify } from './spec-diff.ts';
import { addToHistory } from './savepoints.ts';
import { validateSpec } from './validation.ts';

const spec = {
  replicas: 2, maxParallelism: 128, state: 'running', upgradeMode: 'savepoint', restartNonce: 0, savepointNonce: 0,
  checkpointing: { interval: '10s', timeout: '2m', retained: 3 }, stateStorage: { path: '/state' },
  savepoints: { timeout: '5m', historyLimit: 2, onDelete: true, onFailure: 'block', maxCheckpointAge: '10m' },
  restartPolicy: { maxRestarts: 3, backoff: { initial: '1s', max: '10s' } },
  graph: { sources: [{ name: 'gen', datagen: { generator: 'schema', rate: 10, fields: { c: { type: 'string', values: ['a'] } } } }], sinks: [{ name: 'out', from: 'gen', console: {} }] },
} as unknown as StreamJobSpec;
const job = (s: StreamJobSpec, status: StreamJob['status'] = {}): StreamJob =>
  ({ apiVersion: 'tributary.dev/v1alpha1', kind: 'StreamJob', metadata: { name: 'j', namespace: 'n', uid: 'u1' }, spec: s, status });

describe('StreamJob builders and classification', () => {
  it('builds a restricted-profile slot pod with the contract env, probes and volumes', () => {
    const pod = slotPod({ job: job(spec), spec, depId: 'abcd1234-1', slot: 1, parallelism: 2, image: 'img' });
    expect(pod.metadata?.name).toBe(podName('j', 'abcd1234-1', 1));
    const s = pod.spec as { securityContext: Record<string, unknown>; containers: { env: { name: string }[]; securityContext: Record<string, unknown> }[]; volumes: { name: string }[] };
    expect(s.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(s.containers[0]!.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(s.containers[0]!.env.map((e) => e.name)).toEqual(expect.arrayContaining(['TRIBUTARY_SLOT', 'TRIBUTARY_POD_IP', 'TRIBUTARY_DEPLOYMENT_ID', 'TRIBUTARY_PEER_SELECTOR', 'TRIBUTARY_CONTROL_TOKEN_FILE']));
    expect(s.volumes.map((v) => v.name)).toEqual(['config', 'token', 'state', 'tmp']);
    expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'StreamJob', controller: true });
  });

  it('classifies replicas-only changes as rescale, others as upgrade, policies as nothing', () => {
    const deployed = { id: 'x-1', specHash: specHash(spec, 'img'), parallelism: 2, startedAt: '', spec: JSON.stringify(spec) };
    expect(classify(job(spec, { deployed }), spec, 'img').kind).toBe('none');
    expect(classify(job(spec, { deployed }), { ...spec, replicas: 3 }, 'img')).toEqual({ kind: 'rescale', from: 2, to: 3 });
    expect(classify(job(spec, { deployed }), { ...spec, image: 'other' }, 'img').kind).toBe('upgrade');
    expect(classify(job(spec, { deployed }), { ...spec, upgradeMode: 'stateless', savepoints: { ...spec.savepoints, historyLimit: 5 } }, 'img').kind).toBe('none');
    expect(classify(job(spec, { deployed }), { ...spec, state: 'suspended' }, 'img').kind).toBe('suspend');
    expect(classify(job(spec, { deployed }), { ...spec, savepointNonce: 1 }, 'img').kind).toBe('savepoint');
    expect(classify(job(spec, { resumeFrom: '/state/sp' }), spec, 'img').kind).toBe('resume');
    expect(shapeHash(spec, 'img')).toBe(shapeHash({ ...spec, replicas: 9 }, 'img'));
  });

  it('keeps historyLimit savepoints and reports the dropped ones', () => {
    const rec = (i: number) => ({ id: `s${i}`, path: `/state/savepoints/s${i}`, reason: 'manual', parallelism: 1, completedAt: '' });
    const { kept, dropped } = addToHistory([rec(1), rec(2)], rec(3), 2);
    expect(kept.map((r) => r.id)).toEqual(['s2', 's3']);
    expect(dropped.map((r) => r.id)).toEqual(['s1']);
  });

  it('reports graph errors with their path', () => {
    expect(validateSpec(spec)).toEqual([]);
    const bad = validateSpec({ ...spec, graph: { ...spec.graph, sinks: [{ name: 'out', from: 'nope', console: {} }] } as unknown as StreamJobSpec['graph'] });
    expect(bad[0]?.path).toContain('spec.graph');
  });
});

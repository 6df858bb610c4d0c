import { describe, expect, it } from 'vitest';
import { sampleJob as job, sampleSpec as spec } from '../testing/sample-job.ts';
import { podName, slotPod } from './slot-pod.ts';
import { effectiveStateStorage } from '../state-storage.ts';

describe('slot pod', () => {
  it('builds a restricted-profile slot pod with the contract env, probes and volumes', () => {
    const pod = slotPod({
      job: job(spec),
      spec,
      storage: effectiveStateStorage(spec, {}),
      depId: 'abcd1234-1',
      slot: 1,
      parallelism: 2,
      image: 'img',
    });
    expect(pod.metadata?.name).toBe(podName('j', 'abcd1234-1', 1));
    const s = pod.spec as {
      securityContext: Record<string, unknown>;
      containers: { env: { name: string }[]; securityContext: Record<string, unknown> }[];
      volumes: { name: string }[];
    };
    expect(s.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(s.containers[0]!.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(s.containers[0]!.env.map((e) => e.name)).toEqual(
      expect.arrayContaining([
        'TRIBUTARY_SLOT',
        'TRIBUTARY_POD_IP',
        'TRIBUTARY_DEPLOYMENT_ID',
        'TRIBUTARY_PEER_SELECTOR',
        'TRIBUTARY_CONTROL_TOKEN_FILE',
      ]),
    );
    expect(s.volumes.map((v) => v.name)).toEqual(['config', 'token', 'state', 'tmp']);
    expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'StreamJob', controller: true });
  });

  it('gives a disk state backend its emptyDir, sized by localVolumeSize and mounted where the job config says', () => {
    const pod = (stateBackend: unknown) => {
      const sp = { ...spec, stateBackend } as typeof spec;
      const p = slotPod({
        job: job(sp),
        spec: sp,
        storage: effectiveStateStorage(sp, {}),
        depId: 'abcd1234-1',
        slot: 0,
        parallelism: 2,
        image: 'img',
      });
      return p.spec as {
        containers: { volumeMounts: { name: string; mountPath: string }[] }[];
        volumes: { name: string; emptyDir?: unknown }[];
      };
    };
    const disk = pod({ type: 'disk', localVolumeSize: '20Gi' });
    expect(disk.volumes.map((v) => v.name)).toEqual(['config', 'token', 'state', 'local-state', 'tmp']);
    expect(disk.volumes.find((v) => v.name === 'local-state')).toEqual({
      name: 'local-state',
      emptyDir: { sizeLimit: '20Gi' },
    });
    expect(disk.containers[0]!.volumeMounts).toContainEqual({
      name: 'local-state',
      mountPath: '/var/lib/tributary/state',
    });
    // The stateStorage volume keeps its name and mount beside it.
    expect(disk.containers[0]!.volumeMounts).toContainEqual({ name: 'state', mountPath: '/state' });
    expect(pod({ type: 'disk' }).volumes.find((v) => v.name === 'local-state')?.emptyDir).toEqual({
      sizeLimit: '10Gi',
    });
    for (const heap of [undefined, { type: 'heap' }]) {
      expect(pod(heap).volumes.map((v) => v.name)).toEqual(['config', 'token', 'state', 'tmp']);
      expect(pod(heap).containers[0]!.volumeMounts.map((m) => m.name)).not.toContain('local-state');
    }
  });

  it('the contract env and labels win over the pod template even when a spec reached here unchecked', () => {
    const tpl = {
      env: [
        { name: 'TRIBUTARY_CONTROL_TOKEN_FILE', value: '/tmp/mine' },
        { name: 'NODE_OPTIONS', value: '--require /state/x.js' },
        { name: 'APP_MODE', value: 'x' },
      ],
      metadata: { labels: { 'tributary.dev/job': 'other' }, annotations: { 'tributary.dev/x': 'y', note: 'n' } },
    };
    const s2 = { ...spec, podTemplate: tpl };
    const pod = slotPod({
      job: job(s2),
      spec: s2,
      storage: effectiveStateStorage(s2, {}),
      depId: 'd-1',
      slot: 0,
      parallelism: 1,
      image: 'img',
    });
    const env = (pod.spec as { containers: { env: { name: string; value?: string }[] }[] }).containers[0]!.env;
    expect(env.filter((e) => e.name === 'TRIBUTARY_CONTROL_TOKEN_FILE')).toEqual([
      { name: 'TRIBUTARY_CONTROL_TOKEN_FILE', value: '/var/run/tributary/token' },
    ]);
    expect(env.some((e) => e.name === 'NODE_OPTIONS')).toBe(false);
    expect(env[0]).toEqual({ name: 'APP_MODE', value: 'x' });
    expect(pod.metadata?.labels?.['tributary.dev/job']).toBe('j');
    expect(pod.metadata?.annotations).toEqual({ note: 'n' });
  });
});

import { describe, expect, it } from 'vitest';
import { sampleJob as job, sampleSpec as spec } from '../testing/sample-job.ts';
import { podName, slotPod } from './slot-pod.ts';

describe('slot pod', () => {
  it('builds a restricted-profile slot pod with the contract env, probes and volumes', () => {
    const pod = slotPod({ job: job(spec), spec, depId: 'abcd1234-1', slot: 1, parallelism: 2, image: 'img' });
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
});

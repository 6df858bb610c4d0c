import { describe, expect, it } from 'vitest';
import type { Pod } from './kube-types.ts';
import { podFitsNode } from './scheduler.ts';
import { buildPodStatus, computePhase } from './status.ts';
import type { ContainerSnapshot, PodSnapshot } from './status.ts';

const running: ContainerSnapshot = {
  name: 'a',
  image: 'busybox',
  state: { running: { startedAt: 't' } },
  ready: true,
  started: true,
  restartCount: 0,
};
const exited = (exitCode: number, name = 'a'): ContainerSnapshot => ({
  name,
  image: 'busybox',
  state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', finishedAt: 't' } },
  ready: false,
  started: false,
  restartCount: 0,
});
const backingOff: ContainerSnapshot = {
  name: 'a',
  image: 'busybox',
  state: { waiting: { reason: 'CrashLoopBackOff' } },
  lastTerminated: { exitCode: 1, reason: 'Error', finishedAt: 't' },
  ready: false,
  started: false,
  restartCount: 2,
};
const neverRan: ContainerSnapshot = {
  name: 'a',
  image: 'nginx',
  state: { waiting: { reason: 'ImageNotMapped' } },
  ready: false,
  started: false,
  restartCount: 0,
};

function snap(containers: ContainerSnapshot[], extra: Partial<PodSnapshot> = {}): PodSnapshot {
  return {
    init: [],
    containers,
    initialized: true,
    sandboxReady: true,
    podIP: '127.0.1.1',
    hostIP: '127.0.0.1',
    startTime: 't',
    ...extra,
  };
}

describe('pod phase (kubelet getPhase rules)', () => {
  it('is Pending while initializing or while a container never ran', () => {
    expect(computePhase('Always', snap([running], { initialized: false }))).toBe('Pending');
    expect(computePhase('Always', snap([running, { ...neverRan, name: 'b' }]))).toBe('Pending');
  });
  it('is Running while a container runs or waits to be restarted', () => {
    expect(computePhase('Never', snap([running]))).toBe('Running');
    expect(computePhase('Always', snap([backingOff]))).toBe('Running');
    expect(computePhase('Always', snap([exited(0)]))).toBe('Running');
    expect(computePhase('OnFailure', snap([exited(1)]))).toBe('Running');
  });
  it('is Succeeded or Failed once nothing will run again', () => {
    expect(computePhase('Never', snap([exited(0), exited(0, 'b')]))).toBe('Succeeded');
    expect(computePhase('OnFailure', snap([exited(0)]))).toBe('Succeeded');
    expect(computePhase('Never', snap([exited(0), exited(3, 'b')]))).toBe('Failed');
    expect(computePhase('Always', snap([running], { terminalPhase: 'Failed' }))).toBe('Failed');
  });
});

describe('pod status', () => {
  const pod: Pod = {
    metadata: { name: 'p', namespace: 'ns' },
    spec: { containers: [{ name: 'a' }], restartPolicy: 'Always' },
    status: {
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: 'earlier' },
        { type: 'Ready', status: 'True', lastTransitionTime: 'earlier' },
      ],
    },
  };

  it('keeps foreign conditions and transition times of unchanged conditions', () => {
    const s = buildPodStatus(pod, snap([running]), 'now');
    expect(s.phase).toBe('Running');
    expect(s.podIP).toBe('127.0.1.1');
    expect(s.podIPs).toEqual([{ ip: '127.0.1.1' }]);
    const byType = Object.fromEntries((s.conditions ?? []).map((c) => [c.type, c]));
    expect(byType.PodScheduled?.lastTransitionTime).toBe('earlier');
    expect(byType.Ready).toMatchObject({ status: 'True', lastTransitionTime: 'earlier' });
    expect(byType.ContainersReady).toMatchObject({ status: 'True', lastTransitionTime: 'now' });
    expect(s.containerStatuses?.[0]).toMatchObject({
      name: 'a',
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: 't' } },
      lastState: {},
    });
  });

  it('reports unready containers and the last termination of a crash-looping one', () => {
    const s = buildPodStatus(pod, snap([backingOff]), 'now');
    const ready = s.conditions?.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({
      status: 'False',
      reason: 'ContainersNotReady',
      message: 'containers with unready status: [a]',
      lastTransitionTime: 'now',
    });
    expect(s.containerStatuses?.[0]?.lastState?.terminated?.exitCode).toBe(1);
    expect(s.containerStatuses?.[0]?.state?.waiting?.reason).toBe('CrashLoopBackOff');
  });

  it('honours readiness gates', () => {
    const gated: Pod = { ...pod, spec: { ...pod.spec!, readinessGates: [{ conditionType: 'example.com/gate' }] } };
    expect(buildPodStatus(gated, snap([running]), 'now').conditions?.find((c) => c.type === 'Ready')?.status).toBe(
      'False',
    );
    gated.status = { conditions: [{ type: 'example.com/gate', status: 'True' }] };
    expect(buildPodStatus(gated, snap([running]), 'now').conditions?.find((c) => c.type === 'Ready')?.status).toBe(
      'True',
    );
  });
});

describe('binding (scheduler stand-in)', () => {
  const labels = { 'kubernetes.io/hostname': 'n', 'kubernetes.io/os': 'linux' };
  const with_ = (spec: Partial<NonNullable<Pod['spec']>>): Pod => ({ spec: { containers: [], ...spec } });
  it('binds pods whose nodeSelector and required node affinity match the node', () => {
    expect(podFitsNode(with_({}), 'n', labels).fits).toBe(true);
    expect(podFitsNode(with_({ nodeSelector: { 'kubernetes.io/os': 'linux' } }), 'n', labels).fits).toBe(true);
    expect(podFitsNode(with_({ nodeSelector: { disk: 'ssd' } }), 'n', labels)).toMatchObject({
      fits: false,
      message: expect.stringContaining('disk=ssd'),
    });
    const affinity = (operator: string, values?: string[]) =>
      with_({
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: 'kubernetes.io/os', operator, ...(values ? { values } : {}) }] },
              ],
            },
          },
        },
      });
    expect(podFitsNode(affinity('In', ['linux']), 'n', labels).fits).toBe(true);
    expect(podFitsNode(affinity('NotIn', ['linux']), 'n', labels).fits).toBe(false);
    expect(podFitsNode(affinity('Exists'), 'n', labels).fits).toBe(true);
    expect(podFitsNode(affinity('DoesNotExist'), 'n', labels).fits).toBe(false);
  });
});

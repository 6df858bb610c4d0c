import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { EventRecorder } from './events.ts';
import type { ContainerStatus, Pod } from './kube-types.ts';
import { carriedOver, createPodRunners, recordedAppTermination, recordedInitTermination } from './pod-containers.ts';

const terminated = (exitCode: number, name = 'app'): ContainerStatus => ({
  name,
  image: 'busybox',
  imageID: '',
  ready: false,
  restartCount: 2,
  state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: 's', finishedAt: 'f' } },
});
const running: ContainerStatus = {
  name: 'app',
  image: 'busybox',
  imageID: '',
  ready: true,
  restartCount: 1,
  state: { running: { startedAt: 's' } },
};
const podWith = (containerStatuses: ContainerStatus[], initContainerStatuses: ContainerStatus[] = []): Pod => ({
  metadata: { name: 'p', namespace: 'ns', uid: 'u' },
  status: { containerStatuses, initContainerStatuses },
});

describe('pod containers after an agent restart', () => {
  it('carries the restart count and the last termination over; a running container counts as killed', () => {
    expect(carriedOver(undefined)).toBeUndefined();
    expect(
      carriedOver({
        name: 'app',
        image: 'busybox',
        imageID: '',
        ready: false,
        restartCount: 0,
        state: { waiting: { reason: 'ContainerCreating' } },
      }),
    ).toBeUndefined();
    expect(carriedOver(terminated(1))).toEqual({
      restartCount: 3,
      lastTerminated: { exitCode: 1, reason: 'Error', startedAt: 's', finishedAt: 'f' },
    });
    expect(carriedOver(running)).toMatchObject({
      restartCount: 2,
      lastTerminated: { exitCode: 137, reason: 'NodeAgentRestarted', startedAt: 's' },
    });
  });

  it('keeps the recorded termination of containers the restart policy does not run again', () => {
    const pod = podWith([terminated(0)]);
    expect(recordedAppTermination(pod, 'OnFailure', 'app')).toEqual({
      state: { exitCode: 0, reason: 'Completed', startedAt: 's', finishedAt: 'f' },
      restartCount: 2,
    });
    expect(recordedAppTermination(pod, 'Always', 'app')).toBeUndefined();
    expect(recordedAppTermination(podWith([terminated(1)]), 'OnFailure', 'app')).toBeUndefined();
    expect(recordedAppTermination(podWith([terminated(1)]), 'Never', 'app')?.state.exitCode).toBe(1);
    expect(recordedAppTermination(podWith([running]), 'Never', 'app')).toMatchObject({
      state: { exitCode: 137, reason: 'NodeAgentRestarted', startedAt: 's' },
      restartCount: 1,
    });
    expect(recordedAppTermination(podWith([running]), 'OnFailure', 'app')).toBeUndefined();
    expect(recordedInitTermination(podWith([], [terminated(0, 'setup')]), 'setup')).toEqual({
      state: { exitCode: 0, reason: 'Completed', finishedAt: 'f' },
      restartCount: 2,
    });
    expect(recordedInitTermination(podWith([]), 'setup')).toMatchObject({
      state: { exitCode: 0, reason: 'Completed' },
      restartCount: 0,
    });
  });

  it('makes a runner per container, by role, with what carried over', () => {
    const pod: Pod = {
      ...podWith([terminated(1)]),
      spec: {
        containers: [{ name: 'app', image: 'busybox' }],
        initContainers: [
          { name: 'setup', image: 'busybox' },
          { name: 'proxy', image: 'busybox', restartPolicy: 'Always' },
        ],
      },
    };
    const { init, apps } = createPodRunners({
      pod: () => pod,
      podDir: '/tmp/pod',
      logDir: '/tmp/logs',
      backoff: { baseMs: 10, maxMs: 100, resetAfterMs: 1000 },
      events: {} as EventRecorder,
      log: pino({ level: 'silent' }),
      podIP: () => '127.0.1.2',
      prepare: () => Promise.reject(new Error('not started in this test')),
      onChange: () => {},
    });
    expect(init.map((r) => [r.name, r.role])).toEqual([
      ['setup', 'init'],
      ['proxy', 'sidecar'],
    ]);
    expect(apps.map((r) => [r.name, r.role, r.snapshot().restartCount])).toEqual([['app', 'app', 3]]);
  });
});

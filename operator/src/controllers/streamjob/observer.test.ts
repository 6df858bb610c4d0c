import { describe, expect, it } from 'vitest';
import { finishedMessage } from '../../../../runtime/src/control/finished.ts';
import { Labels, withControllerReference, type Informer } from '../../kube/index.ts';
import type { RuntimeClient } from '../../runtime-client/client.ts';
import type { Secret } from './objects/control-token.ts';
import { DEPLOYMENT_LABEL } from './objects/metadata.ts';
import { finishedTermination, type Pod } from './objects/slot-pod.ts';
import { observe } from './observer.ts';
import { deploymentFailure } from './slot-failure.ts';
import { sampleJob, sampleSpec } from './testing/sample-job.ts';

const job = sampleJob(sampleSpec, {
  phase: 'Running',
  deployed: { id: 'd-2', specHash: 'h', parallelism: 2, startedAt: '', spec: '' },
});

type Terminated = { reason: string; exitCode: number; message?: string; finishedAt?: string };

function pod(slot: number, end?: Terminated, phase?: 'Succeeded' | 'Failed'): Pod {
  const p = withControllerReference(job, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `j-d-2-${slot}`,
      namespace: 'n',
      labels: { [Labels.job]: 'j', [Labels.slot]: String(slot), [DEPLOYMENT_LABEL]: 'd-2' },
    },
  }) as Pod;
  p.status = end
    ? {
        phase: phase ?? (end.exitCode === 0 ? 'Succeeded' : 'Failed'),
        containerStatuses: [{ name: 'runtime', ready: false, restartCount: 0, state: { terminated: end } }],
      }
    : {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True' }],
        containerStatuses: [{ name: 'runtime', ready: true, restartCount: 0, state: { running: {} } }],
      };
  return p;
}

const finished = (slot: number, extra: { lastCheckpoint?: { id: number; completedAt: string; path: string } } = {}) =>
  ({
    reason: 'Completed',
    exitCode: 0,
    message: finishedMessage({ slot, deploymentId: 'd-2', recordsIn: 10, recordsOut: 10, ...extra }),
  }) satisfies Terminated;

async function observeWith(pods: Pod[]) {
  const informer = (items: unknown[]) => ({ list: () => items, get: () => undefined }) as unknown;
  return observe(
    {
      pods: informer(pods) as Informer<Pod>,
      secrets: informer([]) as Informer<Secret>,
      runtime: {} as RuntimeClient,
      tokens: new Map(),
    },
    job,
    { queryRuntime: false },
  );
}

describe('observe: slots that ran to the end of their input', () => {
  it('every slot exited 0 with the finished message: finished, and no slot failed', async () => {
    const cp = { id: 7, completedAt: '2026-01-01T00:00:00Z', path: '/state/checkpoints/chk-7' };
    const obs = await observeWith([pod(0, finished(0, { lastCheckpoint: cp })), pod(1, finished(1))]);
    expect(obs.finished).toBe(true);
    expect(obs.failedSlots).toEqual([]);
    expect(obs.finishedSlots.get(0)?.lastCheckpoint).toEqual(cp);
    expect(deploymentFailure(obs)).toBeUndefined();
  });

  it('one slot finished and its peer still runs: neither failed nor finished yet', async () => {
    const obs = await observeWith([pod(0), pod(1, finished(1))]);
    expect(obs.finished).toBe(false);
    expect(obs.failedSlots).toEqual([]);
    expect(obs.readyCount).toBe(1);
  });

  it('an exit 0 without the message (a stop, an old runtime) is a failed slot, as before', async () => {
    const stopped = { reason: 'Completed', exitCode: 0 };
    const obs = await observeWith([pod(0, finished(0)), pod(1, stopped)]);
    expect(obs.finished).toBe(false);
    expect(obs.failedSlots).toEqual([1]);
    expect(deploymentFailure(obs)).toMatch(/slot\(s\) 1 failed/);
  });

  it('a slot that vanished is failed even when the others finished', async () => {
    const obs = await observeWith([pod(0, finished(0))]);
    expect(obs.finished).toBe(false);
    expect(obs.failedSlots).toEqual([1]);
  });
});

describe('finishedTermination', () => {
  it('needs phase Succeeded, exit 0 and the finished message of the runtime', () => {
    expect(finishedTermination(pod(0, finished(0)))).toMatchObject({ slot: 0, deploymentId: 'd-2', recordsIn: 10 });
    // the message without exit 0, or with the pod Failed, is not a finish
    expect(finishedTermination(pod(0, { ...finished(0), exitCode: 1 }))).toBeUndefined();
    expect(finishedTermination(pod(0, finished(0), 'Failed'))).toBeUndefined();
    // another termination message, or a JSON one of another kind
    expect(
      finishedTermination(pod(0, { reason: 'Completed', exitCode: 0, message: 'error TRIB_X: y' })),
    ).toBeUndefined();
    expect(
      finishedTermination(pod(0, { reason: 'Completed', exitCode: 0, message: '{"tributary":"stopped","slot":0}' })),
    ).toBeUndefined();
    expect(finishedTermination(pod(0))).toBeUndefined();
  });
});

describe('a slot that left in a live scale in (finished message with left: true)', () => {
  it('is neither a failed slot nor a finished one: the job did not end, nothing restarts', async () => {
    const left = {
      reason: 'Completed',
      exitCode: 0,
      message: finishedMessage({ slot: 1, deploymentId: 'd-2', recordsIn: 3, recordsOut: 3, left: true }),
    };
    const obs = await observeWith([pod(0), pod(1, left)]);
    expect(obs.leftSlots).toEqual([1]);
    expect(obs.failedSlots).toEqual([]);
    expect(obs.finishedSlots.size).toBe(0);
    expect(obs.finished).toBe(false);
    expect(deploymentFailure(obs)).toBeUndefined();
    // Named nowhere when another slot fails.
    const both = await observeWith([pod(0, { reason: 'Error', exitCode: 1 }), pod(1, left)]);
    expect(deploymentFailure(both)).toBe('slot(s) 0 failed or vanished (slot 0 (pod j-d-2-0): Error, exit 1)');
  });
});

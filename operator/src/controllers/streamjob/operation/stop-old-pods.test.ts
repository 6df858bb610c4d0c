// The replaced deployment's slot 0 is recorded before its pods are deleted, and the new pods wait
// while it still answers for that deployment though its pod object is gone (a force delete): such
// a slot could complete a checkpoint and commit after the new pods chose what to restore.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { PendingOperation, StreamJobStatus } from '../../../api/v1alpha1/streamjob.ts';
import { RuntimeError, RuntimeErrorCodes } from '../../../runtime-client/client.ts';
import type { JobCtx, ReconcilerInternals } from '../job-context.ts';
import { DEPLOYMENT_LABEL } from '../objects/metadata.ts';
import type { Pod } from '../objects/slot-pod.ts';
import { unobserved } from '../observer.ts';
import { sampleJob, sampleSpec } from '../testing/sample-job.ts';
import { stopOldPods } from './stop-old-pods.ts';

const slot0: Pod = {
  metadata: { name: 'j-d1-0', namespace: 'n', uid: 'p0', labels: { [DEPLOYMENT_LABEL]: 'd1' } },
  status: { phase: 'Running', podIP: '10.1.0.7' },
};

function setup(answer: () => Promise<{ deploymentId: string }>) {
  const deleted: string[] = [];
  const asked: string[] = [];
  const events: string[] = [];
  const r = {
    deps: {
      kube: { delete: (_r: unknown, _ns: unknown, name: string) => (deleted.push(name), Promise.resolve()) },
      runtime: { status: (base: string) => (asked.push(base), answer()) },
      events: { warning: (_j: unknown, reason: string) => (events.push(reason), Promise.resolve()) },
    },
    record: (c: JobCtx, _write: string, mutate: (st: StreamJobStatus) => StreamJobStatus) => {
      c.job = { ...c.job, status: mutate(structuredClone(c.job.status ?? {})) };
      return Promise.resolve(c.job);
    },
    advance: () => Promise.resolve(undefined),
  } as unknown as ReconcilerInternals;
  const op: PendingOperation = {
    kind: 'rescale',
    targetSpecHash: 'h2',
    targetDeploymentId: 'd2',
    mode: 'last-state',
    step: 'state-ready',
    startedAt: '2026-01-01T00:00:00Z',
  };
  const c: JobCtx = {
    job: sampleJob(sampleSpec, {
      deployed: { id: 'd1', specHash: 'h1', parallelism: 1, startedAt: '' },
      pendingOperation: op,
    }),
    log: pino({ level: 'silent' }),
    obs: { ...unobserved(), pods: [slot0], current: new Map([[0, slot0]]), deploymentId: 'd1', token: 't' },
    now: new Date(),
  };
  return { r, c, deleted, asked, events };
}

/** The next reconcile: the pod object is gone from the API. */
const podGone = (c: JobCtx) => (c.obs = { ...c.obs, pods: [], current: new Map() });

describe('stopOldPods and a replaced slot 0 whose pod vanished from the API', () => {
  it('waits while it still answers for its deployment, and goes on once it does not', async () => {
    let alive = true;
    const { r, c, deleted, asked, events } = setup(() =>
      alive
        ? Promise.resolve({ deploymentId: 'd1' })
        : Promise.reject(new RuntimeError(RuntimeErrorCodes.unreachable, 'ECONNREFUSED')),
    );
    await stopOldPods(r, c, c.job.status!.pendingOperation!);
    expect(c.job.status?.pendingOperation?.retiredSlot0).toEqual({ deploymentId: 'd1', podIP: '10.1.0.7' });
    expect(deleted).toEqual(['j-d1-0']);

    podGone(c); // force-deleted: the object went, the process did not
    expect(await stopOldPods(r, c, c.job.status!.pendingOperation!)).toEqual({ requeueAfter: 1_000 });
    expect(asked).toEqual(['http://10.1.0.7:9250']);
    expect(c.job.status?.pendingOperation?.step).toBe('state-ready');
    expect(events).toEqual(['ReplacedSlotAlive']);

    alive = false;
    await stopOldPods(r, c, c.job.status!.pendingOperation!);
    expect(c.job.status?.pendingOperation?.step).toBe('old-pods-gone');
    expect(c.job.status?.pendingOperation?.retiredSlot0).toBeUndefined();
    expect(c.job.status?.pendingOperation?.message).toBeUndefined();
  });

  it('goes on when another pod answers at that IP (another deployment)', async () => {
    const { r, c } = setup(() => Promise.resolve({ deploymentId: 'other-9' }));
    await stopOldPods(r, c, c.job.status!.pendingOperation!);
    podGone(c);
    await stopOldPods(r, c, c.job.status!.pendingOperation!);
    expect(c.job.status?.pendingOperation?.step).toBe('old-pods-gone');
  });
});

import { describe, expect, it } from 'vitest';
import type { StreamJobStatus } from '../../api/v1alpha1/streamjob.ts';
import { checkpointHealth, type HealthInput } from './checkpoint-health.ts';

const t0 = Date.parse('2026-11-27T03:00:00Z');
const at = (s: number) => new Date(t0 + s * 1000).toISOString();
const deployed = { id: 'abc-2', specHash: 'h', parallelism: 2, startedAt: at(0) };
const running: Pick<StreamJobStatus, 'phase' | 'deployed' | 'lastCheckpoint'> = { phase: 'Running', deployed };
const cp = (id: number, s: number) => ({ id, completedAt: at(s), path: `/state/checkpoints/chk-${id}` });

function input(over: Partial<HealthInput> & { nowS: number }): HealthInput {
  return {
    spec: { health: { checkpointTimeout: '60s' } },
    status: running,
    runtime: { state: 'RUNNING' },
    now: new Date(t0 + over.nowS * 1000),
    wasHealthy: undefined,
    ...over,
  };
}

describe('checkpointHealth (spec.health.checkpointTimeout)', () => {
  it.each([
    // [case, input, healthy, overdue, message contains]
    [
      'a recent checkpoint',
      { nowS: 100, status: { ...running, lastCheckpoint: cp(7, 50) } },
      true,
      false,
      'checkpoint 7',
    ],
    [
      'the last one just at the bound',
      { nowS: 110, status: { ...running, lastCheckpoint: cp(7, 50) } },
      true,
      false,
      'within',
    ],
    [
      'the last one past the bound',
      { nowS: 111, status: { ...running, lastCheckpoint: cp(7, 50) } },
      false,
      true,
      `checkpoint is 7 at ${at(50)}`,
    ],
    // Slot 0's answer is newer than status: it counts.
    [
      'slot 0 reports a newer one',
      {
        nowS: 111,
        status: { ...running, lastCheckpoint: cp(7, 50) },
        runtime: { state: 'RUNNING' as const, lastCheckpoint: cp(8, 100) },
      },
      true,
      false,
      'checkpoint 8',
    ],
    ['none yet, deployment young', { nowS: 30 }, true, false, 'deployment abc-2 started'],
    ['none ever, deployment past the bound', { nowS: 61 }, false, true, 'no checkpoint completed yet'],
    // A checkpoint of the deployment before this one does not count: the new one gets its own bound.
    [
      "old deployment's checkpoint, new deployment young",
      { nowS: 30, status: { ...running, lastCheckpoint: cp(7, -500) } },
      true,
      false,
      'deployment abc-2 started',
    ],
    [
      "old deployment's checkpoint, new one past the bound",
      { nowS: 61, status: { ...running, lastCheckpoint: cp(7, -500) } },
      false,
      true,
      `the last completed checkpoint is 7`,
    ],
    // After a stall only a completed checkpoint makes it healthy again, yet nothing restarts before the bound.
    [
      'was stalled, restarted, none yet',
      { nowS: 30, wasHealthy: false },
      false,
      false,
      'waiting for the first checkpoint of deployment abc-2',
    ],
    [
      'was stalled, a checkpoint completed',
      { nowS: 30, wasHealthy: false, status: { ...running, lastCheckpoint: cp(9, 20) } },
      true,
      false,
      'checkpoint 9',
    ],
  ])('%s', (_name, over, healthy, overdue, says) => {
    const h = checkpointHealth(input(over));
    expect(h).toBeDefined();
    expect(h!.healthy).toBe(healthy);
    expect(h!.overdue).toBe(overdue);
    expect(h!.reason).toBe(healthy ? 'CheckpointsCompleting' : 'CheckpointsStalled');
    expect(h!.message).toContain(says);
    expect(h!.message).toContain('spec.health.checkpointTimeout 60s');
  });

  it('wakes the reconcile when the bound passes, not before', () => {
    const h = checkpointHealth(input({ nowS: 100, status: { ...running, lastCheckpoint: cp(7, 50) } }));
    expect(h?.recheckInMs).toBe(10_001);
    const after = checkpointHealth(input({ nowS: 100 + 10.001, status: { ...running, lastCheckpoint: cp(7, 50) } }));
    expect(after?.overdue).toBe(true);
  });

  it.each([
    ['the check is off', { nowS: 500, spec: {} }],
    ['an unreadable bound', { nowS: 500, spec: { health: { checkpointTimeout: 'soon' } } }],
    ['nothing deployed', { nowS: 500, status: { phase: 'Deploying' as const } }],
    ['not Running', { nowS: 500, status: { ...running, phase: 'Upgrading' as const } }],
    ['an operation pending', { nowS: 500, status: { ...running, pendingOperation: { kind: 'savepoint' } } }],
    ['slot 0 restoring', { nowS: 500, runtime: { state: 'RESTORING' as const } }],
    ['slot 0 did not answer', { nowS: 500, runtime: undefined }],
  ])('says nothing when %s', (_name, over) => {
    expect(checkpointHealth(input(over as Partial<HealthInput> & { nowS: number }))).toBeUndefined();
  });

  it('keeps its message stable while the job stays in one state (no status write per reconcile)', () => {
    const status = { ...running, lastCheckpoint: cp(7, 50) };
    expect(checkpointHealth(input({ nowS: 200, status }))?.message).toBe(
      checkpointHealth(input({ nowS: 900, status }))?.message,
    );
    expect(checkpointHealth(input({ nowS: 60, status }))?.message).toBe(
      checkpointHealth(input({ nowS: 70, status }))?.message,
    );
  });
});

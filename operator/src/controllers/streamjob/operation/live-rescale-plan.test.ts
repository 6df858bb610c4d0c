import { describe, expect, it } from 'vitest';
import type { MigrationStatus } from '../../../../../runtime/src/control/contract.ts';
import type { PendingOperation } from '../../../api/v1alpha1/streamjob.ts';
import { pod, pods } from '../testing/live-rescale-fixtures.ts';
import {
  formatMoved,
  joinAction,
  liveFailure,
  migrationRecord,
  progressMessage,
  scaleInAction,
} from './live-rescale-plan.ts';

const op = (from: number, to: number, step: PendingOperation['step'] = 'migrating'): PendingOperation => ({
  kind: 'liveRescale',
  targetSpecHash: 'h',
  targetDeploymentId: 'd1',
  live: { from, to, requestId: 'u1-live-2', migrationId: 'mig-1' },
  startedAt: '2026-01-01T00:00:00Z',
  step,
});
const status = (extra: Partial<MigrationStatus> = {}): MigrationStatus => ({
  id: 'mig-1',
  state: 'IN_PROGRESS',
  from: 2,
  to: 3,
  phase: 'joining',
  stepsDone: 4,
  steps: 9,
  keyGroupsMoved: 52,
  keyGroups: 128,
  bytesMoved: 1.2 * 1024 * 1024,
  bytes: 3 * 1024 * 1024,
  startedAt: '2026-01-01T00:00:01Z',
  ...extra,
});

describe('a live rescale: which pods count as the job failing', () => {
  it('none while every expected pod runs, extra joined pods and pods that left included', () => {
    expect(liveFailure(op(2, 3), pods('running', 'running'), { state: 'RUNNING' })).toBeUndefined();
    expect(liveFailure(op(2, 3), pods('running', 'running', 'pending'), { state: 'RUNNING' })).toBeUndefined();
    expect(liveFailure(op(3, 1, 'migrated'), pods('running', 'left', 'left'), { state: 'RUNNING' })).toBeUndefined();
    expect(liveFailure(op(3, 1), pods('running', 'left', 'running'), undefined)).toBeUndefined();
  });

  it('a slot below min(from, to) without a pod, a pod that failed, finished or is deleted without leaving', () => {
    const onlyZero = new Map([[0, pod(0, 'running')]]);
    expect(liveFailure(op(2, 3), onlyZero, undefined)).toBe('slot(s) 1 failed or vanished during the live rescale');
    expect(liveFailure(op(2, 3), pods('running', 'running', 'failed'), undefined)).toBe(
      'slot(s) 2 failed or vanished during the live rescale (slot 2 (pod j-d1-2): Error, exit 1: boom)',
    );
    expect(liveFailure(op(3, 1), pods('running', 'finished', 'left'), undefined)).toMatch(/^slot\(s\) 1 failed/);
    expect(liveFailure(op(3, 1), pods('running', 'deleting', 'left'), undefined)).toMatch(/^slot\(s\) 1 failed/);
  });

  it('the runtime reporting FAILED, with its error', () => {
    expect(liveFailure(op(2, 3), pods('running', 'running'), { state: 'FAILED', error: 'TRIB_X: y' })).toBe(
      'runtime reports FAILED: TRIB_X: y',
    );
  });
});

describe('a live rescale: the slot slot 0 awaits', () => {
  it('is created when it has no pod, with the generation and parallelism slot 0 gave', () => {
    const m = status({ awaiting: { slot: 2, generation: 1, parallelism: 3 } });
    expect(joinAction(op(2, 3), pods('running', 'running'), m)).toEqual({
      kind: 'create',
      joining: { slot: 2, generation: 1, parallelism: 3 },
    });
    expect(joinAction(op(2, 3), pods('running', 'running', 'pending'), m)).toEqual({
      kind: 'joining',
      slot: 2,
      ready: false,
    });
    expect(joinAction(op(2, 3), pods('running', 'running'), status())).toEqual({ kind: 'none' });
  });

  it('is never created when slot 0 asks for a slot outside the rescale (reported instead)', () => {
    for (const awaiting of [
      { slot: 1, generation: 1, parallelism: 2 }, // a slot that runs already
      { slot: 3, generation: 1, parallelism: 4 }, // beyond the target
      { slot: 2, generation: 1, parallelism: 7 }, // not slot + 1
      { slot: 2, generation: 0, parallelism: 3 },
    ]) {
      const a = joinAction(op(2, 3), pods('running', 'running'), status({ awaiting }));
      expect(a.kind, JSON.stringify(awaiting)).toBe('invalid');
    }
    expect(
      joinAction(
        op(3, 2),
        pods('running', 'running', 'running'),
        status({ awaiting: { slot: 2, generation: 1, parallelism: 3 } }),
      ).kind,
    ).toBe('invalid');
  });
});

describe('a completed live scale in', () => {
  it('deletes the pods of the slots that left, and waits for those still leaving', () => {
    const a = scaleInAction(op(3, 1, 'migrated'), pods('running', 'left', 'running'));
    expect(a.remove.map((p) => p.metadata?.name)).toEqual(['j-d1-1']);
    expect(a.leaving).toEqual([2]);
    const b = scaleInAction(op(3, 1, 'migrated'), new Map([[0, pod(0, 'running')]]));
    expect(b).toEqual({ remove: [], leaving: [] });
  });
});

describe("the live rescale's status", () => {
  it('says the step, key groups and bytes moved, and what it waits for', () => {
    const rec = migrationRecord(status(), '2026-01-01T00:00:00Z');
    expect(rec).toMatchObject({ id: 'mig-1', from: 2, to: 3, stepsDone: 4, steps: 9, keyGroupsMoved: 52 });
    expect(rec.startedAt).toBe('2026-01-01T00:00:00Z');
    expect(progressMessage(rec, { kind: 'none' })).toBe('step 4/9: 52 key groups, 1.2 MiB moved');
    expect(progressMessage(rec, { kind: 'create', joining: { slot: 2, generation: 1, parallelism: 3 } })).toBe(
      "step 4/9: 52 key groups, 1.2 MiB moved; waiting for slot 2's pod",
    );
    expect(progressMessage(rec, { kind: 'joining', slot: 2, ready: true })).toBe(
      'step 4/9: 52 key groups, 1.2 MiB moved; slot 2 joining',
    );
    expect(formatMoved(300)).toBe('300 B');
    expect(formatMoved(2048)).toBe('2.0 KiB');
    expect(
      migrationRecord(status({ state: 'FAILED', error: 'boom', code: 'TRIB_RESCALE_STEP_FAILED' }), 'x').error,
    ).toBe('boom (TRIB_RESCALE_STEP_FAILED)');
  });
});

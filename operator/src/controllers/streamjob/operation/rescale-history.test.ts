import { describe, expect, it } from 'vitest';
import type { PendingOperation, StreamJobStatus } from '../../../api/v1alpha1/streamjob.ts';
import { MAX_RESCALES, recordRescaleDone, recordRescaleStart } from './rescale-history.ts';

const op = (kind: PendingOperation['kind'], dep = 'h-5'): PendingOperation => ({
  kind,
  targetSpecHash: 'h',
  targetDeploymentId: dep,
  mode: 'savepoint',
  startedAt: '',
  step: 'recorded',
  attempt: 1,
});
const deployed = (parallelism: number) => ({ id: 'g-4', specHash: 'g', parallelism, startedAt: '' });
const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T00:00:30Z');

describe('status.rescales', () => {
  it('records a rescale when it starts and completes it when its deployment runs', () => {
    const s: StreamJobStatus = { deployed: deployed(2) };
    recordRescaleStart(s, op('rescale'), 4, t0);
    expect(s.rescales).toEqual([
      { startedAt: t0.toISOString(), from: 2, to: 4, cause: 'user', mode: 'savepoint', deployment: 'h-5' },
    ]);
    recordRescaleDone(s, 'other-1', t1);
    expect(s.rescales![0]!.completedAt).toBeUndefined();
    recordRescaleDone(s, 'h-5', t1);
    expect(s.rescales![0]!.completedAt).toBe(t1.toISOString());
  });

  it('counts an upgrade that changes the replicas, not one that keeps them, nor a first deploy', () => {
    const s: StreamJobStatus = { deployed: deployed(3) };
    recordRescaleStart(s, op('upgrade'), 3, t0);
    recordRescaleStart(s, op('restart'), 5, t0);
    recordRescaleStart({}, op('deploy'), 5, t0);
    expect(s.rescales).toBeUndefined();
    recordRescaleStart(s, op('upgrade'), 5, t0);
    expect(s.rescales).toMatchObject([{ from: 3, to: 5 }]);
  });

  it('names the autoscaler when its last scale set these replicas, and keeps the newest MAX_RESCALES', () => {
    const s: StreamJobStatus = {
      deployed: deployed(2),
      autoscaler: { decisions: [{ time: '', action: 'ScaleUp', from: 2, to: 6, reason: '' }] },
    };
    recordRescaleStart(s, op('rescale'), 6, t0);
    expect(s.rescales![0]!.cause).toBe('autoscaler');
    for (let i = 0; i < MAX_RESCALES + 3; i++) recordRescaleStart(s, op('rescale', `d-${i}`), 3 + (i % 2), t0);
    expect(s.rescales).toHaveLength(MAX_RESCALES);
    expect(s.rescales!.at(-1)!.deployment).toBe(`d-${MAX_RESCALES + 2}`);
    expect(s.rescales!.every((r) => r.cause === 'user')).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { getCondition, isCurrent, isFalse, isTrue, removeCondition, setCondition, toRfc3339 } from './conditions.ts';

const t0 = new Date('2026-01-01T10:00:00.123Z');
const t1 = new Date('2026-01-01T10:05:00.999Z');

describe('conditions', () => {
  it('adds a condition in the standard shape with seconds-precision time', () => {
    const cs = setCondition(
      undefined,
      { type: 'Ready', status: 'False', reason: 'Deploying', message: 'pods starting' },
      3,
      t0,
    );
    expect(cs).toEqual([
      {
        type: 'Ready',
        status: 'False',
        observedGeneration: 3,
        lastTransitionTime: '2026-01-01T10:00:00Z',
        reason: 'Deploying',
        message: 'pods starting',
      },
    ]);
  });

  it('keeps lastTransitionTime when the status does not flip, but updates reason, message and generation', () => {
    const a = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Deploying' }, 1, t0);
    const b = setCondition(a, { type: 'Ready', status: 'False', reason: 'Waiting', message: 'slot 1' }, 2, t1);
    expect(b[0]).toMatchObject({
      lastTransitionTime: '2026-01-01T10:00:00Z',
      reason: 'Waiting',
      message: 'slot 1',
      observedGeneration: 2,
    });
  });

  it('moves lastTransitionTime when the status flips', () => {
    const a = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Deploying' }, 1, t0);
    const b = setCondition(a, { type: 'Ready', status: 'True', reason: 'Running' }, 1, t1);
    expect(b[0]?.lastTransitionTime).toBe(toRfc3339(t1));
    expect(isTrue(b, 'Ready')).toBe(true);
  });

  it('is pure and keeps the order of other conditions', () => {
    const a = setCondition(
      setCondition(undefined, { type: 'Ready', status: 'True', reason: 'R' }, 1, t0),
      { type: 'Degraded', status: 'False', reason: 'OK' },
      1,
      t0,
    );
    const b = setCondition(a, { type: 'Ready', status: 'False', reason: 'X' }, 2, t1);
    expect(a[0]?.status).toBe('True');
    expect(b.map((c) => c.type)).toEqual(['Ready', 'Degraded']);
    expect(isFalse(b, 'Ready')).toBe(true);
    expect(getCondition(b, 'Degraded')?.reason).toBe('OK');
  });

  it('setting the same values twice yields an equal list (no-op for a status writer)', () => {
    const a = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'R', message: 'm' }, 4, t0);
    const b = setCondition(a, { type: 'Ready', status: 'True', reason: 'R', message: 'm' }, 4, t1);
    expect(b).toEqual(a);
  });

  it('removes a condition and reports currency by generation', () => {
    const a = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'R' }, 4, t0);
    expect(isCurrent(a, 'Ready', 'True', 4)).toBe(true);
    expect(isCurrent(a, 'Ready', 'True', 5)).toBe(false);
    expect(removeCondition(a, 'Ready')).toEqual([]);
    expect(getCondition(undefined, 'Ready')).toBeUndefined();
  });
});

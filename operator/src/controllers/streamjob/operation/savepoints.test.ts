import { describe, expect, it } from 'vitest';
import { addToHistory } from './savepoints.ts';

describe('savepoint history', () => {
  it('keeps historyLimit savepoints and reports the dropped ones', () => {
    const rec = (i: number) => ({
      id: `s${i}`,
      path: `/state/savepoints/s${i}`,
      reason: 'manual',
      parallelism: 1,
      completedAt: '',
    });
    const { kept, dropped } = addToHistory([rec(1), rec(2)], rec(3), 2);
    expect(kept.map((r) => r.id)).toEqual(['s2', 's3']);
    expect(dropped.map((r) => r.id)).toEqual(['s1']);
  });
});

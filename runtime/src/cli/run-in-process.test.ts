import { describe, expect, it } from 'vitest';
import { rescaleBudgetBytes } from '../process/slot-env.ts';

describe('TRIBUTARY_RESCALE_BUDGET_BYTES', () => {
  it('is unset or empty: the default; else an integer ≥ 1, or the run refuses to start', () => {
    expect(rescaleBudgetBytes(undefined)).toBeUndefined();
    expect(rescaleBudgetBytes('')).toBeUndefined();
    expect(rescaleBudgetBytes('1')).toBe(1);
    expect(rescaleBudgetBytes('4194304')).toBe(4194304);
    for (const bad of ['0', '-1', '1.5', 'lots'])
      expect(() => rescaleBudgetBytes(bad)).toThrow(/TRIBUTARY_RESCALE_BUDGET_BYTES: expected an integer ≥ 1/);
  });
});

import { describe, expect, it } from 'vitest';
import { planMigration } from './plan.ts';
import { planned, startedProgress, stepsDone } from './rescale-progress.ts';

describe('rescale progress', () => {
  it('counts what the steps done moved, of the plan’s totals', () => {
    const plan = planMigration({
      maxParallelism: 8,
      from: 2,
      to: 3,
      keyGroupBytes: [10, 20, 30, 40, 50, 60, 70, 80],
      partitions: [],
      budget: { bytes: 60 },
    });
    expect(plan.steps.length).toBeGreaterThan(1);
    const p = startedProgress('m1', 2, 3, 'joining');
    expect(p).toMatchObject({ stepsDone: 0, steps: 0, keyGroupsMoved: 0, keyGroups: 0, bytesMoved: 0, bytes: 0 });
    planned(p, plan);
    expect(p).toMatchObject({ steps: plan.steps.length, keyGroups: plan.movedKeyGroups, bytes: plan.totalBytes });
    const first = plan.steps[0]!;
    stepsDone(p, plan, 1);
    expect(p).toMatchObject({ stepsDone: 1, keyGroupsMoved: first.keyGroups.length, bytesMoved: first.bytes });
    stepsDone(p, plan, plan.steps.length);
    expect(p).toMatchObject({ keyGroupsMoved: plan.movedKeyGroups, bytesMoved: plan.totalBytes });
  });
});

// The arithmetic of one recommendation: required rate, replicas at the target utilization, the bounds
// (minReplicas, maxReplicas, maxParallelism, partitions), rounding to an even split, the hold band and idle slots.
// Also the worked example of docs/operator/autoscaler.md: its numbers are asserted here so the doc stays true.
import { describe, expect, it } from 'vitest';
import type { AutoscalerInputs, AutoscalerSpec } from '../../../api/v1alpha1/autoscaler.ts';
import { decide } from './decide.ts';
import { resolvePolicy } from './policy.ts';
import { recommend, roundToDivisor } from './recommend.ts';

const base: AutoscalerInputs = {
  processingRate: 100,
  inputRate: 100,
  lag: 0,
  busyRatio: 0.5,
  capacity: 200,
  windowSeconds: 60,
};

describe('recommend', () => {
  const cases: {
    name: string;
    spec?: AutoscalerSpec;
    current: number;
    maxParallelism?: number;
    inputs: Partial<AutoscalerInputs>;
    replicas: number;
    held?: boolean;
    reason: RegExp;
  }[] = [
    {
      name: 'rounds up to divide the partitions evenly',
      current: 2,
      inputs: { inputRate: 300, processingRate: 200, busyRatio: 1, capacity: 200, lag: 60_000, partitions: 6 },
      // (300 + 60000/300) / (100 × 0.7) = 7.14 → 8 → capped at 6 partitions
      replicas: 6,
      reason: /= 500 rec\/s needed; capacity 100 rec\/s per slot at 70% = 70 → 7.14 → 8, capped at 6 \(6 partitions\)/,
    },
    {
      name: 'rounding: 4 does not divide 6 partitions, 6 does',
      current: 2,
      inputs: { inputRate: 250, processingRate: 200, busyRatio: 1, capacity: 200, partitions: 6 },
      replicas: 6,
      reason: /3\.57 → 4, rounded up to 6 to divide 6 partitions evenly/,
    },
    {
      name: 'no divisor within maxReplicas: the clamped value, said so',
      spec: { maxReplicas: 5 },
      current: 2,
      inputs: { inputRate: 250, processingRate: 200, busyRatio: 1, capacity: 200, partitions: 6 },
      replicas: 4,
      reason: /→ 4 \(no value up to 5 divides 6 partitions evenly\)/,
    },
    {
      name: 'without partitions: rounded to divide the key groups (maxParallelism)',
      current: 2,
      maxParallelism: 128,
      inputs: { inputRate: 330, processingRate: 200, busyRatio: 1, capacity: 200 },
      replicas: 8,
      reason: /4\.71 → 5, rounded up to 8 to divide 128 key groups evenly/,
    },
    {
      name: 'raised to minReplicas',
      spec: { minReplicas: 3 },
      current: 4,
      inputs: { inputRate: 10, processingRate: 10, busyRatio: 0.05, capacity: 400, partitions: 12 },
      replicas: 3,
      reason: /→ 1, raised to 3 \(minReplicas\)/,
    },
    {
      name: 'held within the utilization band while the lag is not growing',
      current: 4,
      inputs: { inputRate: 150, processingRate: 150, busyRatio: 0.55, capacity: 400, partitions: 12 },
      replicas: 4,
      held: true,
      reason: /→ 2.*; but busiest slot 55% busy is within 70% ± 20% and the lag is not growing: hold at 4/,
    },
    {
      name: 'not held in the band when the lag grows',
      current: 2,
      inputs: { inputRate: 260, processingRate: 240, busyRatio: 0.85, capacity: 200, lag: 5000, partitions: 12 },
      replicas: 4,
      reason:
        /^input 260 rec\/s \+ lag 5000\/300s = 277 rec\/s needed; capacity 100 rec\/s per slot at 70% = 70 → 3\.95 → 4$/,
    },
    {
      name: 'idle slots: capacity unbounded → the least allowed',
      current: 4,
      inputs: { inputRate: 1, processingRate: 1, busyRatio: 0.001, capacity: undefined, partitions: 12 },
      replicas: 1,
      reason: /slots under 2% busy: capacity not measurable, taken as unbounded → 1/,
    },
    {
      name: 'idle slots but a backlog that does not drain: stay',
      current: 4,
      inputs: { inputRate: 10, processingRate: 0, busyRatio: 0.001, capacity: undefined, lag: 50_000, partitions: 12 },
      replicas: 4,
      reason: /capacity not measurable and lag growing by 10 rec\/s: stay at 4/,
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      const inputs = { ...base, ...c.inputs };
      if (c.inputs.capacity === undefined && 'capacity' in c.inputs) delete inputs.capacity;
      const got = recommend({
        policy: resolvePolicy(c.spec ?? {}, c.maxParallelism ?? 12),
        current: c.current,
        maxParallelism: c.maxParallelism ?? 12,
        inputs,
      });
      expect(got.replicas).toBe(c.replicas);
      expect(got.held).toBe(c.held ?? false);
      expect(got.reason).toMatch(c.reason);
    });

  it('roundToDivisor', () => {
    expect(roundToDivisor(4, 12, 6)).toBe(6);
    expect(roundToDivisor(5, 12, 12)).toBe(6);
    expect(roundToDivisor(7, 12, 12)).toBe(12);
    expect(roundToDivisor(4, 5, 6)).toBe(4);
    expect(roundToDivisor(3, 3, 6)).toBe(3);
  });
});

describe('the worked example of docs/operator/autoscaler.md', () => {
  it('2 replicas, 6 partitions, 412 rec/s arriving, 9000 behind → ScaleUp to 6', () => {
    const now = Date.parse('2026-03-02T10:00:00Z');
    const policy = resolvePolicy({ enabled: true, mode: 'Scale' }, 128);
    const inputs: AutoscalerInputs = {
      processingRate: 380,
      inputRate: 412,
      lag: 9000,
      busyRatio: 0.93,
      bottleneck: 'enrich',
      capacity: 410,
      partitions: 6,
      windowSeconds: 60,
    };
    const r = decide({
      now,
      policy,
      current: 2,
      maxParallelism: 128,
      inputs,
      previous: undefined,
      ready: true,
      readySince: now - 600_000,
      operationPending: false,
    });
    const reason =
      'input 412 rec/s + lag 9000/300s = 442 rec/s needed; capacity 205 rec/s per slot at 70% = 144 → 3.08 → 4, ' +
      'rounded up to 6 to divide 6 partitions evenly';
    expect(r.scaleTo).toBe(6);
    expect(r.status.recommendedReplicas).toBe(6);
    expect(r.status.decisions).toEqual([
      { time: '2026-03-02T10:00:00.000Z', action: 'ScaleUp', from: 2, to: 6, reason },
    ]);
    expect(r.event).toEqual({ type: 'Normal', reason: 'AutoscalerScaleUp', message: `2 → 6: ${reason}` });
    expect(r.status.lastRescale).toEqual({ time: '2026-03-02T10:00:00.000Z', from: 2, to: 6, capacityBefore: 410 });
    expect(r.status.rescaleTimes).toEqual(['2026-03-02T10:00:00.000Z']);
  });
});

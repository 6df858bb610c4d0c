// The arithmetic of one recommendation: required rate, replicas at the target utilization, the bounds
// (minReplicas, maxReplicas, maxParallelism, partitions), rounding to an even split, the hold band and idle slots.
// Also the worked example of docs/operator/autoscaler.md: its numbers are asserted here so the doc stays true.
import { describe, expect, it } from 'vitest';
import type { SlotLoad } from '../../../../../runtime/src/control/contract.ts';
import type { AutoscalerInputs, AutoscalerSpec, AutoscalerStatus } from '../../../api/v1alpha1/autoscaler.ts';
import { decide } from './decide-scale.ts';
import { LoadWindow, type LoadSample } from './load-window.ts';
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

describe('a rising rate', () => {
  const policy = resolvePolicy({ enabled: true, mode: 'Scale', catchUpDuration: '60s' }, 128);
  const inputs: AutoscalerInputs = {
    processingRate: 108,
    inputRate: 108,
    recentInputRate: 350,
    lag: 600,
    busyRatio: 1,
    capacity: 200,
    partitions: 12,
    windowSeconds: 10,
    parallelism: 1,
  };

  it('sizes a scale-up by the newest quarter when it is well above the mean', () => {
    const r = recommend({ policy, current: 1, maxParallelism: 128, inputs });
    // (350 + 600/60) / (200 × 0.7) = 2.57 → 3; the mean (108 + 10) would ask for 1.
    expect(r.replicas).toBe(3);
    expect(r.reason).toContain('input 350 rec/s (rising: the newest quarter of the window) + lag 600/60s');
  });

  it('keeps the mean when the newest quarter is not above it: a falling rate waits for the window', () => {
    const r = recommend({ policy, current: 3, maxParallelism: 128, inputs: { ...inputs, recentInputRate: 20 } });
    expect(r.reason).toMatch(/^input 108 rec\/s \+ lag/);
  });
});

describe('the worked example of docs/operator/autoscaler.md', () => {
  const t0 = Date.parse('2026-03-02T10:00:00Z');
  const policy = resolvePolicy({ enabled: true, mode: 'Scale' }, 128);
  /** Slot counters `s` seconds into the window: 190 rec/s each, `enrich` 95% busy, 32 rec/s of lag growth. */
  const slotAt = (s: number): SlotLoad => ({
    uptimeMs: (600 + s) * 1000,
    busyMs: { eventLoop: (600 + s) * 400, enrich: (600 + s) * 950 },
    backpressuredMs: 0,
    recordsIn: (600 + s) * 190,
    sources: [{ source: 'clicks', partitions: 6, assigned: 3, lag: 3540 + 16 * s, recordsIn: (600 + s) * 190 }],
  });
  const sampleAt = (s: number): LoadSample => ({
    at: t0 - 60_000 + s * 1000,
    deploymentId: 'd1',
    parallelism: 2,
    slots: new Map([
      [0, slotAt(s)],
      [1, slotAt(s)],
    ]),
  });

  it('step 1: 2 slots, 6 partitions, 412 rec/s arriving, 9000 behind → ScaleUp to 6', () => {
    const window = new LoadWindow();
    for (let s = 0; s <= 60; s += 10) window.add(sampleAt(s));
    const inputs = window.inputs(t0, policy.metricsWindowMs);
    expect(inputs).toEqual({
      processingRate: 380,
      inputRate: 412,
      lag: 9000,
      busyRatio: 0.95,
      bottleneck: 'enrich',
      capacity: 400,
      partitions: 6,
      windowSeconds: 60,
      parallelism: 2,
      // Steady: the newest quarter of the window arrives at the window's rate.
      recentInputRate: 412,
    });
    const r = decide({
      now: t0,
      policy,
      current: 2,
      maxParallelism: 128,
      inputs,
      previous: undefined,
      ready: true,
      readySince: t0 - 600_000,
      operationPending: false,
    });
    const reason =
      'input 412 rec/s + lag 9000/300s = 442 rec/s needed; capacity 200 rec/s per slot at 70% = 140 → 3.16 → 4, ' +
      'rounded up to 6 to divide 6 partitions evenly';
    expect(r.scaleTo).toBe(6);
    expect(r.status.recommendedReplicas).toBe(6);
    expect(r.status.decisions).toEqual([
      { time: '2026-03-02T10:00:00.000Z', action: 'ScaleUp', from: 2, to: 6, reason },
    ]);
    expect(r.event).toEqual({ type: 'Normal', reason: 'AutoscalerScaleUp', message: `2 → 6: ${reason}` });
    expect(r.status.lastRescale).toEqual({ time: '2026-03-02T10:00:00.000Z', from: 2, to: 6, capacityBefore: 400 });
    expect(r.status.rescaleTimes).toEqual(['2026-03-02T10:00:00.000Z']);
  });

  it('step 2: the backlog drained, 6 slots 34% busy → 3, made only after scaleDownDelay', () => {
    const previous: AutoscalerStatus = {
      recommendedReplicas: 6,
      rescaleTimes: ['2026-03-02T10:00:00.000Z'],
      lastRescale: { time: '2026-03-02T10:00:00.000Z', from: 2, to: 6, capacityBefore: 400 },
      decisions: [],
    };
    const inputs: AutoscalerInputs = {
      processingRate: 412,
      inputRate: 412,
      lag: 0,
      busyRatio: 0.34,
      bottleneck: 'enrich',
      capacity: 1212,
      partitions: 6,
      windowSeconds: 60,
    };
    const args = { policy, current: 6, maxParallelism: 128, inputs, ready: true, operationPending: false };
    // Ready again at 10:01; the first decision past stabilization (1m) is at 10:10.
    const first = decide({ ...args, now: t0 + 600_000, previous, readySince: t0 + 60_000 });
    const reason =
      'input 412 rec/s + lag 0/300s = 412 rec/s needed; capacity 202 rec/s per slot at 70% = 141 → 2.91 → 3';
    expect(first.scaleTo).toBeUndefined();
    expect(first.status.lastRescale).toBeUndefined();
    expect(first.status.ineffective).toEqual([]);
    expect(first.status.recommendedReplicas).toBe(3);
    expect(first.status.decisions?.at(-1)).toEqual({
      time: '2026-03-02T10:10:00.000Z',
      action: 'Hold',
      from: 6,
      to: 3,
      reason: `${reason}; asked for fewer since 2026-03-02T10:10:00.000Z: 6 → 3 at 2026-03-02T10:15:00.000Z by scaleDownDelay (to the largest ask since then)`,
    });
    const later = decide({ ...args, now: t0 + 900_000, previous: first.status, readySince: t0 + 60_000 });
    expect(later.scaleTo).toBe(3);
    expect(later.status.decisions?.at(-1)).toEqual({
      time: '2026-03-02T10:15:00.000Z',
      action: 'ScaleDown',
      from: 6,
      to: 3,
      reason,
    });
  });
});

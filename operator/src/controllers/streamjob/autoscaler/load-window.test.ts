// The load window turns cumulative slot counters into a decision's inputs: rates over the window, the busiest
// slot's bottleneck, capacity from each slot's rate per busy second, lag and its trend; a restarted slot starts
// over; too little data or no load counters is a reason to wait.
import { describe, expect, it } from 'vitest';
import type { SlotLoad } from '../../../../../runtime/src/control/contract.ts';
import type { AutoscalerInputs } from '../../../api/v1alpha1/autoscaler.ts';
import { LoadWindow, type LoadSample } from './load-window.ts';

/** A slot's counters after `s` seconds of `rate` rec/s at `busy` (of eventLoop unless `resource`). */
function slot(
  s: number,
  o: { rate: number; busy: number; lag?: number; partitions?: number; resource?: string },
): SlotLoad {
  const busyMs: Record<string, number> = { eventLoop: s * 1000 * (o.resource ? 0.1 : o.busy) };
  if (o.resource) busyMs[o.resource] = s * 1000 * o.busy;
  return {
    uptimeMs: s * 1000,
    busyMs,
    backpressuredMs: 0,
    recordsIn: s * o.rate,
    sources: [{ source: 'in', partitions: o.partitions ?? 6, assigned: 3, lag: o.lag ?? 0, recordsIn: s * o.rate }],
  };
}

const T0 = Date.parse('2026-01-01T00:00:00Z');

function sample(s: number, slots: (SlotLoad | undefined)[], deploymentId = 'd1'): LoadSample {
  return { at: T0 + s * 1000, deploymentId, parallelism: slots.length, slots: new Map(slots.map((l, i) => [i, l])) };
}

function asInputs(x: AutoscalerInputs | { waiting: string }): AutoscalerInputs {
  if ('waiting' in x) throw new Error(`expected inputs, got waiting ${x.waiting}`);
  return x;
}

describe('LoadWindow', () => {
  it('waits (CollectingMetrics) until half the window is covered', () => {
    const w = new LoadWindow();
    expect(w.inputs(T0, 60_000)).toMatchObject({ waiting: 'CollectingMetrics' });
    for (const s of [0, 10, 20]) w.add(sample(s, [slot(s, { rate: 100, busy: 0.5 })]));
    expect(w.inputs(T0 + 20_000, 60_000)).toMatchObject({
      waiting: 'CollectingMetrics',
      detail: '20s of the 60s window sampled',
    });
    w.add(sample(30, [slot(30, { rate: 100, busy: 0.5 })]));
    expect('waiting' in w.inputs(T0 + 30_000, 60_000)).toBe(false);
  });

  it('gives the arrival rate of the newest quarter of the window: a step shows there before it moves the mean', () => {
    const w = new LoadWindow();
    // 60 rec/s read for 50 s; then 350 arrive per second while the slot still reads 200 (the rest is lag).
    const at = (s: number): SlotLoad => {
      const high = Math.max(0, s - 50);
      return {
        uptimeMs: s * 1000,
        busyMs: { eventLoop: s * 100 },
        backpressuredMs: 0,
        recordsIn: 60 * (s - high) + 200 * high,
        sources: [{ source: 'in', partitions: 6, assigned: 6, lag: 150 * high, recordsIn: 0 }],
      };
    };
    for (let s = 0; s <= 60; s += 5) w.add(sample(s, [at(s)]));
    const inputs = asInputs(w.inputs(T0 + 60_000, 60_000));
    // The mean: (50 × 60 + 10 × 350) / 60 ≈ 108; the newest 15 s: (5 × 60 + 10 × 350) / 15 ≈ 253.
    expect(inputs.inputRate).toBeCloseTo(108.3, 1);
    expect(inputs.recentInputRate).toBeCloseTo(253.3, 1);
  });

  it('waits (NoLoadMetrics) when the slots answer without load', () => {
    const w = new LoadWindow();
    w.add(sample(0, [undefined, undefined]));
    w.add(sample(60, [undefined, undefined]));
    expect(w.inputs(T0 + 60_000, 60_000)).toMatchObject({ waiting: 'NoLoadMetrics' });
  });

  const cases: {
    name: string;
    slots: (s: number) => (SlotLoad | undefined)[];
    expect: Partial<AutoscalerInputs>;
  }[] = [
    {
      name: 'two slots: rates add up, capacity is Σ rate/busy, busy ratio is the busiest',
      slots: (s) => [slot(s, { rate: 100, busy: 0.5 }), slot(s, { rate: 60, busy: 0.2 })],
      expect: {
        processingRate: 160,
        inputRate: 160,
        busyRatio: 0.5,
        capacity: 200 + 300,
        bottleneck: 'eventLoop',
        partitions: 6,
      },
    },
    {
      name: 'an async step that is the bottleneck is named',
      slots: (s) => [slot(s, { rate: 50, busy: 0.9, resource: 'enrich' })],
      expect: { busyRatio: 0.9, bottleneck: 'enrich', capacity: 50 / 0.9 },
    },
    {
      name: 'a growing lag raises the input rate above the processing rate',
      slots: (s) => [slot(s, { rate: 100, busy: 0.8, lag: 30 * s })],
      expect: { processingRate: 100, inputRate: 130, lag: 30 * 160 },
    },
    {
      name: 'a draining lag lowers the input rate, never below 0',
      slots: (s) => [slot(s, { rate: 100, busy: 0.8, lag: 200_000 - 1000 * s })],
      expect: { processingRate: 100, inputRate: 0, lag: 40_000 },
    },
    {
      name: 'an idle slot (under 2% busy) is left out of the capacity: the measured slots stand for it',
      slots: (s) => [slot(s, { rate: 100, busy: 0.5 }), slot(s, { rate: 1, busy: 0.001 })],
      expect: { processingRate: 101, capacity: 2 * 200 },
    },
    {
      name: 'no capacity when every slot is idle (unbounded, as Flink takes it)',
      slots: (s) => [slot(s, { rate: 0, busy: 0.001 })],
      expect: { processingRate: 0, capacity: undefined },
    },
    {
      name: 'partitions: the largest over the sources',
      slots: (s) => [slot(s, { rate: 10, busy: 0.1, partitions: 4 }), slot(s, { rate: 10, busy: 0.1, partitions: 12 })],
      expect: { partitions: 12 },
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      const w = new LoadWindow();
      // The job ran 100s before the window; samples every 10s.
      for (let s = 100; s <= 160; s += 10) w.add(sample(s, c.slots(s)));
      const got = asInputs(w.inputs(T0 + 160_000, 60_000));
      expect(got.windowSeconds).toBe(60);
      for (const [k, v] of Object.entries(c.expect)) {
        if (typeof v === 'number') expect(got[k as keyof AutoscalerInputs], k).toBeCloseTo(v, 6);
        else expect(got[k as keyof AutoscalerInputs], k).toEqual(v);
      }
    });

  it('differences only the window: a different load before it does not count', () => {
    const w = new LoadWindow();
    // 0..100s at 10 rec/s, 10% busy; then 100..160s at 100 rec/s, 50% busy.
    const at = (s: number): SlotLoad =>
      s <= 100
        ? slot(s, { rate: 10, busy: 0.1 })
        : {
            ...slot(s - 100, { rate: 100, busy: 0.5 }),
            uptimeMs: s * 1000,
            recordsIn: 1000 + (s - 100) * 100,
            busyMs: { eventLoop: 10_000 + (s - 100) * 500 },
          };
    for (let s = 0; s <= 160; s += 10) w.add(sample(s, [at(s)]));
    const got = asInputs(w.inputs(T0 + 160_000, 60_000));
    expect(got.processingRate).toBeCloseTo(100, 6);
    expect(got.busyRatio).toBeCloseTo(0.5, 6);
    expect(got.capacity).toBeCloseTo(200, 6);
  });

  it('a slot that restarted in the window starts over from its restart', () => {
    const w = new LoadWindow();
    // Slot 1 restarts at 130s (its uptime drops to 0) and then runs at 50 rec/s, 50% busy.
    for (let s = 100; s <= 160; s += 10) {
      const restarted = s >= 130 ? slot(s - 130, { rate: 50, busy: 0.5 }) : slot(s, { rate: 500, busy: 0.9 });
      w.add(sample(s, [slot(s, { rate: 100, busy: 0.5 }), restarted]));
    }
    const got = asInputs(w.inputs(T0 + 160_000, 60_000));
    // Without the restart rule, slot 1's negative deltas would give nonsense (negative rates).
    expect(got.processingRate).toBeCloseTo(100 + 50, 6);
    expect(got.capacity).toBeCloseTo(200 + 100, 6);
    expect(got.busyRatio).toBeCloseTo(0.5, 6);
  });

  it('a slot that missed answers counts with its last one', () => {
    const w = new LoadWindow();
    // Slot 1 does not answer at 150s and 160s (absent from the samples): its rate and lag still count.
    for (let s = 100; s <= 160; s += 10) {
      const slots = [slot(s, { rate: 100, busy: 0.5, lag: 1000 })];
      if (s < 150) slots.push(slot(s, { rate: 60, busy: 0.3, lag: 10 * s }));
      w.add({ ...sample(s, slots), parallelism: 2 });
    }
    const got = asInputs(w.inputs(T0 + 160_000, 60_000));
    expect(got.processingRate).toBeCloseTo(160, 6);
    expect(got.lag).toBe(1000 + 1400);
    expect(got.inputRate).toBeCloseTo(160 + 10, 6);
    expect(got.capacity).toBeCloseTo(400, 6);
  });

  it('a new deployment drops the old samples', () => {
    const w = new LoadWindow();
    for (let s = 0; s <= 60; s += 10) w.add(sample(s, [slot(s, { rate: 100, busy: 0.5 })], 'd1'));
    w.add(sample(70, [slot(5, { rate: 100, busy: 0.5 }), slot(5, { rate: 100, busy: 0.5 })], 'd2'));
    expect(w.size).toBe(1);
    expect(w.inputs(T0 + 70_000, 60_000)).toMatchObject({ waiting: 'CollectingMetrics' });
  });

  it('a live rescale (same deployment, another parallelism) drops the old samples too', () => {
    const w = new LoadWindow();
    for (let s = 0; s <= 60; s += 10) w.add(sample(s, [slot(s, { rate: 100, busy: 0.5 })], 'd1'));
    w.add(sample(70, [slot(70, { rate: 100, busy: 0.5 }), slot(5, { rate: 100, busy: 0.5 })], 'd1'));
    expect(w.size).toBe(1);
    expect(w.inputs(T0 + 70_000, 60_000)).toMatchObject({ waiting: 'CollectingMetrics' });
  });

  it('keeps bounded memory: at most maxSamples, and none older than the window needs', () => {
    const w = new LoadWindow(20);
    for (let s = 0; s <= 300; s += 5) w.add(sample(s, [slot(s, { rate: 1, busy: 0.5 })]));
    expect(w.size).toBe(20);
    asInputs(w.inputs(T0 + 300_000, 60_000));
    // 240s (the baseline) .. 300s every 5s.
    expect(w.size).toBe(13);
  });
});

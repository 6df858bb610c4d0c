// Decisions over time, against a model job: each slot processes at most `perSlot` rec/s (the total at most
// `limit`, a shared bottleneck more slots do not lift), a backlog builds when the input outruns it, and a rescale
// makes the job not Ready for `rescaleS` seconds. A decision every 15s, as the operator's resync would make.
import { describe, expect, it } from 'vitest';
import type { AutoscalerInputs, AutoscalerSpec, AutoscalerStatus } from '../../../api/v1alpha1/autoscaler.ts';
import { decide, MAX_DECISIONS, type DecideResult } from './decide-scale.ts';
import { resolvePolicy } from './policy.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const TICK_S = 15;

interface Tick {
  t: number;
  current: number;
  lag: number;
  result: DecideResult;
}

function simulate(o: {
  spec: AutoscalerSpec;
  start: number;
  rate: (t: number) => number;
  seconds: number;
  perSlot?: number;
  limit?: number;
  partitions?: number;
  rescaleS?: number;
}): Tick[] {
  const policy = resolvePolicy({ enabled: true, mode: 'Scale', ...o.spec }, 128);
  const perSlot = o.perSlot ?? 100;
  let current = o.start;
  let lag = 0;
  let status: AutoscalerStatus | undefined;
  let readyAt = -600;
  const ticks: Tick[] = [];
  for (let t = 0; t <= o.seconds; t += TICK_S) {
    const r = o.rate(t);
    const ready = t >= readyAt;
    const cap = Math.min(current * perSlot, o.limit ?? Infinity);
    const processed = ready ? Math.min(r + lag / TICK_S, cap) : 0;
    const lagBefore = lag;
    lag = Math.max(0, lag + (r - processed) * TICK_S);
    const busy = processed / cap;
    const inputs: AutoscalerInputs = {
      processingRate: processed,
      inputRate: Math.max(0, processed + (lag - lagBefore) / TICK_S),
      lag,
      busyRatio: busy,
      partitions: o.partitions ?? 12,
      windowSeconds: 60,
    };
    if (busy >= 0.02) inputs.capacity = cap;
    const result = decide({
      now: T0 + t * 1000,
      policy,
      current,
      maxParallelism: 128,
      inputs,
      previous: status,
      ready,
      readySince: T0 + readyAt * 1000,
      operationPending: false,
    });
    ticks.push({ t, current, lag, result });
    status = result.status;
    if (result.scaleTo !== undefined) {
      current = result.scaleTo;
      readyAt = t + (o.rescaleS ?? 30);
    }
  }
  return ticks;
}

const rescales = (ticks: Tick[]) =>
  ticks.filter((k) => k.result.scaleTo !== undefined).map((k) => ({ t: k.t, from: k.current, to: k.result.scaleTo }));

describe('a rising rate', () => {
  const policy = resolvePolicy({ enabled: true, mode: 'Scale', catchUpDuration: '60s' }, 128);
  const rising = (recent: number): AutoscalerInputs => ({
    processingRate: 100,
    inputRate: 110,
    recentInputRate: recent,
    lag: 0,
    busyRatio: 1,
    capacity: 100,
    partitions: 12,
    windowSeconds: 60,
  });
  const at = (s: number, inputs: AutoscalerInputs, previous?: AutoscalerStatus) =>
    decide({
      now: T0 + s * 1000,
      policy,
      current: 1,
      maxParallelism: 128,
      inputs,
      previous,
      ready: true,
      readySince: T0 - 600_000,
      operationPending: false,
    });

  it('waits a quarter of the window after the need began, then scales to the newest ask', () => {
    // 2 s after a step the newest quarter is a mix (200 rec/s): asks for 3; 15 s after, all new (350): asks for 6.
    const first = at(0, rising(200));
    expect(first.scaleTo).toBeUndefined();
    expect(first.status.decisions?.at(-1)?.reason).toContain('a rising rate: at least a quarter of metricsWindow');
    expect(at(10, rising(300), first.status).scaleTo).toBeUndefined();
    expect(at(15, rising(350), first.status).scaleTo).toBe(6);
  });

  it('a steady rate scales up at once', () => {
    expect(at(0, { ...rising(110), lag: 600 }).scaleTo).toBe(2);
  });
});

describe('decide over time', () => {
  it('a step up in rate: ScaleUp within the first decisions, and the backlog drains within catchUpDuration', () => {
    const ticks = simulate({ spec: {}, start: 2, rate: (t) => (t < 300 ? 120 : 400), seconds: 1200 });
    const ups = rescales(ticks);
    expect(ups[0]).toMatchObject({ from: 2 });
    expect(ups[0]?.t).toBeLessThanOrEqual(300 + 2 * TICK_S);
    expect(ups[0]?.to).toBeGreaterThanOrEqual(6);
    expect(ticks.filter((k) => k.t < 300).every((k) => k.result.scaleTo === undefined)).toBe(true);
    // catchUpDuration 5m after the decision, no backlog is left.
    expect(ticks.find((k) => k.t === (ups[0]?.t as number) + 300)?.lag).toBe(0);
  });

  it('a rate drop: ScaleDown only after scaleDownDelay, to the largest ask of the delay', () => {
    // 6 slots at 400 rec/s; at 600s the rate drops to 100, with one spike to 180 (needs 3) inside the delay.
    const rate = (t: number) => (t < 600 ? 400 : t === 660 ? 180 : 100);
    const ticks = simulate({ spec: { stabilization: '0s' }, start: 6, rate, seconds: 1500 });
    const moves = rescales(ticks);
    // 6 → 3 once 5 minutes of decisions asked for fewer (3 the largest ask: the spike), then, 5 minutes of asks
    // for 2 later, 3 → 2.
    expect(moves).toEqual([
      { t: 600 + 300, from: 6, to: 3 },
      { t: 600 + 300 + 30 + 15 + 300, from: 3, to: 2 },
    ]);
    const held = ticks.find((k) => k.t === 615)?.result;
    expect(held?.status.decisions?.at(-1)).toMatchObject({ action: 'Hold', from: 6, to: 2 });
    expect(held?.status.pendingChange).toMatchObject({ direction: 'Down', replicas: 2 });
  });

  it('scaleUpGracePeriod: a scale-up waits until its need has lasted that long', () => {
    const ticks = simulate({
      spec: { scaleUpGracePeriod: '45s' },
      start: 2,
      rate: (t) => (t < 300 ? 120 : 400),
      seconds: 600,
    });
    expect(rescales(ticks)[0]?.t).toBe(300 + 45);
  });

  it('a held-back change that then meets the budget says so (one entry per rule, one Event each)', () => {
    const now = T0 + 7200_000;
    const policy = resolvePolicy({ enabled: true, mode: 'Scale', maxRescalesPerHour: 2 }, 128);
    const inputs: AutoscalerInputs = {
      processingRate: 100,
      inputRate: 100,
      lag: 0,
      busyRatio: 0.17,
      capacity: 600,
      partitions: 12,
      windowSeconds: 60,
    };
    const args = { policy, current: 6, maxParallelism: 128, inputs, ready: true, operationPending: false };
    const rescaleTimes = [new Date(now - 1800_000).toISOString(), new Date(now - 1700_000).toISOString()];
    const first = decide({ ...args, now, previous: { rescaleTimes } });
    expect(first.event).toMatchObject({ type: 'Normal', reason: 'AutoscalerHeldBack' });
    const again = decide({ ...args, now: now + 60_000, previous: first.status });
    expect(again.event).toBeUndefined();
    expect(again.status.decisions).toHaveLength(1);
    const budget = decide({ ...args, now: now + 300_000, previous: again.status });
    expect(budget.scaleTo).toBeUndefined();
    expect(budget.event).toMatchObject({ type: 'Warning', reason: 'AutoscalerBudgetExhausted' });
    expect(budget.event?.message).toMatch(
      /held back: 2 rescales in the last hour, maxRescalesPerHour 2, next possible at 2026-01-01T02:30:00.000Z/,
    );
    expect(budget.status.decisions?.map((d) => d.action)).toEqual(['Hold', 'Hold']);
    // Once the oldest rescale is an hour old, the scale-down is made.
    expect(decide({ ...args, now: now + 1800_000, previous: budget.status }).scaleTo).toBe(2);
  });

  it('a noisy rate never rescales more than maxRescalesPerHour in any hour', () => {
    const spec: AutoscalerSpec = { stabilization: '0s', scaleDownDelay: '0s', maxRescalesPerHour: 4 };
    const rate = (t: number) => (Math.floor(t / 120) % 2 === 0 ? 100 : 600);
    const ticks = simulate({ spec, start: 2, rate, seconds: 3 * 3600, rescaleS: 15 });
    const times = rescales(ticks).map((r) => r.t);
    expect(times.length).toBeGreaterThan(4);
    for (const t of times) expect(times.filter((u) => u > t - 3600 && u <= t).length).toBeLessThanOrEqual(4);
    const held = ticks.flatMap((k) => (k.result.event?.reason === 'AutoscalerBudgetExhausted' ? [k] : []));
    expect(held.length).toBeGreaterThan(0);
    expect(held[0]?.result.event?.message).toMatch(/held back: 4 rescales in the last hour, maxRescalesPerHour 4/);
    expect(ticks.every((k) => (k.result.status.decisions?.length ?? 0) <= MAX_DECISIONS)).toBe(true);
  });

  it('Recommend mode changes nothing and reports the decision Scale would make', () => {
    const rate = (t: number) => (t < 300 ? 120 : 400);
    const scale = rescales(simulate({ spec: {}, start: 2, rate, seconds: 330 }));
    const ticks = simulate({ spec: { mode: 'Recommend' }, start: 2, rate, seconds: 900 });
    expect(ticks.every((k) => k.result.scaleTo === undefined && k.current === 2)).toBe(true);
    const first = ticks.find((k) => k.result.event?.reason === 'AutoscalerRecommendation');
    expect(first?.t).toBe(scale[0]?.t);
    expect(first?.result.status.decisions?.at(-1)).toMatchObject({ action: 'Recommend', from: 2, to: scale[0]?.to });
    expect(first?.result.status.recommendedReplicas).toBe(scale[0]?.to);
    // A repeated recommendation is one entry, kept current, not one per decision.
    const last = ticks.at(-1)?.result.status;
    const recs = last?.decisions?.filter((d) => d.action === 'Recommend') ?? [];
    const recommendTicks = ticks.filter((k) => k.result.status.decisions?.at(-1)?.action === 'Recommend');
    expect(recs.length).toBeLessThan(recommendTicks.length / 4);
    recs.slice(1).forEach((d, n) => expect(d.to).not.toBe(recs[n]?.to));
    expect(last?.rescaleTimes).toEqual([]);
  });

  it('an ineffective scale-up is remembered and not repeated within the hour', () => {
    // A shared bottleneck: 2 slots make 200 rec/s, 6 make 210.
    const ticks = simulate({ spec: {}, start: 2, rate: () => 400, limit: 210, seconds: 3900 });
    const judged = ticks.find((k) => k.result.event?.reason === 'AutoscalerIneffectiveRescale');
    const at = judged?.t as number;
    const until = new Date(T0 + at * 1000 + 3_600_000).toISOString();
    expect(judged?.result.event?.type).toBe('Warning');
    expect(judged?.result.event?.message).toMatch(
      /^scale-up 2 → 6 at .* did not raise capacity: 200 → 210 rec\/s \(expected about 600\); no scale-up to 6 or more before /,
    );
    expect(judged?.result.status.ineffective).toEqual([{ replicas: 6, from: 2, until }]);
    expect(judged?.result.status.lastRescale).toBeUndefined();
    // The need remains (the lag grows), held back by the memory, said so.
    expect(judged?.result.status.decisions?.at(-1)).toMatchObject({ action: 'Hold', from: 6, to: 12 });
    expect(judged?.result.status.decisions?.at(-1)?.reason).toMatch(/capped at 5: 2 → 6 did not raise capacity/);
    // No rescale until the memory expires; then the scale-up is tried again.
    const moves = rescales(ticks);
    expect(moves[0]).toEqual({ t: 0, from: 2, to: 6 });
    expect(moves[1]?.t).toBeGreaterThanOrEqual(at + 3600);
    expect(moves[1]).toMatchObject({ from: 6, to: 12 });
  });

  it('an ineffective scale-up caps the next scale-up from as few replicas', () => {
    const now = T0 + 7200_000;
    const previous: AutoscalerStatus = {
      ineffective: [{ replicas: 6, from: 2, until: new Date(now + 600_000).toISOString() }],
    };
    const inputs: AutoscalerInputs = {
      processingRate: 200,
      inputRate: 400,
      lag: 1000,
      busyRatio: 1,
      capacity: 200,
      partitions: 12,
      windowSeconds: 60,
    };
    const args = {
      now,
      policy: resolvePolicy({ enabled: true, mode: 'Scale' }, 128),
      maxParallelism: 128,
      inputs,
      previous,
      ready: true,
      operationPending: false,
    };
    const r = decide({ ...args, current: 2 });
    expect(r.scaleTo).toBe(5);
    expect(r.status.decisions?.at(-1)?.reason).toMatch(/capped at 5: 2 → 6 did not raise capacity \(not again before /);
    const held = decide({
      ...args,
      current: 5,
      inputs: { ...inputs, capacity: 500 },
      previous: { ...previous, ineffective: [{ replicas: 6, from: 5, until: new Date(now + 1).toISOString() }] },
    });
    expect(held.scaleTo).toBeUndefined();
    expect(held.status.decisions?.at(-1)).toMatchObject({ action: 'Hold', from: 5 });
    expect(held.event).toMatchObject({ reason: 'AutoscalerHeldBack' });
    // Once it expires, the scale-up is made.
    expect(
      decide({ ...args, now: now + 2, current: 5, inputs: { ...inputs, capacity: 500 }, previous: held.status })
        .scaleTo,
    ).toBeGreaterThan(5);
  });
});

describe('decide: no decision while it cannot be made', () => {
  const now = T0 + 3600_000;
  const inputs: AutoscalerInputs = {
    processingRate: 200,
    inputRate: 400,
    lag: 1000,
    busyRatio: 1,
    capacity: 200,
    partitions: 12,
    windowSeconds: 60,
  };
  const previous: AutoscalerStatus = {
    pendingChange: { direction: 'Up', since: new Date(now - 10_000).toISOString(), replicas: 6 },
    recommendedReplicas: 6,
  };
  const ok = {
    now,
    current: 2,
    maxParallelism: 128,
    inputs,
    previous,
    ready: true,
    readySince: now - 600_000,
    operationPending: false,
  };
  const scale = resolvePolicy({ enabled: true, mode: 'Scale' }, 128);
  const cases: { name: string; args: Partial<Parameters<typeof decide>[0]>; waiting: RegExp }[] = [
    { name: 'disabled', args: { policy: resolvePolicy({ mode: 'Scale' }, 128) }, waiting: /^Disabled: / },
    { name: 'not ready', args: { ready: false }, waiting: /^NotReady: / },
    { name: 'mid-operation', args: { operationPending: true }, waiting: /^OperationInProgress: / },
    {
      name: 'stabilizing after Ready',
      args: { readySince: now - 30_000 },
      waiting: /^Stabilizing: no decision before 2026-01-01T01:00:30.000Z/,
    },
    {
      name: 'collecting metrics',
      args: { inputs: { waiting: 'CollectingMetrics', detail: '20s of the 60s window sampled' } },
      waiting: /^CollectingMetrics: 20s of the 60s/,
    },
    { name: 'no load metrics', args: { inputs: { waiting: 'NoLoadMetrics' } }, waiting: /^NoLoadMetrics$/ },
    {
      name: 'a rescale not carried out yet: the metrics are of the old size',
      args: { current: 6, inputs: { ...inputs, parallelism: 2 } },
      waiting: /^Stabilizing: the metrics are of 2 slots, spec.replicas is 6 \(a rescale under way\)$/,
    },
    {
      name: 'stabilizing after its own rescale, though Ready did not change',
      args: { previous: { rescaleTimes: [new Date(now - 20_000).toISOString()] } },
      waiting: /^Stabilizing: no decision before 2026-01-01T01:00:40.000Z \(stabilization after its last rescale\)$/,
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      const r = decide({ policy: scale, ...ok, ...c.args });
      expect(r.status.waiting).toMatch(c.waiting);
      expect(r.scaleTo).toBeUndefined();
      expect(r.event).toBeUndefined();
      expect(r.status.pendingChange).toBeUndefined();
    });

  it('keeps the inputs it has and the last recommendation while waiting', () => {
    const r = decide({ policy: scale, ...ok, ready: false });
    expect(r.status.inputs).toEqual(inputs);
    expect(r.status.recommendedReplicas).toBe(6);
  });

  it('forgets rescales older than an hour and expired ineffective entries', () => {
    const r = decide({
      policy: scale,
      ...ok,
      ready: false,
      previous: {
        rescaleTimes: [new Date(now - 3600_000).toISOString(), new Date(now - 60_000).toISOString()],
        ineffective: [{ replicas: 4, from: 2, until: new Date(now).toISOString() }],
      },
    });
    expect(r.status.rescaleTimes).toEqual([new Date(now - 60_000).toISOString()]);
    expect(r.status.ineffective).toEqual([]);
  });
});

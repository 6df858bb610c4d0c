// The replicas a job needs by its inputs alone, with the numbers that made them: no timing, budget or memory
// (decide-scale.ts applies those). The arithmetic of docs/operator/autoscaler.md "The algorithm":
//   required = inputRate + lag / catchUpDuration   (inputRate: the newest quarter's, when it is > 1.1 × the mean)
//   needed   = ceil(required / (capacity / current × targetUtilization))
//   clamped to [minReplicas, min(maxReplicas, maxParallelism, partitions)], then rounded up to the smallest value
//   that divides the partitions (or, with no Kafka source, the key groups = maxParallelism) evenly, if one is
//   within the bounds: 4 slots over 6 partitions read 2, 2, 1, 1 — the job runs at the pace of its busiest slots.
//   Held at current while the busiest slot is within targetUtilization ± utilizationBoundary and the backlog is
//   under control (not growing, or draining within catchUpDuration).
import type { AutoscalerInputs } from '../../../api/v1alpha1/autoscaler.ts';
import { MIN_MEASURABLE_BUSY } from './load-window.ts';
import type { AutoscalerPolicy } from './policy.ts';

export interface Recommendation {
  /** The replicas the rules ask for (current when holding). */
  readonly replicas: number;
  /** True when the utilization band held the job at current although the arithmetic asked otherwise. */
  readonly held: boolean;
  /** The numbers and the rules that applied, in words. */
  readonly reason: string;
}

/** How far the newest quarter's arrival rate must exceed the window's mean to be taken as the rate. */
export const RISING_RATE_FACTOR = 1.1;

/** Whether the newest quarter's arrival rate is well above the window's mean: a rate on the way up. */
export function isRising(inputs: AutoscalerInputs): boolean {
  return (inputs.recentInputRate ?? 0) > inputs.inputRate * RISING_RATE_FACTOR;
}

/** Lag growth below this share of the processing rate is noise (Kafka end offsets and answers are not atomic). */
export const LAG_GROWTH_TOLERANCE = 0.02;

export function recommend(args: {
  policy: AutoscalerPolicy;
  current: number;
  maxParallelism: number;
  inputs: AutoscalerInputs;
}): Recommendation {
  const { policy, current, inputs } = args;
  const target = policy.targetUtilization;
  const catchUpS = policy.catchUpDurationMs / 1000;
  // A rising rate (the newest quarter of the window well above the window's mean) sizes the job by the newest
  // rate: the mean trails a step by half a window. A falling one does not: scale-downs wait for the whole window.
  const rising = isRising(inputs);
  const rate = rising ? (inputs.recentInputRate as number) : inputs.inputRate;
  const required = rate + inputs.lag / catchUpS;
  const upperBy: [number, string][] = [
    [policy.maxReplicas, `maxReplicas ${policy.maxReplicas}`],
    [args.maxParallelism, `maxParallelism ${args.maxParallelism}`],
  ];
  if (inputs.partitions !== undefined) upperBy.push([inputs.partitions, `${inputs.partitions} partitions`]);
  const [upper, upperWhy] = upperBy.reduce((a, b) => (b[0] < a[0] ? b : a));
  const lower = Math.min(policy.minReplicas, upper);
  const demand = `input ${num(rate)} rec/s${rising ? ' (rising: the newest quarter of the window)' : ''} + lag ${num(inputs.lag)}/${num(catchUpS)}s = ${num(required)} rec/s needed`;
  const backlog = backlogState(inputs, catchUpS);

  let wanted: number;
  let why: string;
  if (inputs.capacity === undefined || inputs.capacity <= 0) {
    const idle = `slots under ${pct(MIN_MEASURABLE_BUSY)} busy: capacity not measurable`;
    if (backlog !== undefined)
      return { replicas: current, held: false, reason: `${demand}; ${idle} and ${backlog}: stay at ${current}` };
    wanted = lower;
    why = `${demand}; ${idle}, taken as unbounded → ${lower} (the least allowed)`;
  } else {
    const perSlot = inputs.capacity / current;
    const raw = required / (perSlot * target);
    // A ratio that is an integer up to float error (3.0000000001) needs that integer, not one more.
    const needed = Math.max(1, Math.ceil(raw - 1e-9));
    wanted = Math.min(Math.max(needed, lower), upper);
    why =
      `${demand}; capacity ${num(perSlot)} rec/s per slot at ${pct(target)} = ${num(perSlot * target)} → ` +
      `${raw.toFixed(2)} → ${needed}`;
    if (wanted > needed) why += `, raised to ${wanted} (minReplicas)`;
    if (wanted < needed) why += `, capped at ${wanted} (${upperWhy})`;
  }
  const even = roundToDivisor(wanted, upper, inputs.partitions ?? args.maxParallelism);
  const units = inputs.partitions !== undefined ? 'partitions' : 'key groups';
  const total = inputs.partitions ?? args.maxParallelism;
  if (even !== wanted) why += `, rounded up to ${even} to divide ${total} ${units} evenly`;
  else if (total % wanted !== 0) why += ` (no value up to ${upper} divides ${total} ${units} evenly)`;
  wanted = even;

  const busy = inputs.busyRatio;
  const b = policy.utilizationBoundary;
  const inBand = busy >= target - b && busy <= target + b;
  if (wanted !== current && inBand && backlog === undefined)
    return {
      replicas: current,
      held: true,
      reason:
        `${why}; but busiest slot ${pct(busy)} busy is within ${pct(target)} ± ${pct(b)} and the lag is not ` +
        `growing: hold at ${current}`,
    };
  return { replicas: wanted, held: false, reason: why };
}

/** The smallest value in [from, upper] that divides `total`; `from` when none does. */
export function roundToDivisor(from: number, upper: number, total: number): number {
  for (let v = from; v <= upper; v++) if (total % v === 0) return v;
  return from;
}

/** Undefined while the backlog is under control; else what is wrong with it, in words. */
function backlogState(inputs: AutoscalerInputs, catchUpS: number): string | undefined {
  const lagRate = inputs.inputRate - inputs.processingRate;
  // Under a second of input behind is no backlog.
  if (inputs.lag <= Math.max(1, inputs.inputRate)) return undefined;
  if (lagRate > Math.max(1, LAG_GROWTH_TOLERANCE * inputs.processingRate))
    return `lag growing by ${num(lagRate)} rec/s`;
  // inputRate is clamped at 0, so a lag draining faster than the processing rate reads as draining at it.
  const draining = -lagRate;
  if (draining <= 0 || inputs.lag / draining > catchUpS)
    return `lag ${num(inputs.lag)} not draining within ${catchUpS}s`;
  return undefined;
}

/** Rates and counts for reasons: whole numbers from 100 up, three significant digits below. */
export function num(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 100 ? String(Math.round(x)) : String(Number(x.toPrecision(3)));
}

export function pct(x: number): string {
  return `${Math.round(x * 1000) / 10}%`;
}

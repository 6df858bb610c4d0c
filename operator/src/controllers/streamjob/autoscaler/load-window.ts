// One job's recent slot load answers (runtime contract SlotLoad: cumulative counters per slot) and what they say
// over a metrics window: the inputs of an autoscaler decision. Counters are differenced between the window's
// first and last sample, so a missed answer loses nothing; a counter that went down means the slot restarted,
// and that slot's window starts over at the sample where it did.
//
// Memory: at most MAX_SAMPLES samples (each holding one SlotLoad per slot), only of the newest deployment at its
// newest parallelism, and none older than the oldest window a caller asked for (plus the one sample just before
// it, the baseline).
import type { SlotLoad } from '../../../../../runtime/src/control/contract.ts';
import type { AutoscalerInputs } from '../../../api/v1alpha1/autoscaler.ts';

export interface LoadSample {
  /** When the answers were taken (ms since the epoch). */
  readonly at: number;
  /** The deployment the slots ran (status.deployed's id): samples of an older one are dropped. */
  readonly deploymentId: string;
  readonly parallelism: number;
  /** Per slot index, its `load`; undefined when the slot answered without one (an older runtime, not yet running). */
  readonly slots: ReadonlyMap<number, SlotLoad | undefined>;
}

/** Why there are no inputs yet: `CollectingMetrics` (under half the window covered) or `NoLoadMetrics`. */
export interface LoadWaiting {
  readonly waiting: 'CollectingMetrics' | 'NoLoadMetrics';
  readonly detail: string;
}

export const MAX_SAMPLES = 360;

/**
 * Below this busy share a slot's rate per busy second is not measured: a slot idle 99% of the time divides a
 * small rate by a noisy small busy time. Such slots are left out of the capacity (the measured slots' mean
 * stands for them); when no slot is measurable the capacity is absent, i.e. unbounded, as Flink's autoscaler
 * treats an idle job's true processing rate.
 */
export const MIN_MEASURABLE_BUSY = 0.02;

export class LoadWindow {
  #samples: LoadSample[] = [];
  readonly #maxSamples: number;

  constructor(maxSamples: number = MAX_SAMPLES) {
    this.#maxSamples = Math.max(2, maxSamples);
  }

  /**
   * Adds the slots' answers; a sample of another deployment, or of the same one at another parallelism (a live
   * rescale keeps the deployment and moves its load between slots), replaces the stored ones.
   */
  add(sample: LoadSample): void {
    const last = this.#samples.at(-1);
    const same =
      last !== undefined && last.deploymentId === sample.deploymentId && last.parallelism === sample.parallelism;
    if (last !== undefined && !same) this.#samples = [];
    if (same && sample.at <= last.at) return;
    this.#samples.push(sample);
    if (this.#samples.length > this.#maxSamples) this.#samples.splice(0, this.#samples.length - this.#maxSamples);
  }

  /** Forgets everything (the job was deleted, suspended, or its autoscaler turned off). */
  clear(): void {
    this.#samples = [];
  }

  get size(): number {
    return this.#samples.length;
  }

  /** The inputs over [now − windowMs, now], or why there are none yet. Drops samples no window needs. */
  inputs(now: number, windowMs: number): AutoscalerInputs | LoadWaiting {
    const samples = this.#samples.filter((s) => s.at <= now);
    const newest = samples.at(-1);
    if (newest === undefined) return { waiting: 'CollectingMetrics', detail: 'no slot load sampled yet' };
    // Baseline: the newest sample at or before the window's start, else the oldest one there is.
    let first = 0;
    for (let i = 0; i < samples.length; i++) if ((samples[i] as LoadSample).at <= now - windowMs) first = i;
    this.#samples = this.#samples.slice(this.#samples.indexOf(samples[first] as LoadSample));
    const window = samples.slice(first);
    if ([...newest.slots.values()].every((l) => l === undefined))
      return { waiting: 'NoLoadMetrics', detail: 'the slots answer without load counters (runtime too old?)' };
    const base = window[0] as LoadSample;
    const coveredMs = newest.at - base.at;
    if (coveredMs * 2 < windowMs)
      return {
        waiting: 'CollectingMetrics',
        detail: `${Math.round(coveredMs / 1000)}s of the ${Math.round(windowMs / 1000)}s window sampled`,
      };
    const inputs = summarize(window, coveredMs);
    const recent = recentArrival(window, windowMs / RECENT_SHARE_OF_WINDOW);
    if (recent !== undefined) inputs.recentInputRate = recent.rate;
    return inputs;
  }
}

/**
 * The newest 1/RECENT_SHARE_OF_WINDOW of the window gives the arrival rate now: a window's mean lags a step in
 * the input rate by half the window, so a scale-up sized by the mean alone comes short and needs a second one.
 */
export const RECENT_SHARE_OF_WINDOW = 4;

/**
 * Records per second arriving over the newest `spanMs` (Σ records read + Σ lag, differenced), from the newest
 * sample and the newest one at least `spanMs` before it; undefined when the samples do not span it or a slot
 * restarted or went missing in between (its counters would not difference).
 */
function recentArrival(window: readonly LoadSample[], spanMs: number): { rate: number } | undefined {
  const newest = window.at(-1) as LoadSample;
  let base: LoadSample | undefined;
  for (const s of window) if (s.at <= newest.at - spanMs) base = s;
  if (base === undefined) return undefined;
  let arrived = 0;
  for (const [slot, now] of newest.slots) {
    const then = base.slots.get(slot);
    if (now === undefined || then === undefined || restarted(then, now)) return undefined;
    arrived += now.recordsIn - then.recordsIn + lagOf(now) - lagOf(then);
  }
  if (base.slots.size !== newest.slots.size) return undefined;
  return { rate: Math.max(0, arrived / ((newest.at - base.at) / 1000)) };
}

interface SlotDelta {
  readonly uptimeMs: number;
  readonly recordsIn: number;
  readonly busy: number;
  readonly bottleneck: string;
}

function summarize(window: readonly LoadSample[], coveredMs: number): AutoscalerInputs {
  const newest = window.at(-1) as LoadSample;
  let processingRate = 0;
  let busyRatio = 0;
  let bottleneck: string | undefined;
  let perSlotCapacity = 0;
  let measured = 0;
  let lag = 0;
  let lagRate = 0;
  let partitions: number | undefined;
  // Every slot that answered within the window, by its own answers: one that missed the newest sample still
  // counts with its last answer (a missed answer loses nothing, the counters are cumulative).
  const slots = new Set(window.flatMap((s) => [...s.slots.keys()]));
  for (const slot of slots) {
    const answers = window.filter((s) => s.slots.has(slot)).map((s) => ({ at: s.at, load: s.slots.get(slot) }));
    const loaded = answers.filter((x): x is { at: number; load: SlotLoad } => x.load !== undefined);
    const first = loaded[0];
    const last = loaded.at(-1);
    if (first === undefined || last === undefined) continue;
    lag += lagOf(last.load);
    // The lag is a gauge, not a counter: its trend spans the slot's answers, restarts included.
    if (last.at > first.at) lagRate += (lagOf(last.load) - lagOf(first.load)) / ((last.at - first.at) / 1000);
    for (const src of last.load.sources) partitions = Math.max(partitions ?? 0, src.partitions);
    const d = slotDelta(answers.map((x) => x.load));
    if (d === undefined) continue;
    const rate = d.recordsIn / (d.uptimeMs / 1000);
    processingRate += rate;
    if (d.busy > busyRatio || bottleneck === undefined) {
      busyRatio = Math.max(busyRatio, d.busy);
      bottleneck = d.bottleneck;
    }
    if (d.busy >= MIN_MEASURABLE_BUSY) {
      perSlotCapacity += rate / d.busy;
      measured++;
    }
  }
  const inputs: AutoscalerInputs = {
    processingRate,
    inputRate: Math.max(0, processingRate + lagRate),
    lag,
    busyRatio: Math.min(1, busyRatio),
    windowSeconds: coveredMs / 1000,
    parallelism: newest.parallelism,
  };
  if (bottleneck !== undefined) inputs.bottleneck = bottleneck;
  // The measured slots' mean rate per busy second stands for every slot of the deployment.
  if (measured > 0) inputs.capacity = (perSlotCapacity / measured) * newest.parallelism;
  if (partitions !== undefined && partitions > 0) inputs.partitions = partitions;
  return inputs;
}

/**
 * One slot's counters over its answers in the window (undefined = answered without counters: starts over), from
 * its last restart within it; undefined when no time passed for it.
 */
function slotDelta(answers: readonly (SlotLoad | undefined)[]): SlotDelta | undefined {
  let start: SlotLoad | undefined;
  let prev: SlotLoad | undefined;
  for (const load of answers) {
    if (load === undefined) {
      start = prev = undefined;
      continue;
    }
    if (prev === undefined || restarted(prev, load)) start = load;
    prev = load;
  }
  const end = prev;
  if (start === undefined || end === undefined) return undefined;
  const uptimeMs = end.uptimeMs - start.uptimeMs;
  if (uptimeMs <= 0) return undefined;
  let busy = 0;
  let bottleneck = 'eventLoop';
  for (const [resource, ms] of Object.entries(end.busyMs)) {
    const ratio = (ms - (start.busyMs[resource] ?? 0)) / uptimeMs;
    if (ratio > busy) {
      busy = ratio;
      bottleneck = resource;
    }
  }
  return { uptimeMs, recordsIn: end.recordsIn - start.recordsIn, busy: Math.min(1, busy), bottleneck };
}

/** A slot's lag over all its sources' partitions. */
function lagOf(l: SlotLoad): number {
  return l.sources.reduce((sum, src) => sum + src.lag, 0);
}

/** A counter below its earlier value: the slot process started over. */
function restarted(before: SlotLoad, after: SlotLoad): boolean {
  if (after.uptimeMs < before.uptimeMs || after.recordsIn < before.recordsIn) return true;
  return Object.entries(before.busyMs).some(([r, ms]) => (after.busyMs[r] ?? 0) < ms);
}

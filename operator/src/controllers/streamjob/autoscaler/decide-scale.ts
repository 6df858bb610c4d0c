// One autoscaler decision: from the previous status.autoscaler, the job's readiness and the inputs of the metrics
// window, the next status.autoscaler and, in mode Scale, the replicas to write. Pure: the caller reads the clock,
// the slots and the job, and does the writes (scale subresource, status, Event, metrics).
//
// Memory lives in the status only (an operator restart or a new leader continues where the last one stopped):
//   pendingChange   since when every decision asked for more / fewer, and (down) the largest such ask;
//   rescaleTimes    the budget's count over the last hour;
//   lastRescale     the last scale-up, until the first decision after it judged its effect;
//   ineffective     scale-ups that did not raise the capacity, not repeated until their time.
// Rules, in order: no decision while disabled, not ready, mid-operation or stabilizing (status.waiting says which);
// recommend.ts's arithmetic; an ineffective scale-up caps the next; a scale-up once its need has lasted
// scaleUpGracePeriod; a scale-down once every decision for scaleDownDelay asked for fewer, to the largest ask;
// a rescale only within maxRescalesPerHour. Mode Recommend runs the same rules and records `Recommend` instead.
import type { AutoscalerDecision, AutoscalerInputs, AutoscalerStatus } from '../../../api/v1alpha1/autoscaler.ts';
import type { AutoscalerPolicy } from './policy.ts';
import { RECENT_SHARE_OF_WINDOW } from './load-window.ts';
import { isRising, num, recommend } from './recommend.ts';

export interface DecideArgs {
  /** ms since the epoch. */
  readonly now: number;
  readonly policy: AutoscalerPolicy;
  /** spec.replicas now. */
  readonly current: number;
  readonly maxParallelism: number;
  /** LoadWindow.inputs' answer: the window's inputs, or why there are none yet. */
  readonly inputs: AutoscalerInputs | { readonly waiting: string; readonly detail?: string };
  readonly previous: AutoscalerStatus | undefined;
  /** When the current deployment became Ready (ms); undefined = unknown, no stabilization is waited for. */
  readonly readySince?: number;
  readonly ready: boolean;
  /** A pendingOperation (deploy, rescale, savepoint…) is under way. */
  readonly operationPending: boolean;
}

export interface AutoscalerEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

export interface DecideResult {
  readonly status: AutoscalerStatus;
  /** Mode Scale only: write this to spec.replicas (scale subresource, field manager tributary-autoscaler). */
  readonly scaleTo?: number;
  readonly event?: AutoscalerEvent;
}

export const MAX_DECISIONS = 10;
const HOUR_MS = 3_600_000;
/** How long an ineffective scale-up is not repeated. */
export const INEFFECTIVE_MS = HOUR_MS;
/** A scale-up is ineffective when the capacity grew by less than this share of the proportional growth. */
export const MIN_EFFECTIVE_GROWTH = 0.1;

/** The reason word of status.waiting (`Stabilizing: until …` → `Stabilizing`), e.g. for a metric label. */
export function waitingReason(waiting: string): string {
  return waiting.split(':', 1)[0] as string;
}

export function decide(a: DecideArgs): DecideResult {
  const { now, current } = a;
  const status = carryOver(a.previous, now);
  const live = 'waiting' in a.inputs ? undefined : a.inputs;
  if (live !== undefined) status.inputs = live;
  const waiting = waitingFor(a, status);
  if (waiting !== undefined) {
    status.waiting = waiting;
    delete status.pendingChange;
    return { status };
  }
  delete status.waiting;
  const inputs = live as AutoscalerInputs;

  const judged = judgeLastRescale(status, inputs, current, now);
  const rec = recommend({ policy: a.policy, current, maxParallelism: a.maxParallelism, inputs });
  let wanted = rec.replicas;
  let reason = rec.reason;
  let heldBy: string | undefined;
  if (wanted > current) {
    const cap = ineffectiveCap(status);
    if (cap !== undefined && wanted > cap.replicas) {
      heldBy = cap.why;
      reason += `; ${cap.why}`;
      if (cap.replicas <= current) wanted = current;
      else wanted = cap.replicas;
    }
  }
  status.recommendedReplicas = wanted;

  let outcome: Outcome;
  if (wanted === current) {
    delete status.pendingChange;
    outcome = heldBy !== undefined ? { held: reason, to: rec.replicas } : { none: true };
  } else outcome = timing(a, status, wanted, reason);

  const result = record(a, status, outcome);
  if (judged === undefined) return result;
  const message = result.event !== undefined ? `${judged}; then: ${result.event.message}` : judged;
  return { ...result, event: { type: 'Warning', reason: 'AutoscalerIneffectiveRescale', message } };
}

type Outcome = { none: true } | { held: string; to: number; warning?: string } | { change: number; reason: string };

/** The previous status without what has expired (rescales older than an hour, past ineffective entries). */
function carryOver(previous: AutoscalerStatus | undefined, now: number): AutoscalerStatus {
  const status: AutoscalerStatus = structuredClone(previous ?? {});
  status.rescaleTimes = (status.rescaleTimes ?? []).filter((t) => Date.parse(t) > now - HOUR_MS);
  status.ineffective = (status.ineffective ?? []).filter((e) => Date.parse(e.until) > now);
  status.decisions = status.decisions ?? [];
  return status;
}

function waitingFor(a: DecideArgs, status: AutoscalerStatus): string | undefined {
  if (!a.policy.enabled) return 'Disabled: spec.autoscaler.enabled is not true';
  if (!a.ready || a.current < 1) return 'NotReady: the job is not Ready';
  if (a.operationPending) return 'OperationInProgress: an operation on the job is under way';
  // After Ready, and after its own last rescale (a live rescale need not make the job un-Ready).
  const lastRescale = Math.max(-Infinity, ...(status.rescaleTimes ?? []).map((t) => Date.parse(t)));
  const since = Math.max(a.readySince ?? -Infinity, lastRescale);
  if (a.now < since + a.policy.stabilizationMs) {
    const what = since === lastRescale ? 'its last rescale' : 'Ready';
    return `Stabilizing: no decision before ${iso(since + a.policy.stabilizationMs)} (stabilization after ${what})`;
  }
  if ('waiting' in a.inputs) {
    const detail = a.inputs.detail;
    return detail !== undefined ? `${a.inputs.waiting}: ${detail}` : a.inputs.waiting;
  }
  // A rescale written (by the autoscaler or by hand) but not carried out yet: the inputs are of the old size.
  const measured = a.inputs.parallelism;
  if (measured !== undefined && measured !== a.current)
    return `Stabilizing: the metrics are of ${measured} slots, spec.replicas is ${a.current} (a rescale under way)`;
  return undefined;
}

/**
 * The first decision after an autoscaler scale-up judges it: capacity grew by less than MIN_EFFECTIVE_GROWTH of
 * the proportional growth → remembered in status.ineffective. Returns the Warning's message then.
 */
function judgeLastRescale(
  status: AutoscalerStatus,
  inputs: AutoscalerInputs,
  current: number,
  now: number,
): string | undefined {
  const last = status.lastRescale;
  if (last === undefined) return undefined;
  delete status.lastRescale;
  const before = last.capacityBefore;
  const after = inputs.capacity;
  // Judged only when it is the job that rescale made, and both capacities were measured.
  if (last.to !== current || last.to <= last.from || before === undefined || after === undefined) return undefined;
  const expected = before * (last.to / last.from - 1);
  if (after - before >= MIN_EFFECTIVE_GROWTH * expected) return undefined;
  const until = iso(now + INEFFECTIVE_MS);
  (status.ineffective ??= []).push({ replicas: last.to, from: last.from, until });
  return (
    `scale-up ${last.from} → ${last.to} at ${last.time} did not raise capacity: ${num(before)} → ${num(after)} ` +
    `rec/s (expected about ${num(before + expected)}); no scale-up to ${last.to} or more before ${until}`
  );
}

/** The tightest cap the remembered ineffective scale-ups put on a scale-up: below each one's replicas. */
function ineffectiveCap(status: AutoscalerStatus): { replicas: number; why: string } | undefined {
  let cap: { replicas: number; why: string } | undefined;
  for (const e of status.ineffective ?? []) {
    if (e.replicas - 1 >= (cap?.replicas ?? Infinity)) continue;
    cap = {
      replicas: e.replicas - 1,
      why: `capped at ${e.replicas - 1}: ${e.from} → ${e.replicas} did not raise capacity (not again before ${e.until})`,
    };
  }
  return cap;
}

/** The grace period (up), the delay (down) and the budget. */
function timing(a: DecideArgs, status: AutoscalerStatus, wanted: number, reason: string): Outcome {
  const { now, current, policy } = a;
  const up = wanted > current;
  const prev = status.pendingChange;
  const same = prev !== undefined && prev.direction === (up ? 'Up' : 'Down');
  const since = same ? Date.parse(prev.since) : now;
  // Down goes to the largest ask since the run began: every decision in the delay must allow it.
  const to = !up && same ? Math.max(prev.replicas, wanted) : wanted;
  status.pendingChange = { direction: up ? 'Up' : 'Down', since: iso(since), replicas: to };
  // A scale-up sized by a rising rate waits at least a quarter of the window after the need began, so that the
  // newest quarter the rate is taken from (load-window.ts recentInputRate) lies wholly after it: sized by the
  // new rate, not by a mix of old and new, it needs no second rescale.
  const rising = !('waiting' in a.inputs) && isRising(a.inputs);
  const waitMs = up
    ? Math.max(policy.scaleUpGracePeriodMs, rising ? policy.metricsWindowMs / RECENT_SHARE_OF_WINDOW : 0)
    : policy.scaleDownDelayMs;
  if (now - since < waitMs) {
    const rule = up
      ? `scaleUpGracePeriod${rising ? ' (a rising rate: at least a quarter of metricsWindow)' : ''}`
      : 'scaleDownDelay (to the largest ask since then)';
    return {
      held: `${reason}; asked for ${up ? 'more' : 'fewer'} since ${iso(since)}: ${current} → ${to} at ${iso(since + waitMs)} by ${rule}`,
      to,
    };
  }
  const fullReason = to !== wanted ? `${reason}; ${to} is the largest ask since ${iso(since)}` : reason;
  const used = status.rescaleTimes ?? [];
  if (policy.mode === 'Scale' && used.length >= policy.maxRescalesPerHour) {
    const next = Math.min(...used.map((t) => Date.parse(t))) + HOUR_MS;
    return {
      held: `${fullReason}; held back: ${used.length} rescales in the last hour, maxRescalesPerHour ${policy.maxRescalesPerHour}, next possible at ${iso(next)}`,
      to,
      warning: 'AutoscalerBudgetExhausted',
    };
  }
  return { change: to, reason: fullReason };
}

/** Records the outcome in status.decisions (changes and held-back ones), and the rescale's memory. */
function record(a: DecideArgs, status: AutoscalerStatus, outcome: Outcome): DecideResult {
  if ('none' in outcome) return { status };
  const { now, current } = a;
  const decisions = (status.decisions ??= []);
  const last = decisions.at(-1);
  if ('held' in outcome) {
    const d: AutoscalerDecision = {
      time: iso(now),
      action: 'Hold',
      from: current,
      to: outcome.to,
      reason: cut(outcome.held),
    };
    // A run of decisions held back from the same replicas, the same way, by the same rule is one entry, kept
    // current; the Event is for its first.
    if (last?.action === 'Hold' && last.from === current && holdKind(last) === holdKind(d)) {
      decisions[decisions.length - 1] = d;
      return { status };
    }
    push(decisions, d);
    return {
      status,
      event: {
        type: outcome.warning ? 'Warning' : 'Normal',
        reason: outcome.warning ?? 'AutoscalerHeldBack',
        message: d.reason,
      },
    };
  }
  const to = outcome.change;
  if (a.policy.mode === 'Recommend') {
    const d: AutoscalerDecision = {
      time: iso(now),
      action: 'Recommend',
      from: current,
      to,
      reason: cut(outcome.reason),
    };
    if (last?.action === 'Recommend' && last.from === current && last.to === to) {
      decisions[decisions.length - 1] = d;
      return { status };
    }
    if (last?.action === 'Hold' && last.from === current) decisions.pop();
    push(decisions, d);
    return { status, event: { type: 'Normal', reason: 'AutoscalerRecommendation', message: d.reason } };
  }
  const up = to > current;
  const d: AutoscalerDecision = {
    time: iso(now),
    action: up ? 'ScaleUp' : 'ScaleDown',
    from: current,
    to,
    reason: cut(outcome.reason),
  };
  push(decisions, d);
  (status.rescaleTimes ??= []).push(d.time);
  delete status.pendingChange;
  if (up) {
    status.lastRescale = { time: d.time, from: current, to };
    const capacity = status.inputs?.capacity;
    if (capacity !== undefined) status.lastRescale.capacityBefore = capacity;
  } else delete status.lastRescale;
  return {
    status,
    scaleTo: to,
    event: {
      type: 'Normal',
      reason: up ? 'AutoscalerScaleUp' : 'AutoscalerScaleDown',
      message: `${current} → ${to}: ${d.reason}`,
    },
  };
}

/** What held a decision back, from its reason (the markers timing() and decide() write): one entry per kind. */
function holdKind(d: AutoscalerDecision): string {
  const rule = d.reason.includes('; held back: ')
    ? 'budget'
    : d.reason.includes('; capped at ')
      ? 'ineffective'
      : d.reason.includes('by scaleDownDelay') || d.reason.includes('by scaleUpGracePeriod')
        ? 'delay'
        : 'other';
  return `${rule}/${Math.sign(d.to - d.from)}`;
}

function push(decisions: AutoscalerDecision[], d: AutoscalerDecision): void {
  decisions.push(d);
  if (decisions.length > MAX_DECISIONS) decisions.splice(0, decisions.length - MAX_DECISIONS);
}

/** The CRD bounds a reason at 2048 characters. */
function cut(reason: string): string {
  return reason.length <= 2048 ? reason : `${reason.slice(0, 2045)}...`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

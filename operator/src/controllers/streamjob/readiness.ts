// Whether the deployed job runs, from its pods and every slot's runtime (/v1/status): recomputed
// at every reconcile, with or without a pending operation, so Ready never repeats an old answer.
// Pure.
//
// Ready True: every slot's pod is ready and every slot's runtime says RUNNING. Otherwise False:
//  * SlotsNotRunning: a slot has ended or is ending — no pod, a terminated or deleted pod, or a
//    runtime that says STOPPING, STOPPED, FINISHED or FAILED — named with what it is;
//  * NotReady: slots are still coming up (pods not ready, runtimes starting or not answering).
import type { OperationStep, PendingOperation } from '../../api/v1alpha1/streamjob.ts';
import { isPodReady, isPodTerminal, type Pod } from './objects/slot-pod.ts';
import type { SlotRuntime } from './slot-runtime.ts';

export interface ReadinessInput {
  current: ReadonlyMap<number, Pod>;
  /** Slot 0's answer (or why there is none). */
  runtime: { state: string } | undefined;
  runtimeError: string | undefined;
  /** Every other slot's answer; absent = not asked (then only slot 0's counts). */
  slotRuntime?: ReadonlyMap<number, SlotRuntime>;
}

export type Readiness =
  { ready: true } | { ready: false; reason: 'SlotsNotRunning' | 'NotReady'; message: string; notRunning: number[] };

/** Operation steps during which the deployed (old) pods still run: Ready speaks for them. */
export const OLD_PODS_RUN: ReadonlySet<OperationStep | undefined> = new Set<OperationStep | undefined>([
  undefined,
  'recorded',
  'savepoint-triggered',
  'savepoint-failed',
]);

/** Whether Ready is computed from the deployed pods now (no operation, or one that has not touched them). */
export function readyFollowsPods(op: PendingOperation | undefined): boolean {
  // A live rescale's Ready is its own (LiveRescale) throughout: its pods change under it.
  return !op || (op.kind !== 'delete' && op.kind !== 'liveRescale' && OLD_PODS_RUN.has(op.step));
}

const STARTING = new Set(['CREATED', 'RESTORING']);

export function readiness(i: ReadinessInput, parallelism: number): Readiness {
  const ended: string[] = [];
  const starting: string[] = [];
  const notRunning: number[] = [];
  for (let s = 0; s < parallelism; s++) {
    const p = i.current.get(s);
    const rt: SlotRuntime | undefined =
      s === 0
        ? i.runtime
          ? { state: i.runtime.state }
          : i.runtimeError
            ? { error: i.runtimeError }
            : undefined
        : i.slotRuntime?.get(s);
    const pod = podEnd(p);
    if (pod) {
      ended.push(`slot ${s} (${pod})`);
      notRunning.push(s);
    } else if (rt && 'state' in rt && rt.state !== 'RUNNING') {
      if (STARTING.has(rt.state)) starting.push(`slot ${s} (runtime ${rt.state})`);
      else {
        ended.push(`slot ${s} (runtime ${rt.state})`);
        notRunning.push(s);
      }
    } else if (!isPodReady(p!)) starting.push(`slot ${s} (pod not ready)`);
    else if (rt && 'error' in rt) starting.push(`slot ${s} (runtime not answering: ${rt.error})`);
    else if (!rt && (s === 0 || i.slotRuntime)) starting.push(`slot ${s} (runtime not asked yet)`);
  }
  if (ended.length > 0)
    return {
      ready: false,
      reason: 'SlotsNotRunning',
      message: `not running: ${[...ended, ...starting].join(', ')}`,
      notRunning,
    };
  if (starting.length > 0)
    return { ready: false, reason: 'NotReady', message: `not ready: ${starting.join(', ')}`, notRunning };
  return { ready: true };
}

function podEnd(p: Pod | undefined): string | undefined {
  if (!p) return 'no pod';
  if (p.metadata?.deletionTimestamp) return 'pod being deleted';
  if (isPodTerminal(p)) {
    const t = p.status?.containerStatuses?.[0]?.state?.terminated;
    return `pod ${p.status?.phase ?? 'ended'}${t?.exitCode !== undefined ? `, exit code ${t.exitCode}` : ''}`;
  }
  return undefined;
}

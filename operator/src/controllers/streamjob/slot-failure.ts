// Why a deployment is being restarted, in words a user reads in `kubectl describe`: every
// slot whose pod ended, by slot number, with the kubelet's reason (OOMKilled, Error, ...), the
// exit code and the start of its termination message, plus the runtime's own FAILED error.
//
// Every ended slot is named, not only the first one seen: when one slot dies (say OOMKilled),
// its peers lose their links to it and fail too (exit 1), and the pods' statuses reach the
// informer in no particular order, so "the first ended pod" would often name a peer's
// consequential failure instead of the cause.
import type { StatusResponse } from '../../../../runtime/src/control/contract.ts';
import { hasLeft, isPodTerminal, type Pod } from './objects/slot-pod.ts';

/** Per ended pod, at most this much of its termination message (several pods share one Event). */
const MESSAGE_CHARS = 200;

/**
 * `slot 1 (pod j-d2-1): OOMKilled, exit 137` for each ended pod of `pods` (slot → pod), in slot order; a pod
 * whose slot left in a live scale in did not end the job and is not named.
 */
export function endedSlots(pods: ReadonlyMap<number, Pod>): string[] {
  return [...pods.entries()]
    .filter(([, p]) => isPodTerminal(p) && !hasLeft(p))
    .sort(([a], [b]) => a - b)
    .map(([slot, p]) => {
      const t = p.status?.containerStatuses?.[0]?.state?.terminated;
      const head = `slot ${slot} (pod ${p.metadata?.name})`;
      if (!t) return `${head}: ${p.status?.reason ?? p.status?.phase ?? 'ended'}`;
      const msg = t.message?.trim().replace(/\s+/g, ' ');
      const short = msg && msg.length > MESSAGE_CHARS ? `${msg.slice(0, MESSAGE_CHARS)}…` : msg;
      return `${head}: ${t.reason ?? 'terminated'}, exit ${t.exitCode ?? '?'}${short ? `: ${short}` : ''}`;
    });
}

/** ` (slot 1 (pod …): OOMKilled, exit 137; slot 2 …)`, or '' when no pod of `pods` ended. */
export function endedSuffix(pods: ReadonlyMap<number, Pod>): string {
  const ended = endedSlots(pods);
  return ended.length > 0 ? ` (${ended.join('; ')})` : '';
}

/**
 * The failure of the running deployment, or undefined when there is none: slots whose pod
 * ended or vanished (each ended one described), and/or the runtime reporting FAILED.
 */
export function deploymentFailure(obs: {
  current: ReadonlyMap<number, Pod>;
  failedSlots: readonly number[];
  runtime: StatusResponse | undefined;
}): string | undefined {
  const runtime =
    obs.runtime?.state === 'FAILED'
      ? `runtime reports FAILED${obs.runtime.error ? `: ${obs.runtime.error}` : ''}`
      : undefined;
  if (obs.failedSlots.length === 0) return runtime;
  const slots = `slot(s) ${obs.failedSlots.join(',')} failed or vanished${endedSuffix(obs.current)}`;
  return runtime ? `${slots}; ${runtime}` : slots;
}

/**
 * How long a slot failure waits for its peers (ms), before the restart deletes them: once one
 * slot ended, the others lose their links and end within about a second; until their pods
 * show it, the one that ended first is often only the peer of the cause (a killed process's
 * status comes later: its runtime had to notice and the kubelet to find out why). Waits while
 * a pod of the deployment is neither ended nor being deleted, at most SETTLE_MS after the
 * first end the pods report (finishedAt, whole seconds: so 1 s is added); 0 = decide now.
 */
export const SETTLE_MS = 3_000;

export function settlingMs(pods: ReadonlyMap<number, Pod>, parallelism: number, now: Date): number {
  let first = Infinity;
  let pending = false;
  for (const [slot, p] of pods) {
    if (slot >= parallelism) continue;
    if (isPodTerminal(p)) {
      const at = Date.parse(p.status?.containerStatuses?.[0]?.state?.terminated?.finishedAt ?? '');
      if (Number.isFinite(at)) first = Math.min(first, at);
    } else if (!p.metadata?.deletionTimestamp) pending = true;
  }
  if (!pending || first === Infinity) return 0;
  return Math.max(0, first + 1_000 + SETTLE_MS - now.getTime());
}

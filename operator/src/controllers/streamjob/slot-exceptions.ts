// Slot exceptions as Events (Warning SlotException), the operator's counterpart of the Flink Web
// UI's exception history: each slot that failed, with its error, as the slot reported it (its
// runtime's FAILED error in GET /v1/status) or as its pod ended (the kubelet's reason, the exit
// code and the start of the termination message). The restart's SlotFailed Event names them all
// once per restart; these name each one, and survive a restart loop without flooding:
//
//  * deduplicated: the same slot with the same message within DEDUPE_WINDOW_MS of its last Event
//    is not sent again (a restart loop failing the same way is one Event, not one per restart;
//    a reconcile that sees the same ended pod again sends nothing). Pod names are left out of
//    the message for that reason: each deployment's pods have new names.
//  * rate-limited per job: a token bucket of BURST Events refilled at PER_MINUTE a minute; one
//    held back is sent once tokens are back if it is seen again, and the first Event sent says how many
//    are held back. The recorder's own spam
//    filter (kube/events.ts: 25 per object, then one per 5 minutes) is shared by every reason of
//    the job, so without this a job whose slots keep failing would use up the budget of the
//    Events that say what the operator does about it (RestartUnhealthy, Failed).
//
// Memory: per job one bucket and at most KEPT_PER_JOB remembered messages; at most KEPT_JOBS jobs
// (least recently seen dropped first). Lost on an operator restart: the new one may repeat a
// message once.
import type { StatusResponse } from '../../../../runtime/src/control/contract.ts';
import type { JobCtx, ReconcilerInternals } from './job-context.ts';
import { finishedTermination, isPodTerminal, type Pod } from './objects/slot-pod.ts';
import type { SlotRuntime } from './slot-runtime.ts';

export const DEDUPE_WINDOW_MS = 10 * 60_000;
export const BURST = 5;
export const PER_MINUTE = 5;
const KEPT_PER_JOB = 64;
const KEPT_JOBS = 4096;
/** Of a termination message or runtime error, at most this much per Event. */
const MESSAGE_CHARS = 400;

export interface SlotException {
  readonly slot: number;
  readonly message: string;
}

const short = (m: string) => {
  const s = m.trim().replace(/\s+/g, ' ');
  return s.length > MESSAGE_CHARS ? `${s.slice(0, MESSAGE_CHARS)}…` : s;
};

/**
 * Every slot exception this observation shows, in slot order: ended pods (not finished), FAILED runtimes.
 * `stopping`: an operation is pending (status.pendingOperation), whose stop-with-savepoint ends the slots
 * with exit 0: a clean exit then is the operation's doing, not an exception; any other exit still is.
 */
export function slotExceptions(
  obs: {
    current: ReadonlyMap<number, Pod>;
    runtime: Pick<StatusResponse, 'state' | 'error'> | undefined;
    slotRuntime?: ReadonlyMap<number, SlotRuntime>;
  },
  stopping = false,
): SlotException[] {
  const out: SlotException[] = [];
  if (obs.runtime?.state === 'FAILED' && obs.runtime.error)
    out.push({ slot: 0, message: `slot 0 reports FAILED: ${short(obs.runtime.error)}` });
  for (const [slot, rt] of obs.slotRuntime ?? [])
    if ('state' in rt && rt.state === 'FAILED' && rt.failure)
      out.push({ slot, message: `slot ${slot} reports FAILED: ${short(rt.failure)}` });
  for (const [slot, p] of obs.current) {
    if (!isPodTerminal(p) || finishedTermination(p)) continue;
    const t = p.status?.containerStatuses?.[0]?.state?.terminated;
    if (stopping && t?.exitCode === 0) continue;
    const head = `slot ${slot} ended`;
    if (!t) out.push({ slot, message: `${head}: ${p.status?.reason ?? p.status?.phase ?? 'ended'}` });
    else {
      const msg = t.message ? `: ${short(t.message)}` : '';
      out.push({ slot, message: `${head}: ${t.reason ?? 'terminated'}, exit ${t.exitCode ?? '?'}${msg}` });
    }
  }
  return out.sort((a, b) => a.slot - b.slot);
}

/** Map order is insertion order: the first key is the least recently set. */
function dropOldest(m: Map<string, unknown>): void {
  const first = m.keys().next();
  if (!first.done) m.delete(first.value);
}

interface JobMemory {
  tokens: number;
  last: number;
  /** Messages the rate limit held back and not sent since → when last seen (ms). */
  heldBack: Map<string, number>;
  /** message → when its last Event was sent (ms). */
  sent: Map<string, number>;
}

/** Which exceptions become Events, per job: deduplicated and rate-limited (see the top of the file). */
export class SlotExceptionFilter {
  readonly #jobs = new Map<string, JobMemory>();

  /**
   * The Events to send now for `job`'s exceptions seen at `now` (ms, not decreasing), each message final: the
   * first one sent says how many others the rate limit holds back (seen within the window and not sent yet).
   */
  admit(job: string, exceptions: readonly SlotException[], now: number): string[] {
    if (exceptions.length === 0) return [];
    let m = this.#jobs.get(job);
    if (m) this.#jobs.delete(job);
    m ??= { tokens: BURST, last: now, heldBack: new Map(), sent: new Map() };
    this.#jobs.set(job, m);
    if (this.#jobs.size > KEPT_JOBS) dropOldest(this.#jobs);
    m.tokens = Math.min(BURST, m.tokens + (Math.max(0, now - m.last) / 60_000) * PER_MINUTE);
    m.last = now;
    const out: string[] = [];
    for (const e of exceptions) {
      const at = m.sent.get(e.message);
      if (at !== undefined && now - at < DEDUPE_WINDOW_MS) continue;
      if (m.tokens < 1) {
        m.heldBack.set(e.message, now);
        if (m.heldBack.size > KEPT_PER_JOB) dropOldest(m.heldBack);
        continue;
      }
      m.tokens -= 1;
      m.sent.delete(e.message);
      m.sent.set(e.message, now);
      if (m.sent.size > KEPT_PER_JOB) dropOldest(m.sent);
      m.heldBack.delete(e.message);
      out.push(e.message);
    }
    // An exception held back and not seen again within the window is no longer pending.
    for (const [msg, at] of m.heldBack) if (now - at >= DEDUPE_WINDOW_MS) m.heldBack.delete(msg);
    const n = m.heldBack.size;
    if (out[0] !== undefined && n > 0) out[0] = `${out[0]} (${n} more held back by the rate limit)`;
    return out;
  }

  forget(job: string): void {
    this.#jobs.delete(job);
  }
}

/** One filter per Event recorder, i.e. per operator process (the reconciler's deps hold one recorder). */
const filters = new WeakMap<object, SlotExceptionFilter>();

/** Sends the Events this reconcile admits (Warning SlotException); never throws (the recorder does not). */
export async function reportSlotExceptions(r: ReconcilerInternals, c: JobCtx): Promise<void> {
  const events = r.deps.events;
  let filter = filters.get(events);
  if (!filter) filters.set(events, (filter = new SlotExceptionFilter()));
  const key = c.job.metadata.uid ?? `${c.job.metadata.namespace}/${c.job.metadata.name}`;
  const stopping = c.job.status?.pendingOperation !== undefined;
  for (const message of filter.admit(key, slotExceptions(c.obs, stopping), c.now.getTime()))
    await events.warning(c.job, 'SlotException', message);
}

// The bound on one live-migration step (migration.ts): once the step's checkpoint completed,
// its reports and local parts (installs, take-overs, consumer restarts) must be done within the
// step timeout, else the step fails naming what is missing. Without it a lost message (the link
// stays up) or a slot that never answers would leave `migrate` waiting forever.
//
// The timeout is the checkpoint timeout: an install holds the next checkpoint's barrier at its gate,
// so a healthy job installs within one checkpoint timeout anyway; a take-over's log lookup and a
// consumer's (re)start are bounded by the Kafka client's own timeouts, which are shorter.
import { TributaryError } from '../errors.ts';
import { incoming, keyed, outgoing, type ActiveStep } from './migration-step.ts';
import type { MigratingChain } from '../exec/migrating-chain.ts';

/** Whether `work` settled within `ms`; its rejection, if it came first, is the caller's. */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** `work`, or a TRIB_RESCALE_STEP_FAILED naming what is missing once `ms` passed. */
export async function withinStepTimeout<T>(
  work: Promise<T>,
  ms: number,
  missing: () => string,
  what: string,
): Promise<T> {
  let result: T | undefined;
  if (
    !(await settlesWithin(
      work.then((v) => (result = v)),
      ms,
    ))
  )
    throw new TributaryError('TRIB_RESCALE_STEP_FAILED', `${what} was not done within ${ms} ms: ${missing()}`);
  return result as T;
}

/** Inclusive runs of sorted numbers: "3–5, 9". */
function runs(ns: readonly number[]): string {
  const s = [...new Set(ns)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < s.length;) {
    let j = i;
    while (j + 1 < s.length && (s[j + 1] as number) === (s[j] as number) + 1) j++;
    out.push(i === j ? `${s[i]}` : `${s[i]}–${s[j]}`);
    i = j + 1;
  }
  return out.join(', ');
}

/** What slot `s` had to report for `step` (a slot of another process: its mig-done never came). */
function remotePart(step: ActiveStep, s: number, keyedJob: boolean): string {
  const parts: string[] = [];
  const into = step.wire.keyGroups.filter((m) => m.to === s);
  if (keyedJob && into.length > 0)
    parts.push(
      `key groups ${runs(into.map((m) => m.keyGroup))} installed (from slot ${runs(into.map((m) => m.from))})`,
    );
  const taken = step.partitions.filter((m) => m.to === s);
  if (taken.length > 0)
    parts.push(
      `partitions ${runs(taken.map((m) => m.partition))} taken over (from slot ${runs(taken.map((m) => m.from))})`,
    );
  const given = step.partitions.filter((m) => m.from === s);
  if (given.length > 0) parts.push(`its consumer restarted without partitions ${runs(given.map((m) => m.partition))}`);
  return `slot ${s} did not report (mig-done: ${parts.join('; ')})`;
}

/** Everything `step` still waits for: missing reports of other processes' slots, then this process's parts. */
export function missingParts(step: ActiveStep, chains: readonly MigratingChain[], keyedJob: boolean): string {
  const out = [...step.reports].sort((a, b) => a - b).map((s) => remotePart(step, s, keyedJob));
  for (const c of step.waiting) {
    const from = [...(step.moves.get(c.slot)?.keys() ?? [])];
    out.push(`slot ${c.slot} holds key groups waiting for the hand-offs of slot ${runs(from)} (not all arrived)`);
  }
  for (const c of step.takers) {
    const waits = incoming(step.partitions, c).filter((m) => !step.handed.has(`${m.source}|${m.partition}`));
    out.push(
      `slot ${c.slot} waits for the positions of partitions ${runs(waits.map((m) => m.partition))} ` +
        `(from slot ${runs(waits.map((m) => m.from))})`,
    );
  }
  const late = chains.filter(
    (c) =>
      !step.reached.has(c) &&
      ((step.moves.has(c.slot) && keyed(c.chain.stateful).length > 0) ||
        incoming(step.partitions, c).length > 0 ||
        outgoing(step.partitions, c).length > 0),
  );
  for (const c of late) out.push(`slot ${c.slot}'s task never saw the step's barrier`);
  if (out.length === 0) out.push('a partition take-over or a consumer restart of this process is still running');
  return out.join('; ');
}

// What a live rescale (operation/live-rescale.ts) does next, from its record, the deployment's
// pods and slot 0's migration status. Pure: the steps' decisions, unit-tested without a cluster.
//
// Which pods a live rescale expects: slots below min(from, to) run throughout; a scale out's new
// slots (from..to-1) appear one at a time when slot 0 awaits them (MigrationStatus.awaiting), and a
// scale in's leaving slots (to..from-1) end Succeeded with the finished message's `left: true`.
// Anything else that ends — a pod that failed, vanished, or is deleted without having left — or
// the runtime reporting FAILED is the job failing: the restart path takes over at `to`.
import type { JoiningSlot, MigrationStatus } from '../../../../../runtime/src/control/contract.ts';
import type { MigrationRecord, PendingOperation } from '../../../api/v1alpha1/streamjob.ts';
import { hasLeft, isPodReady, isPodTerminal, type Pod } from '../objects/slot-pod.ts';
import { endedSlots } from '../slot-failure.ts';

/** from/to of a live rescale (status written by an older operator without `live`: from = to = 0). */
export function liveOf(op: PendingOperation): { from: number; to: number; requestId: string; migrationId?: string } {
  return op.live ?? { from: 0, to: 0, requestId: '' };
}

/** Why the job failed during the live rescale `op`, or undefined while it runs as expected. */
export function liveFailure(
  op: PendingOperation,
  current: ReadonlyMap<number, Pod>,
  runtime: { state: string; error?: string } | undefined,
): string | undefined {
  const { from, to } = liveOf(op);
  const failed: number[] = [];
  for (let s = 0; s < Math.min(from, to); s++) if (!current.has(s)) failed.push(s);
  for (const [s, p] of current) {
    if (hasLeft(p)) continue;
    if (isPodTerminal(p) || p.metadata?.deletionTimestamp) failed.push(s);
  }
  failed.sort((a, b) => a - b);
  const ended = new Map([...current].filter(([s]) => failed.includes(s)));
  const slots =
    failed.length > 0
      ? `slot(s) ${failed.join(',')} failed or vanished during the live rescale${
          endedSlots(ended).length > 0 ? ` (${endedSlots(ended).join('; ')})` : ''
        }`
      : undefined;
  const rt =
    runtime?.state === 'FAILED' ? `runtime reports FAILED${runtime.error ? `: ${runtime.error}` : ''}` : undefined;
  return slots && rt ? `${slots}; ${rt}` : (slots ?? rt);
}

export type JoinAction =
  | { kind: 'none' }
  /** Create the deployment's pod for this slot, with TRIBUTARY_JOIN and TRIBUTARY_PARALLELISM. */
  | { kind: 'create'; joining: JoiningSlot }
  /** The pod exists and is starting or joining. */
  | { kind: 'joining'; slot: number; ready: boolean }
  /** Slot 0 asked for something the contract does not allow: reported, never acted on. */
  | { kind: 'invalid'; message: string };

/** What to do for the slot slot 0 awaits (MigrationStatus.awaiting), if any. */
export function joinAction(op: PendingOperation, current: ReadonlyMap<number, Pod>, m: MigrationStatus): JoinAction {
  const a = m.awaiting;
  if (!a) return { kind: 'none' };
  const { from, to } = liveOf(op);
  if (to <= from || a.slot < from || a.slot >= to || a.parallelism !== a.slot + 1 || a.generation < 1)
    return {
      kind: 'invalid',
      message: `slot 0 awaits slot ${a.slot} (generation ${a.generation}, parallelism ${a.parallelism}), not one of a live rescale from ${from} to ${to}`,
    };
  const pod = current.get(a.slot);
  if (!pod) return { kind: 'create', joining: { slot: a.slot, generation: a.generation, parallelism: a.parallelism } };
  return { kind: 'joining', slot: a.slot, ready: isPodReady(pod) };
}

/** A completed scale in: the pods of the slots that left, to delete, and the slots still leaving. */
export function scaleInAction(
  op: PendingOperation,
  current: ReadonlyMap<number, Pod>,
): { remove: Pod[]; leaving: number[] } {
  const { from, to } = liveOf(op);
  const remove: Pod[] = [];
  const leaving: number[] = [];
  for (let s = to; s < from; s++) {
    const p = current.get(s);
    if (!p) continue;
    if (!hasLeft(p)) leaving.push(s);
    else if (!p.metadata?.deletionTimestamp) remove.push(p);
  }
  return { remove, leaving };
}

/** `1.2 MiB`, `512 KiB`, `300 B`. */
export function formatMoved(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

/**
 * Reconciling's message while the migration runs, counting its migration steps (done/planned):
 * `step 4/9: 52 key groups, 1.2 MiB moved` (+ what it waits for).
 */
export function progressMessage(
  m: Pick<MigrationRecord, 'stepsDone' | 'steps' | 'keyGroupsMoved' | 'bytesMoved'>,
  join: JoinAction,
): string {
  const moved = `step ${m.stepsDone}/${m.steps}: ${m.keyGroupsMoved} key groups, ${formatMoved(m.bytesMoved)} moved`;
  if (join.kind === 'create') return `${moved}; waiting for slot ${join.joining.slot}'s pod`;
  if (join.kind === 'joining')
    return `${moved}; ${join.ready ? `slot ${join.slot} joining` : `waiting for slot ${join.slot}'s pod`}`;
  if (join.kind === 'invalid') return `${moved}; ${join.message}`;
  return moved;
}

/** status.migration from slot 0's answer (the operator's own start time kept). */
export function migrationRecord(m: MigrationStatus, startedAt: string): MigrationRecord {
  return {
    id: m.id,
    from: m.from,
    to: m.to,
    state: m.state,
    phase: m.phase,
    stepsDone: m.stepsDone,
    steps: m.steps,
    keyGroupsMoved: m.keyGroupsMoved,
    bytesMoved: m.bytesMoved,
    startedAt,
    ...(m.finishedAt ? { finishedAt: m.finishedAt } : {}),
    ...(m.error ? { error: `${m.error}${m.code ? ` (${m.code})` : ''}` } : {}),
  };
}

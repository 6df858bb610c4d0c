// Scale in across slot processes (docs/design/live-rescale.md §5; distributed.md "Scale in across slot
// processes"): what one slot process does for its own slot when slots `from`..`to`−1 leave. The same steps as
// leave-local.ts in one process, split by the process that runs each slot; the messages that order them across
// processes are leave-rpc.ts's, slot 0's side of them leave-across-coordinator.ts.
//
// 1. `endChannels` (a remaining slot): its producers end their channels to each leaving slot and drop them
//    (leave-local.ts endChannelsTo, in the slot's loop); `endSources` (a leaving slot): its sources end (it owns
//    nothing after the plan's last step) once they keep no moved partition's watermark floor (leave-floors.ts),
//    and it resolves once its loop ended, every task finished.
//    No exclusive section is needed for this step, across processes or in one: end of input counts as that
//    channel's barrier (the aligner's rule for finished inputs), so a checkpoint pending meanwhile aligns on the
//    remaining channels alone — a barrier sent before the end reaches the leaving consumer first (a channel is
//    FIFO), one not yet sent is never needed — and a leaving task that ends before a barrier it was triggered for
//    takes its final snapshot for it (SlotCheckpointer.taskFinished). No membership changes in this step.
// 2. `leave` (a leaving slot, after slot 0 saw its final snapshot completed and committed, and dismissed it):
//    the completed checkpoint is the slot's final one (SlotCheckpointer.left): its job's run ends as at end of
//    input (its sinks' commits settled, writers closed 'finished', sources closed), resolving FINISHED.
// 3. `forgetInputs` (a remaining slot, after the same dismissal): its gates drop the inputs the leaving slot fed.
//    They have ended: the final checkpoint completed, so this slot's gates aligned it, and a leaving producer that
//    had finished before it was triggered can only have delivered its end (GateTask.removeInput checks it).
import { TributaryError } from '../errors.ts';
import type { Channel } from '../core/channel.ts';
import { floorsReleased } from './leave-floors.ts';
import { endLeavingSources } from './leave-sources.ts';
import { endChannelsTo, inLoop, type LeaveLocalContext } from './leave-local.ts';
import type { SlotParts } from '../exec/slot-builder.ts';

/** What one process's part of a scale in needs of its JobExecutor (its `drainContext`). */
export type LeaveContext = Pick<LeaveLocalContext, 'list' | 'links' | 'loopEnded' | 'migration'>;

/** This process's slots below `from`: their producers end and drop their channels to slots `from`..`to`−1. */
export function endChannels(c: LeaveContext, from: number, to: number): Promise<void> {
  const remaining = c.list.filter((p) => p.slot.index < from);
  return Promise.all(remaining.map((p) => inLoop(p, () => endChannelsTo(c.links, p.slot.index, from, to)))).then(
    () => undefined,
  );
}

/**
 * This process's slots from `from` on: their sources end, once they keep no moved partition's watermark floor
 * (leave-floors.ts, bounded by `timeoutMs`); resolves with their indexes once their loops ended.
 */
export async function endSources(c: LeaveContext, from: number, timeoutMs: number): Promise<number[]> {
  const leaving = leavingSlots(c, from);
  await floorsReleased(leaving, c.migration, timeoutMs);
  await Promise.all(leaving.map((p) => inLoop(p, () => endLeavingSources(p))));
  await Promise.all(leaving.map((p) => c.loopEnded(p)));
  return leaving.map((p) => p.slot.index);
}

/** This process's slots from `from` on: `checkpointId` (completed, committed by them) was their final checkpoint. */
export function leave(c: LeaveContext, from: number, checkpointId: number): number[] {
  const leaving = leavingSlots(c, from);
  for (const p of leaving) {
    if (!p.checkpointer)
      throw new TributaryError('TRIB_INVARIANT', `slot ${p.slot.index} cannot leave: it takes no checkpoints`);
    p.checkpointer.left(checkpointId);
  }
  return leaving.map((p) => p.slot.index);
}

/** This process's slots below `from`: their gates drop `inputs` (the channels a leaving slot fed; ended). */
export function forgetInputs(c: LeaveContext, from: number, inputs: readonly Channel[]): Promise<void> {
  const remaining = c.list.filter((p) => p.slot.index < from);
  const forget = (p: SlotParts): void => {
    for (const con of c.links.consumers.filter((x) => x.slot === p.slot.index))
      for (const ch of inputs) con.gate.removeInput(ch);
  };
  return Promise.all(remaining.map((p) => inLoop(p, () => forget(p)))).then(() => undefined);
}

function leavingSlots(c: LeaveContext, from: number): SlotParts[] {
  return c.list.filter((p) => p.slot.index >= from);
}

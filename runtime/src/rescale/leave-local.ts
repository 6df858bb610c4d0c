// Slots leave a running job whose slots all run in this process (live rescale, scale in:
// docs/design/live-rescale.md §5). Called once the plan's last step is done: slots N'..N−1 own
// no key group and no partition, and no routing table of any exchange names them.
//
// 0. Once the draining slots keep no moved partition's watermark floor (leave-floors.ts: an ended
//    channel holds no watermark, so ending one early would drop the floor).
// 1. Ended, while no checkpoint is pending (CheckpointCoordinator.exclusive): every producer on a
//    remaining slot ends its channel to each draining slot and drops it (HashExchange.removeChannel,
//    then the chain's channels and the task's outputs), in its slot's loop; every source of a
//    draining slot ends (it owns nothing: SourceTask.requestStop). End of input counts as that
//    channel's barrier, so a remaining consumer's input from a draining producer, ended in turn,
//    no longer holds alignment or the watermark.
// 2. Finished: the draining slots' tasks end as their inputs end, then their loops.
// 3. Final snapshot: a checkpoint triggered after that is acknowledged by each draining slot as
//    finished (its sinks pre-commit their last transaction); its completion makes them commit.
//    Exactly-once holds as for any slot: what a draining sink wrote is committed by that completed
//    checkpoint and by nothing else.
// 4. Left, again exclusive: the slots leave the checkpoint membership (from the top), their sink
//    writers close 'finished' and their sources close (leaving their watermark alignment groups),
//    the remaining slots' gates forget the ended inputs they read from them (in their loops), their
//    metric series go (a drained slot's gauges leave /metrics), and they are dropped from the job's
//    lists. A cycle of rescales back to the same parallelism leaves the same inputs, members and
//    series as before it.
import { TributaryError } from '../errors.ts';
import { floorsReleased } from './leave-floors.ts';
import { endLeavingSources } from './leave-sources.ts';
import type { ChainCheckpoint } from '../exec/chain-checkpoint.ts';
import type { JobCheckpointing } from '../exec/job-checkpointing.ts';
import type { LiveMigration } from './migration.ts';
import type { JobMetrics } from '../telemetry/metrics.ts';
import type { SinkOpening } from '../exec/sink-opening.ts';
import type { SlotParts } from '../exec/slot-builder.ts';
import type { TaskLinks } from '../exec/task-links.ts';
import { closeLocal } from '../exec/job-run.ts';

export interface LeaveLocalContext {
  byIndex: Map<number, SlotParts>;
  list: SlotParts[];
  links: TaskLinks;
  checkpoints: JobCheckpointing;
  sinkOpening: SinkOpening;
  migration: LiveMigration;
  /** Resolves when the slot's loop has ended (its tasks all finished). */
  loopEnded(parts: SlotParts): Promise<void>;
  /** The job's metrics: a drained slot's series are removed. */
  metrics: Pick<JobMetrics, 'removeSlot'>;
}

/** Slots `from`..list.length−1 drain and leave; resolves once they are gone. */
export async function drainSlots(
  a: Pick<LeaveLocalContext, 'byIndex' | 'list' | 'links' | 'checkpoints'>,
  b: Pick<LeaveLocalContext, 'sinkOpening' | 'migration' | 'loopEnded' | 'metrics'>,
  from: number,
  timeoutMs: number,
): Promise<void> {
  const d: LeaveLocalContext = { ...a, ...b };
  const coordinator = d.checkpoints.coordinator;
  if (!coordinator) throw new TributaryError('TRIB_INVARIANT', 'slots drain only where the coordinator runs');
  const draining = d.list.slice(from);
  const remaining = d.list.slice(0, from);
  if (from < 1 || draining.length === 0)
    throw new TributaryError('TRIB_INVARIANT', `cannot drain slots ${from}.. of ${d.list.length}`);
  await floorsReleased(draining, d.migration, timeoutMs); // outside exclusive: floors go at barriers
  await coordinator.exclusive(async () => {
    await Promise.all([
      ...remaining.map((p) => inLoop(p, () => endChannelsTo(d.links, p.slot.index, from, d.list.length))),
      ...draining.map((p) => inLoop(p, () => endLeavingSources(p))),
    ]);
  });
  await Promise.all(draining.map((p) => d.loopEnded(p)));
  const last = await d.checkpoints.triggerCheckpoint();
  await Promise.all(draining.map((p) => d.checkpoints.committed(p.slot.index, last.id)));
  await coordinator.exclusive(async () => {
    for (const p of [...draining].reverse()) {
      const s = p.slot.index;
      d.checkpoints.dismiss(s);
      p.checkpointer?.sinksClosed(`slot ${s} drained (live rescale): its sinks are closing`);
      await Promise.all(d.sinkOpening.removeSlot(s).map((w) => w.close('finished')));
      await Promise.all(p.sources.map((src) => src.close()));
      closeLocal([p]);
      await Promise.all(remaining.map((r) => inLoop(r, () => forgetInputsFrom(d.links, s, r.slot.index))));
      d.metrics.removeSlot(s);
      d.links.removeSlot(s);
      d.migration.removeSlot(s);
      d.byIndex.delete(s);
      d.list.splice(d.list.indexOf(p), 1);
    }
  });
}

/** On a remaining slot: its hash exchanges end and drop their channels to slots `from`..`to`−1 (from the top). */
export function endChannelsTo(links: TaskLinks, slot: number, from: number, to: number): void {
  for (const l of links.producers.filter((x) => x.slot === slot))
    for (let s = to - 1; s >= from; s--) {
      const ch = l.exchange.removeChannel(s);
      drop(l.chain, ch);
      l.task?.removeOutput(ch);
    }
}

/** On a remaining slot: its gates drop the (ended) inputs that the drained slot `gone`'s exchanges fed. */
export function forgetInputsFrom(links: TaskLinks, gone: number, slot: number): void {
  for (const c of links.consumers.filter((x) => x.slot === slot))
    for (const l of links.producers.filter((x) => x.slot === gone && x.consumer === c.head))
      c.gate.removeInput(l.exchange.channelTo(slot));
}

function drop(chain: ChainCheckpoint | undefined, ch: unknown): void {
  const i = chain ? chain.channels.indexOf(ch as ChainCheckpoint['channels'][number]) : -1;
  if (i >= 0) chain?.channels.splice(i, 1);
}

/** Runs `fn` in `p`'s loop; resolves once it ran. */
export function inLoop(p: SlotParts, fn: () => void): Promise<void> {
  return new Promise<void>((resolve, reject) =>
    p.slot.post(() => {
      try {
        fn();
        resolve();
      } catch (e) {
        reject(e as Error);
      }
    }),
  );
}

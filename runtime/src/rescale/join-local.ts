// A slot joins a running job whose slots all run in this process (live rescale, scale out:
// docs/design/live-rescale.md §4 "Joining a running job"). The joining slot is built beside the
// running ones, opened, then wired into them and admitted to the checkpoints:
//
// 1. Built: its tasks get every input at once (from every slot, itself included), its hash
//    exchanges channels to every slot and the key-group routing the running slots have now
//    (LiveMigration's owner table: key groups reach it only by the plan's steps), its keyed
//    backends an empty key-group range, its sources nothing to read (SourceReaderContext.joining:
//    a Kafka source owns no partition and discovery gives it none; it gets partitions only
//    through a step), its sinks writers of their own (transactional ids `<prefix>-<slot>-<k>`).
// 2. Opened: its sink writers (only once the job is RUNNING, so the start-up recovery's commits
//    are over: fencing an id whose restored transaction is still being committed would abort it),
//    lookup tables, sources. Nothing of the running slots has changed yet.
// 3. Wired, while no checkpoint is pending and none can be triggered
//    (CheckpointCoordinator.exclusive): every running producer of a hash exchange gains the
//    channel to the joining slot (addOutputChannel: exchange, chain, outputs at once) and every
//    running consumer an input from the joining slot's producers (GateTask.addInput), each in its
//    own slot's loop between two elements (posted; awaited). No barrier is in flight on any
//    channel then — the precondition of BarrierAligner.addInput — and every barrier after it
//    goes on the new channels too, since each producer forwards only barriers it gets after its
//    wiring ran.
// 4. Admitted: its loop starts in the job's run (a failure aborts every slot; its writers and
//    sources are closed at the end with the others), its watermark-alignment members are
//    declared, and its checkpointer becomes a member: the first checkpoint triggered after the
//    exclusive section ends is its first (its sources are open, so they inject that barrier).
import type { CheckpointCoordinator } from '../checkpoint/coordinator.ts';
import { TributaryError } from '../errors.ts';
import { addOutputChannel } from './join-channel.ts';
import type { JobCheckpointing } from '../exec/job-checkpointing.ts';
import type { SlotLoops } from '../exec/job-run.ts';
import { NodeCounters } from '../exec/node-load.ts';
import type { SinkOpening } from '../exec/sink-opening.ts';
import { Slot } from '../exec/slot.ts';
import type { JoinedChannel, SlotBuilder, SlotParts } from '../exec/slot-builder.ts';
import { SlotLoadCounters } from '../exec/slot-load.ts';
import type { TaskLinks } from '../exec/task-links.ts';

/** A slot of this process with nothing built into it yet. */
export function emptySlotParts(index: number, nodeTiming: boolean): SlotParts {
  return {
    slot: new Slot(index),
    sources: [],
    tables: [],
    sinks: [],
    stateful: [],
    checkpointer: undefined,
    loadCounters: new SlotLoadCounters(),
    nodeCounters: new NodeCounters(nodeTiming),
  };
}

export interface SlotJoinContext {
  builder: Pick<SlotBuilder, 'join' | 'links'>;
  /** The executor's slots by index and in order (the joining slot is added to both). */
  byIndex: Map<number, SlotParts>;
  list: SlotParts[];
  checkpoints: Pick<JobCheckpointing, 'addSlot' | 'admit'> & {
    readonly coordinator: Pick<CheckpointCoordinator, 'exclusive'> | undefined;
  };
  sinkOpening: Pick<SinkOpening, 'addSlot' | 'openSlot'>;
  loops: Pick<SlotLoops, 'start'>;
  nodeTiming: boolean;
  /** Declares the joining slot's watermark-alignment members. */
  declareAlignment(slot: number): void;
  /** The current owner of every key group (LiveMigration). */
  owners(): Int32Array;
}

/** Slot `byIndex.size` joins; resolves once it is a checkpoint member and its loop runs. */
export async function joinSlot(j: SlotJoinContext): Promise<SlotParts> {
  const s = j.list.length;
  const coordinator = j.checkpoints.coordinator;
  if (!coordinator) throw new TributaryError('TRIB_INVARIANT', 'a slot joins only where the coordinator runs');
  const parts = emptySlotParts(s, j.nodeTiming);
  j.byIndex.set(s, parts);
  j.checkpoints.addSlot(parts);
  j.sinkOpening.addSlot(s);
  const gained = j.builder.join(parts, j.owners());
  await j.sinkOpening.openSlot(s, s + 1);
  await Promise.all(parts.tables.map((t) => t.open()));
  await Promise.all(parts.sources.map((src) => src.open()));
  await coordinator.exclusive(async () => {
    await wireJoined(j.builder.links, j.byIndex, s, gained);
    j.declareAlignment(s);
    j.list.push(parts);
    parts.loadCounters.start(parts.slot);
    j.loops.start(parts);
    j.checkpoints.admit(parts);
  });
  return parts;
}

/**
 * Adds the channels of joining slot `s` to the running tasks of `links`: a producer's hash exchange gains the channel
 * to `s` (exchange, chain, outputs: addOutputChannel), a consumer's gate the input from `s`; each in its slot's loop
 * (posted). Resolves once all are in.
 */
export async function wireJoined(
  links: TaskLinks,
  byIndex: ReadonlyMap<number, { slot: Slot }>,
  s: number,
  gained: readonly JoinedChannel[],
): Promise<void> {
  const bySlot = new Map<number, (() => void)[]>();
  const at = (slot: number, fn: () => void) => bySlot.set(slot, [...(bySlot.get(slot) ?? []), fn]);
  for (const g of gained) {
    if (g.to === s) {
      const producer = links.producers.find(
        (l) => l.slot === g.from && l.consumer === g.consumer && l.input === g.input,
      );
      if (!producer?.task)
        throw new TributaryError('TRIB_INVARIANT', `no hash exchange on slot ${g.from} into "${g.consumer}"`);
      const task = producer.task;
      at(g.from, () => addOutputChannel({ ...producer, task, slot: s, channel: g.channel }));
    } else {
      const consumer = links.consumers.find((l) => l.slot === g.to && l.head === g.consumer);
      if (!consumer) throw new TributaryError('TRIB_INVARIANT', `no task "${g.consumer}" on slot ${g.to}`);
      at(g.to, () => consumer.gate.addInput(g.channel, g.input));
    }
  }
  await Promise.all(
    [...bySlot].map(
      ([slot, fns]) =>
        new Promise<void>((resolve, reject) =>
          (byIndex.get(slot) as { slot: Slot }).slot.post(() => {
            try {
              for (const fn of fns) fn();
              resolve();
            } catch (e) {
              reject(e as Error);
            }
          }),
        ),
    ),
  );
}

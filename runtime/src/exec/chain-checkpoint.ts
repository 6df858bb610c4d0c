// What a task does when a checkpoint barrier passes it (after alignment for gate tasks):
// snapshot the keyed state of every operator chained in the task, pre-commit its sinks,
// forward the barrier on every channel the task writes to, then report to the slot's
// checkpointer. Everything here runs synchronously in the slot's mailbox, so no record
// of the next checkpoint can interleave; only the sinks' flush completes later.
import type { SlotCheckpointer } from '../checkpoint/slot-checkpointer.ts';
import type { StatefulOperator } from '../operators/types.ts';
import type { Channel, CheckpointBarrier } from './channel.ts';
import type { SinkOperator } from './sink-operator.ts';

export class ChainCheckpoint {
  readonly stateful: StatefulOperator[] = [];
  readonly sinks: SinkOperator[] = [];
  readonly channels: Channel[] = [];
  private readonly checkpointer: SlotCheckpointer;

  constructor(checkpointer: SlotCheckpointer) {
    this.checkpointer = checkpointer;
  }

  onBarrier(b: CheckpointBarrier, alignmentMs: number, source?: { name: string; position: unknown }): void {
    const keyed = this.stateful.map((op) => ({ step: op.stateName, bytes: op.snapshotState() }));
    const sinks = this.sinks.map((k) => ({ name: k.name, committables: k.writer.preCommit?.(b.id) ?? [] }));
    for (const c of this.channels) c.send({ kind: 'barrier', barrier: b });
    this.checkpointer.taskSnapshot(b.id, { keyed, sources: source ? [source] : [], sinks, alignmentMs });
  }

  onAbort(id: number, reason: string): void {
    for (const c of this.channels) c.send({ kind: 'cancelBarrier', id });
    this.checkpointer.taskDeclined(id, reason);
  }
}

// What a task does when a checkpoint barrier passes it (after alignment for gate tasks):
// snapshot the keyed state of every operator chained in the task, pre-commit its sinks,
// forward the barrier on every channel the task writes to, then report to the slot's
// checkpointer. Everything here runs synchronously in the slot's mailbox, so no record
// of the next checkpoint can interleave; only the sinks' flush completes later.
//
// After the task finished (end of input), checkpoints still include it: `finalSnapshot`
// takes the same snapshot without forwarding anything (its channels carried their end). A task
// whose async operators still hold records when it ends is finished for checkpoints only once
// they drained: a final snapshot before would store the end position without their results.
import type { CheckpointedTask, SlotCheckpointer, TaskSnapshot } from '../checkpoint/slot-checkpointer.ts';
import type { StatefulOperator } from '../operators/types.ts';
import type { Channel } from '../core/channel.ts';
import type { HashExchange } from './exchange.ts';
import type { CheckpointBarrier } from '../core/barrier.ts';
import type { SinkOperator } from './sink-operator.ts';

export class ChainCheckpoint implements CheckpointedTask {
  readonly stateful: StatefulOperator[] = [];
  readonly sinks: SinkOperator[] = [];
  readonly channels: Channel[] = [];
  /** The chain's hash exchanges (a live rescale's step flips their routing at its barrier). */
  readonly exchanges: HashExchange[] = [];
  /**
   * A live rescale's hook (migration.ts), called with each barrier that passes the task,
   * after its snapshot and before the barrier goes on: a barrier that carries a migration step
   * moves key groups out of the chain's stateful operators, flips its hash exchanges and holds
   * the key groups moving in.
   */
  onStepBarrier: ((id: number) => void) | undefined;
  /** Operators of the chain with records waiting on I/O (async lookups): a barrier waits for them. */
  readonly asyncOps: { readonly busy: boolean; whenDrained(cb: () => void): void }[] = [];
  private readonly checkpointer: SlotCheckpointer;
  private task: { readonly done: boolean } | undefined;
  /** The source position at the end, for a source task's final snapshot. */
  private finalPosition: (() => { name: string; position: unknown }) | undefined;
  private index = -1;

  constructor(checkpointer: SlotCheckpointer) {
    this.checkpointer = checkpointer;
  }

  /** Registers the task with the slot's checkpointer (once the task exists). */
  attach(
    task: { readonly done: boolean },
    source?: {
      injector: Parameters<SlotCheckpointer['registerTask']>[1];
      position: () => { name: string; position: unknown };
    },
  ): void {
    this.task = task;
    this.finalPosition = source?.position;
    const inner = source?.injector;
    // A source that ended while the chain drains takes part in a checkpoint triggered meanwhile:
    // the final snapshot comes from onFinished, once drained.
    const injector = inner && {
      name: inner.name,
      injectBarrier: (b: CheckpointBarrier) => task.done || inner.injectBarrier(b),
    };
    this.index = this.checkpointer.registerTask(this, injector);
  }

  get done(): boolean {
    return (this.task?.done ?? false) && !this.asyncOps.some((op) => op.busy);
  }

  /** `b`: the barrier that passes (undefined for a finished task's final snapshot, always full). */
  private snapshot(
    id: number,
    b: CheckpointBarrier | undefined,
    alignmentMs: number,
    source: { name: string; position: unknown } | undefined,
    finished: boolean,
  ): TaskSnapshot {
    const t0 = performance.now();
    const keyed = this.stateful.map((op) => this.keyedSnapshot(op, b));
    const snapshotMs = performance.now() - t0;
    const sinks = this.sinks.map((k) => ({ name: k.name, committables: k.writer.preCommit?.(id) ?? [] }));
    return {
      keyed,
      sources: source ? [source] : [],
      sinks,
      alignmentMs,
      snapshotMs,
      ...(finished ? { finished: true } : {}),
    };
  }

  /**
   * A checkpoint barrier's snapshot of `op` is a delta on the barrier's base where the slot holds
   * that base's chain (incremental-chains.ts); a savepoint's is always full and self-contained.
   */
  private keyedSnapshot(op: StatefulOperator, b: CheckpointBarrier | undefined): TaskSnapshot['keyed'][number] {
    const backend = op.keyedBackend;
    if (b === undefined || backend === undefined) return { step: op.stateName, bytes: op.snapshotState() };
    const base = b.kind === 'checkpoint' && this.checkpointer.canDelta(op.stateName, b.base) ? b.base : undefined;
    // A full snapshot of a disk store is written from a view fixed here, while the task goes on.
    const snap = backend.snapshotFor(b.id, base, true);
    if (b.kind === 'checkpoint') this.checkpointer.snapshotTaken(op.stateName, snap.delta);
    return { step: op.stateName, bytes: snap.bytes, ...(snap.delta ? { base } : {}) };
  }

  /**
   * `sent` runs once the barrier is on every channel of the chain: what the task emits from then on
   * follows it downstream. With an async operator busy that is later than this call, so a source
   * that must act after its barrier (a live rescale's watermark floor, watermark-handover.ts) acts
   * in `sent`, never right after onBarrier returns.
   */
  onBarrier(
    b: CheckpointBarrier,
    alignmentMs: number,
    source?: { name: string; position: unknown },
    sent?: () => void,
  ): void {
    // Records an async operator still holds were read before the barrier: they go downstream
    // (into the snapshot of later operators and ahead of the barrier) first. The task takes no
    // input meanwhile (the operator is not writable), so `source` stays the position to store.
    const busy = this.asyncOps.find((op) => op.busy);
    if (busy) {
      busy.whenDrained(() => this.onBarrier(b, alignmentMs, source, sent));
      return;
    }
    const snap = this.snapshot(b.id, b, alignmentMs, source, false);
    this.onStepBarrier?.(b.id);
    for (const c of this.channels) c.send({ kind: 'barrier', barrier: b });
    this.checkpointer.taskSnapshot(b.id, this.index, snap);
    sent?.();
  }

  finalSnapshot(checkpointId: number): TaskSnapshot {
    return this.snapshot(checkpointId, undefined, 0, this.finalPosition?.(), true);
  }

  /** The task just finished (in the mailbox, after its end went downstream). */
  onFinished(): void {
    const busy = this.asyncOps.find((op) => op.busy);
    if (busy) busy.whenDrained(() => this.onFinished());
    else this.checkpointer.taskFinished(this.index);
  }

  onAbort(id: number, reason: string): void {
    for (const c of this.channels) c.send({ kind: 'cancelBarrier', id });
    this.checkpointer.taskDeclined(id, reason);
  }
}

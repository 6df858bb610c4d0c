// The slot side of checkpointing: receives TriggerCheckpoint from the coordinator, injects
// the barrier at this slot's sources (from the slot's mailbox, so between two polls),
// collects the snapshot of every task of the slot as its barrier passes, writes the slot's
// keyed-state files into the checkpoint directory, waits for the sinks' pre-commit (flush),
// then acknowledges with the handles. Declines when a task cannot take part (finished
// source, aborted alignment). Completion and abort notifications go back into the mailbox.
import type { Logger } from 'pino';
import type { CheckpointBarrier } from '../exec/channel.ts';
import { CheckpointStorage } from './checkpoint-storage.ts';
import type { CheckpointAck, CoordinatorPort, KeyedStateHandle, SlotCheckpointPort, TriggerCheckpoint } from './messages.ts';
import type { KeyGroupRange } from '../state/key-groups.ts';

/** What one task hands over when the barrier passes it (taken synchronously, in the mailbox). */
export interface TaskSnapshot {
  keyed: { step: string; bytes: Uint8Array }[];
  sources: { name: string; position: unknown }[];
  /** Pre-commit of each sink in the task: resolves once its records are flushed to the transaction. */
  sinks: { name: string; committables: Promise<readonly unknown[]> | readonly unknown[] }[];
  alignmentMs: number;
}

/** A source task as the checkpointer sees it. */
export interface BarrierInjector {
  readonly name: string;
  /** Snapshots the position, forwards the barrier; false when the task already finished. */
  injectBarrier(b: CheckpointBarrier): boolean;
}

export interface SlotCheckpointerOptions {
  slot: number;
  keyGroupRange: KeyGroupRange;
  /** Runs a callback in the slot's mailbox loop. */
  post(cb: () => void): void;
  coordinator: CoordinatorPort;
  logger: Logger;
  /** Called (in the mailbox) when a checkpoint completes: sinks commit, sources commit offsets for monitoring. */
  onComplete(checkpointId: number): void;
  onAborted(checkpointId: number): void;
  /** A stop-with-savepoint barrier is being injected here: this process's job will end after it. */
  onStopBarrier?(checkpointId: number): void;
}

interface Collecting {
  trigger: TriggerCheckpoint | undefined;
  snaps: TaskSnapshot[];
  declined: boolean;
}

export class SlotCheckpointer implements SlotCheckpointPort {
  private readonly o: SlotCheckpointerOptions;
  private readonly sources: BarrierInjector[] = [];
  private taskCount = 0;
  private readonly collecting = new Map<number, Collecting>();

  constructor(o: SlotCheckpointerOptions) {
    this.o = o;
  }

  registerTask(source?: BarrierInjector): void {
    this.taskCount++;
    if (source) this.sources.push(source);
  }

  private entry(id: number): Collecting {
    let c = this.collecting.get(id);
    if (!c) {
      c = { trigger: undefined, snaps: [], declined: false };
      this.collecting.set(id, c);
    }
    return c;
  }

  trigger(msg: TriggerCheckpoint): void {
    this.o.post(() => {
      const c = this.entry(msg.checkpointId);
      c.trigger = msg;
      const barrier: CheckpointBarrier = { id: msg.checkpointId, timestamp: msg.timestamp, kind: msg.kind, ...(msg.stop ? { stop: true } : {}) };
      if (msg.stop) this.o.onStopBarrier?.(msg.checkpointId);
      for (const s of this.sources) {
        if (!s.injectBarrier(barrier)) {
          this.taskDeclined(msg.checkpointId, `source task ${s.name} has finished`);
          return;
        }
      }
      this.maybePersist(msg.checkpointId);
    });
  }

  /** A task of this slot snapshotted for checkpoint `id` (called in the mailbox). */
  taskSnapshot(id: number, snap: TaskSnapshot): void {
    // A pre-commit may reject after this checkpoint was declined or aborted, when nothing
    // awaits it any more: mark it handled so it cannot crash the process as an unhandled
    // rejection. persist() still awaits the original promise and sees the error.
    for (const k of snap.sinks) if (k.committables instanceof Promise) k.committables.catch(() => undefined);
    const c = this.entry(id);
    if (c.declined) return;
    c.snaps.push(snap);
    this.maybePersist(id);
  }

  taskDeclined(id: number, reason: string): void {
    const c = this.entry(id);
    if (c.declined) return;
    c.declined = true;
    c.snaps = [];
    this.o.coordinator.decline({ slot: this.o.slot, checkpointId: id, reason });
  }

  private maybePersist(id: number): void {
    const c = this.collecting.get(id);
    if (!c || c.declined || !c.trigger || c.snaps.length < this.taskCount) return;
    this.collecting.delete(id);
    const trigger = c.trigger;
    this.persist(trigger, c.snaps).then(
      (ack) => this.o.coordinator.acknowledge(ack),
      (e: unknown) => {
        this.o.logger.warn({ id, slot: this.o.slot, err: (e as Error).message }, 'checkpoint state could not be written');
        this.o.coordinator.decline({ slot: this.o.slot, checkpointId: id, reason: `slot ${this.o.slot}: ${(e as Error).message}` });
      },
    );
  }

  private async persist(t: TriggerCheckpoint, snaps: TaskSnapshot[]): Promise<CheckpointAck> {
    const operators: Record<string, KeyedStateHandle> = {};
    const sources: Record<string, unknown> = {};
    const sinks: Record<string, readonly unknown[]> = {};
    let stateSize = 0;
    let alignmentMs = 0;
    const writes: Promise<void>[] = [];
    for (const s of snaps) {
      alignmentMs = Math.max(alignmentMs, s.alignmentMs);
      for (const k of s.keyed) {
        const file = `${encodeURIComponent(k.step)}.slot-${this.o.slot}.kstate`;
        stateSize += k.bytes.length;
        writes.push(
          CheckpointStorage.writeStateFile(t.dir, file, k.bytes).then((f) => {
            operators[k.step] = { ...f, keyGroupRange: this.o.keyGroupRange };
          }),
        );
      }
      for (const src of s.sources) sources[src.name] = src.position ?? null;
      for (const k of s.sinks) {
        writes.push(
          Promise.resolve(k.committables).then((c) => {
            sinks[k.name] = c;
          }),
        );
      }
    }
    await Promise.all(writes);
    return { slot: this.o.slot, checkpointId: t.checkpointId, operators, sources, sinks, stateSize, alignmentMs };
  }

  notifyComplete(checkpointId: number): void {
    this.o.post(() => {
      for (const id of this.collecting.keys()) if (id <= checkpointId) this.collecting.delete(id);
      this.o.onComplete(checkpointId);
    });
  }

  notifyAborted(checkpointId: number): void {
    this.o.post(() => {
      this.collecting.delete(checkpointId);
      this.o.onAborted(checkpointId);
    });
  }
}

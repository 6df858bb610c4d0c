// The slot side of checkpointing: receives TriggerCheckpoint from the coordinator, injects
// the barrier at this slot's sources (from the slot's mailbox, so between two polls),
// collects the snapshot of every task of the slot as its barrier passes, writes the slot's
// keyed-state files into the checkpoint directory, waits for the sinks' pre-commit (flush),
// then acknowledges with the handles and where the time went (messages.ts SlotPhases).
// Declines when a task cannot take part (a source not opened yet, aborted alignment).
// Completion and abort notifications go back into the mailbox; once the sinks committed a
// completed checkpoint the coordinator is told (`committed`, timing only).
//
// Finished tasks (Flink FLIP-147): checkpoints continue after tasks reached end of input. A
// task that is done when a checkpoint reaches this slot (or that finishes before its barrier
// came) contributes a *final snapshot*: its state and source position as they were at the
// end (they no longer change), and its sinks' pre-commit of everything written up to the
// end. When every task of the slot contributed a final snapshot the ack says `finished`;
// a completed checkpoint all of whose acks are finished is the job's final checkpoint: its
// completion commits the last output, and only then may the slot exit (`finalCompleted`).
//
// Closed sinks (`sinksClosed`): once the job's sinks close, a snapshot of this slot can no
// longer vouch for its output — a sink closed as 'stopped' (SIGTERM, no savepoint) aborted its
// open transaction, and a closed sink pre-commits nothing — while its tasks, ended by the stop,
// still look finished and its sources report positions past that output. A slot process keeps
// answering the coordinator after its job ran (it drains its data plane), so from then on every
// checkpoint it is asked for, or is still writing, is declined: a checkpoint completed with such
// an ack would be restored with the output of the slot's last epoch lost.
//
// A stop (`stopping`: SIGTERM, no savepoint, no drain) comes earlier than that: the job's sources end, and an
// ended channel holds no watermark downstream, so windows fire on the other inputs' watermarks alone
// while records of the stopped sources are still unread. A checkpoint completed then records those
// windows as fired and the sources' positions before those records; its restore replays them into
// windows of their own (docs/runtime/checkpoint-format.md, "Exactly-once Kafka sink", 7). So from the
// stop on, every checkpoint not yet acknowledged here is declined, and so is every savepoint but the
// one that causes the stop (a stop-with-savepoint triggered here before the plain stop: it pauses its
// sources at its own barrier, with nothing ended); a periodic or upgrade savepoint triggered after the
// stop would record the same early windows. The rule declines only what the stop made inconsistent:
// a slot whose every source had reached its natural end of input before the stop (its final
// watermark went downstream) has nothing left for the stop to end, so its checkpoints, the job's
// final one included, are answered as before. Whether the checkpoint holds across slots is then each
// slot's own answer: a slot whose sources the stop did end declines it, and it cannot complete.
import type { Logger } from 'pino';
import type { CheckpointBarrier } from '../core/barrier.ts';
import { TributaryError } from '../errors.ts';
import { CheckpointStorage } from './checkpoint-storage.ts';
import { PendingWrites } from './pending-writes.ts';
import type {
  CheckpointAck,
  CoordinatorPort,
  KeyedStateHandle,
  SlotCheckpointPort,
  TriggerCheckpoint,
} from './messages.ts';
import { readSnapshotHeader } from '../state/snapshot-format.ts';
import { indexSnapshot } from '../state/snapshot-index.ts';
import { IncrementalChains } from './incremental-chains.ts';
import { ChainCompactor, type CompactionEvent } from './chain-compactor.ts';

/** What one task hands over when the barrier passes it (taken synchronously, in the mailbox). */
export interface TaskSnapshot {
  /** `base`: the bytes are a delta on that checkpoint's chain of the step (incremental-chains.ts). */
  /** `bytes` may come later: a full snapshot written from a view of a disk store (full-snapshot.ts). */
  keyed: { step: string; bytes: Uint8Array | Promise<Uint8Array>; base?: number | undefined }[];
  sources: { name: string; position: unknown }[];
  /** Pre-commit of each sink in the task: resolves once its records are flushed to the transaction. */
  sinks: { name: string; committables: Promise<readonly unknown[]> | readonly unknown[] }[];
  alignmentMs: number;
  /** Time spent serializing the keyed state (synchronous, in the mailbox). */
  snapshotMs?: number;
  /** Taken after the task finished (end of input): no later snapshot of the task can differ. */
  finished?: boolean;
}

/** A task as the checkpointer sees it. */
export interface CheckpointedTask {
  readonly done: boolean;
  /** The snapshot of a finished task (final state and position; sinks pre-commit what is left). Forwards nothing. */
  finalSnapshot(checkpointId: number): TaskSnapshot;
}

/** A source task as the checkpointer sees it. */
export interface BarrierInjector {
  readonly name: string;
  /** Snapshots the position, forwards the barrier; false when the task already finished. */
  injectBarrier(b: CheckpointBarrier): boolean;
}

export interface SlotCheckpointerOptions {
  slot: number;
  /** Runs a callback in the slot's mailbox loop. */
  post(cb: () => void): void;
  coordinator: CoordinatorPort;
  logger: Logger;
  /**
   * Called (in the mailbox) when a checkpoint completes: sinks commit, sources commit offsets for monitoring. Resolves
   * once the sinks committed.
   */
  onComplete(checkpointId: number): Promise<void> | void;
  onAborted(checkpointId: number): void;
  /**
   * A sink's pre-commit rejected with TRIB_CONNECTOR_FAILED: the sink itself failed (e.g. the
   * Kafka sink's sends met a dead broker) and stays failed, so declining checkpoints alone would
   * leave a job that never checkpoints again and, with no more input to write, never fails
   * either. The job fails instead and restarts from its last checkpoint. Any other pre-commit
   * rejection (a transient one) only declines the checkpoint.
   */
  onSinkFailed?(e: unknown): void;
  /** A stop-with-savepoint barrier is being injected here: this process's job will end after it. */
  onStopBarrier?(checkpointId: number): void;
  /** A background compaction of an incremental chain started or ended (metrics). */
  onCompaction?(e: CompactionEvent): void;
}

interface Collecting {
  trigger: TriggerCheckpoint | undefined;
  /** performance.now() of the first thing heard of this checkpoint here (trigger or a task's barrier). */
  since: number;
  /** Snapshot per task index. */
  snaps: Map<number, TaskSnapshot>;
  declined: boolean;
}

export class SlotCheckpointer implements SlotCheckpointPort {
  private readonly o: SlotCheckpointerOptions;
  private readonly tasks: { task: CheckpointedTask; source: BarrierInjector | undefined }[] = [];
  private readonly collecting = new Map<number, Collecting>();
  /** State files being written: the job ends only after they settled (a caller may delete the state directory next). */
  private readonly fileWrites = new PendingWrites();
  /** The file chains of acknowledged checkpoints, which deltas build on. */
  private readonly chains = new IncrementalChains();
  private readonly compactor: ChainCompactor;
  private readonly keyedSteps = new Set<string>();
  private finalResolve: ((id: number) => void) | undefined;
  private closedReason: string | undefined;
  /** Why checkpoints are declined from now on: a stop ended sources of this slot (see the header). */
  private stoppingReason: string | undefined;
  /** Stop-with-savepoints triggered here before any plain stop: the stop they cause does not decline them. */
  private readonly stopSavepoints = new Set<number>();
  /**
   * Resolves (after the sinks were told to commit) once the job's final checkpoint completed:
   * every slot acknowledged it with all tasks finished. Only then may the slot exit: the
   * coordinator needs every slot's acknowledgement until then.
   */
  readonly finalCompleted = new Promise<number>((r) => {
    this.finalResolve = r;
  });

  constructor(o: SlotCheckpointerOptions) {
    this.o = o;
    this.compactor = new ChainCompactor(this.chains, o.slot, o.logger, o.onCompaction);
  }

  /** Whether step `step` may write its snapshot as a delta on checkpoint `base` (incremental-chains.ts). */
  canDelta(step: string, base: number | undefined): boolean {
    return this.chains.canDelta(step, base, this.compactor.compacting(step));
  }

  /** A checkpoint's snapshot of `step` was taken, a delta or not (incremental-chains.ts). */
  snapshotTaken(step: string, delta: boolean): void {
    this.chains.snapshotTaken(step, delta);
  }

  /** Registers a task of the slot; returns its index (for taskSnapshot / taskFinished). */
  registerTask(task: CheckpointedTask, source?: BarrierInjector): number {
    this.tasks.push({ task, source });
    return this.tasks.length - 1;
  }

  private entry(id: number): Collecting {
    let c = this.collecting.get(id);
    if (!c) {
      c = { trigger: undefined, since: performance.now(), snaps: new Map(), declined: false };
      this.collecting.set(id, c);
    }
    return c;
  }

  /**
   * The job's sinks are closing (the job ran to its end, was stopped or failed): every checkpoint not yet acknowledged
   * here, and every later one, is declined (see the header).
   */
  sinksClosed(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    for (const id of [...this.collecting.keys()]) this.taskDeclined(id, this.closedReason);
  }

  /**
   * The job was asked to stop, before its sources hear of it: unless every source of this slot already reached its
   * end of input, every checkpoint not yet acknowledged here, and every later one, is declined (see the header).
   */
  stopping(reason: string): void {
    if (this.stoppingReason !== undefined) return;
    if (this.tasks.every((t) => t.source === undefined || t.task.done)) return;
    this.stoppingReason = reason;
    for (const id of [...this.collecting.keys()]) if (this.refusal(id) !== undefined) this.taskDeclined(id, reason);
  }

  /** Why checkpoint `id` must be declined now (the sinks closed, or a stop ended sources), else undefined. */
  private refusal(id: number): string | undefined {
    return this.closedReason ?? (this.stopSavepoints.has(id) ? undefined : this.stoppingReason);
  }

  trigger(msg: TriggerCheckpoint): void {
    const receivedAt = performance.now();
    this.o.post(() => {
      const refused = this.refusal(msg.checkpointId);
      if (refused !== undefined) {
        this.taskDeclined(msg.checkpointId, refused);
        return;
      }
      if (msg.stop) this.stopSavepoints.add(msg.checkpointId);
      const c = this.entry(msg.checkpointId);
      c.since = Math.min(c.since, receivedAt);
      c.trigger = msg;
      const barrier: CheckpointBarrier = {
        id: msg.checkpointId,
        timestamp: msg.timestamp,
        kind: msg.kind,
        ...(msg.stop ? { stop: true } : {}),
        ...(msg.base !== undefined ? { base: msg.base } : {}),
      };
      if (msg.stop) this.o.onStopBarrier?.(msg.checkpointId);
      for (let i = 0; i < this.tasks.length; i++) {
        if (c.declined) return;
        if (c.snaps.has(i)) continue;
        const t = this.tasks[i] as { task: CheckpointedTask; source: BarrierInjector | undefined };
        if (t.task.done) this.taskSnapshot(msg.checkpointId, i, t.task.finalSnapshot(msg.checkpointId));
        else if (t.source && !t.source.injectBarrier(barrier)) {
          this.taskDeclined(msg.checkpointId, `source task ${t.source.name} cannot take part`);
          return;
        }
      }
      this.maybePersist(msg.checkpointId);
    });
  }

  /**
   * Task `index` finished (called in the mailbox, after it emitted its end): checkpoints
   * already triggered here whose barrier it will never see take its final snapshot.
   */
  taskFinished(index: number): void {
    const t = this.tasks[index];
    if (!t) return;
    for (const [id, c] of [...this.collecting]) {
      if (!c.trigger || c.declined || c.snaps.has(index)) continue;
      this.taskSnapshot(id, index, t.task.finalSnapshot(id));
    }
  }

  /** Task `index` of this slot snapshotted for checkpoint `id` (called in the mailbox). */
  taskSnapshot(id: number, index: number, snap: TaskSnapshot): void {
    // A pre-commit (or a full snapshot written later) may reject after this checkpoint was
    // declined or aborted, when nothing awaits it any more: mark it handled so it cannot crash the
    // process as an unhandled rejection. persist() still awaits the original promise and sees the error.
    for (const k of snap.sinks) if (k.committables instanceof Promise) k.committables.catch(() => undefined);
    for (const k of snap.keyed) if (k.bytes instanceof Promise) k.bytes.catch(() => undefined);
    const c = this.entry(id);
    if (c.declined || c.snaps.has(index)) return;
    c.snaps.set(index, snap);
    this.maybePersist(id);
  }

  taskDeclined(id: number, reason: string): void {
    const c = this.entry(id);
    if (c.declined) return;
    c.declined = true;
    c.snaps.clear();
    this.o.coordinator.decline({ slot: this.o.slot, checkpointId: id, reason });
  }

  private maybePersist(id: number): void {
    const c = this.collecting.get(id);
    if (!c || c.declined || !c.trigger || c.snaps.size < this.tasks.length) return;
    this.collecting.delete(id);
    const trigger = c.trigger;
    const snaps = [...c.snaps.values()];
    const alignedAt = performance.now();
    const snapshotMs = snaps.reduce((a, x) => a + (x.snapshotMs ?? 0), 0);
    const alignMs = Math.max(0, alignedAt - c.since - snapshotMs);
    this.persist(trigger, snaps).then(
      (ack) => {
        const refused = this.refusal(id);
        if (refused !== undefined) {
          this.o.coordinator.decline({ slot: this.o.slot, checkpointId: id, reason: refused });
          return;
        }
        this.o.coordinator.acknowledge({
          ...ack,
          phases: { alignMs, snapshotMs, uploadMs: performance.now() - alignedAt },
        });
      },
      (e: unknown) => {
        this.o.logger.warn(
          { id, slot: this.o.slot, err: (e as Error).message },
          'checkpoint state could not be written',
        );
        this.o.coordinator.decline({
          slot: this.o.slot,
          checkpointId: id,
          reason: `slot ${this.o.slot}: ${(e as Error).message}`,
        });
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
        const file = `${encodeURIComponent(k.step)}.slot-${this.o.slot}.${k.base === undefined ? 'kstate' : 'kdelta'}`;
        const written = Promise.resolve(k.bytes).then(async (bytes) => {
          stateSize += bytes.length;
          return { bytes, f: await CheckpointStorage.writeStateFile(t.dir, file, bytes) };
        });
        const write = this.fileWrites.track(written);
        writes.push(
          write.then(({ bytes, f }) => {
            // The snapshot's own range (its backend's span), not the slot's formula range: they differ
            // once a live rescale moved key groups in (docs/design/live-rescale.md), and the
            // restore checks every indexed section against the range recorded here.
            // The key groups it holds go beside the range, so a restore reads each key group from
            // the one file that lists it, never from a file whose span merely covers it.
            const { keyGroupRange, keyGroups } = readSnapshotHeader(bytes);
            const held: [number, number][] =
              keyGroups ?? (keyGroupRange.end >= keyGroupRange.start ? [[keyGroupRange.start, keyGroupRange.end]] : []);
            const file = { ...f, keyGroupRange, keyGroups: held, index: indexSnapshot(bytes) };
            const handle = k.base === undefined ? file : this.chains.deltaHandle(k.step, k.base, file);
            if (t.kind === 'checkpoint') {
              this.chains.acknowledged(k.step, t.checkpointId, handle);
              this.compactor.wrote(t.checkpointId, t.dir);
              this.keyedSteps.add(k.step);
            }
            operators[k.step] = handle;
          }),
        );
      }
      for (const src of s.sources) sources[src.name] = src.position ?? null;
      for (const k of s.sinks) {
        writes.push(
          Promise.resolve(k.committables).then(
            (c) => {
              sinks[k.name] = c;
            },
            (e: unknown) => {
              if (e instanceof TributaryError && e.code === 'TRIB_CONNECTOR_FAILED') this.o.onSinkFailed?.(e);
              throw e;
            },
          ),
        );
      }
    }
    await Promise.all(writes);
    const finished = snaps.length > 0 && snaps.every((s) => s.finished === true);
    return {
      slot: this.o.slot,
      checkpointId: t.checkpointId,
      operators,
      sources,
      sinks,
      stateSize,
      alignmentMs,
      ...(finished ? { finished: true } : {}),
    };
  }

  /** Resolves once no state file of this slot is being written (an aborted checkpoint's, a compaction's included). */
  async settled(): Promise<void> {
    await this.fileWrites.settled();
    await this.compactor.idle();
  }

  notifyComplete(checkpointId: number, final = false): void {
    this.o.post(() => {
      for (const id of this.collecting.keys()) if (id <= checkpointId) this.collecting.delete(id);
      for (const id of this.stopSavepoints) if (id <= checkpointId) this.stopSavepoints.delete(id);
      this.chains.completed(checkpointId);
      this.compactor.completed(checkpointId, this.keyedSteps);
      const committing = this.o.onComplete(checkpointId);
      if (final) this.finalResolve?.(checkpointId);
      // A failed commit fails the job elsewhere; only a success is reported.
      void Promise.resolve(committing).then(
        () => this.o.coordinator.committed?.({ slot: this.o.slot, checkpointId }),
        () => undefined,
      );
    });
  }

  /**
   * This slot left the running job (live rescale, scale in across processes: rescale/leave-across.ts): checkpoint
   * `checkpointId` completed with this slot's every task finished, and its sinks committed it, so it was this slot's
   * final checkpoint although the job goes on. Refused while a task still runs: only a finished slot may leave.
   */
  left(checkpointId: number): void {
    const running = this.tasks.filter((t) => !t.task.done).length;
    if (running > 0)
      throw new TributaryError('TRIB_INVARIANT', `slot ${this.o.slot} cannot leave: ${running} of its tasks still run`);
    this.o.post(() => this.finalResolve?.(checkpointId));
  }

  notifyAborted(checkpointId: number, _reason?: string, rewrite = false): void {
    this.o.post(() => {
      this.collecting.delete(checkpointId);
      this.stopSavepoints.delete(checkpointId);
      this.chains.aborted(checkpointId, rewrite);
      this.o.onAborted(checkpointId);
    });
  }
}

// The commit barriers of a run without checkpoints (checkpoint/commit-barriers.ts): one
// SlotCheckpointer per slot, set before the slots are built so that their tasks' chains take
// part in barriers exactly as in a checkpointing run (sinks pre-commit, exchanges align), and a
// CommitBarrierCoordinator that, once every slot acknowledged a barrier, has each source commit
// the position it recorded at it (SourceReader.commitPosition).
//
// Barriers run only when they can commit something safely: some source commits positions (a
// Kafka source), every slot of the job runs here, and the job keeps no operator state (a crash
// loses that state, so a commit past the records held in it would lose them: such a job commits
// at a clean end only, job-run.ts). Otherwise the checkpointers stay idle: no barrier is injected.
import type { Logger } from 'pino';
import { CommitBarrierCoordinator } from '../checkpoint/commit-barriers.ts';
import { DEFAULT_CHECKPOINT_TIMEOUT_MS } from '../checkpoint/defaults.ts';
import type { CheckpointAck, CoordinatorPort } from '../checkpoint/messages.ts';
import { SlotCheckpointer } from '../checkpoint/slot-checkpointer.ts';
import { asyncPort } from './async-port.ts';
import type { SlotParts } from './slot-builder.ts';

export interface JobCommitBarriersOptions {
  intervalMs: number;
  parallelism: number;
  /** The slots of this process, by index; their checkpointer is set here. */
  slots: ReadonlyMap<number, SlotParts>;
  /** A sink's pre-commit failed (TRIB_CONNECTOR_FAILED): the sink stays failed, so the job fails. */
  fail(e: unknown): void;
  logger: Logger;
}

export class JobCommitBarriers {
  readonly coordinator: CommitBarrierCoordinator;
  private readonly o: JobCommitBarriersOptions;
  private started = false;

  constructor(o: JobCommitBarriersOptions) {
    this.o = o;
    const ref: { c?: CommitBarrierCoordinator } = {};
    const toCoordinator = asyncPort<CoordinatorPort>({
      acknowledge: (a) => ref.c?.acknowledge(a),
      decline: (d) => ref.c?.decline(d),
    });
    for (const parts of o.slots.values()) {
      parts.checkpointer = new SlotCheckpointer({
        slot: parts.slot.index,
        post: (cb) => parts.slot.post(cb),
        coordinator: toCoordinator,
        logger: o.logger,
        onComplete: () => undefined,
        onAborted: () => undefined,
        onSinkFailed: (e) => o.fail(e),
      });
    }
    const ports = [...o.slots.values()]
      .sort((a, b) => a.slot.index - b.slot.index)
      .map((p) => asyncPort(p.checkpointer as SlotCheckpointer));
    this.coordinator = new CommitBarrierCoordinator({
      slots: ports,
      intervalMs: o.intervalMs,
      timeoutMs: DEFAULT_CHECKPOINT_TIMEOUT_MS,
      commit: (id, acks) => this.commit(id, acks),
      logger: o.logger,
    });
    ref.c = this.coordinator;
  }

  /** After the sources opened: starts the barriers when they can commit safely (see the header); logs why not. */
  start(): void {
    const slots = [...this.o.slots.values()];
    const sources = slots.flatMap((p) => p.sources).filter((s) => s.commitsPositions);
    if (sources.length === 0) return;
    const names = [...new Set(sources.map((s) => s.sourceName))];
    const stateful = [...new Set(slots.flatMap((p) => p.stateful.map((op) => op.stateName)))];
    const why =
      stateful.length > 0
        ? 'the job keeps operator state and takes no checkpoints'
        : slots.length !== this.o.parallelism
          ? 'slots of the job run in other processes'
          : undefined;
    if (why !== undefined) {
      this.o.logger.info(
        { sources: names, stateful },
        `no periodic offset commits: ${why}, so its sources commit their positions only when it ends cleanly ` +
          '(a crash replays everything since)',
      );
      return;
    }
    this.started = true;
    this.o.logger.info(
      { sources: names, intervalMs: this.o.intervalMs },
      `offsets committed every ${this.o.intervalMs / 1000} s behind a commit barrier (once every sink acknowledged the records before it)`,
    );
    this.coordinator.start();
  }

  /** No more barriers; resolves once a commit under way settled (before the job's final commit). */
  stop(): Promise<void> {
    return this.started ? this.coordinator.stop() : Promise.resolve();
  }

  /** Every slot acknowledged barrier `id`: each source commits the position its slot recorded at it. */
  private async commit(id: number, acks: readonly CheckpointAck[]): Promise<void> {
    const commits: Promise<void>[] = [];
    for (const ack of acks) {
      const parts = this.o.slots.get(ack.slot);
      for (const src of parts?.sources ?? []) {
        if (!src.commitsPositions || !(src.sourceName in ack.sources)) continue;
        commits.push(src.commitPosition(ack.sources[src.sourceName], id));
      }
    }
    // Every commit settles before the next barrier may start: one source's commits never overtake each other.
    const failed = (await Promise.allSettled(commits)).find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

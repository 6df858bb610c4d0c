// Commit barriers: how a run without checkpoints moves its sources' committed positions forward
// while it runs (a Kafka source's consumer group: connectors/kafka/offset-commits.ts). A commit
// barrier is a checkpoint barrier that stores nothing: injected at every source of every slot
// between two polls, aligned and forwarded like a checkpoint's, so each sink pre-commits at it
// (flushes, and awaits its external system's acknowledgement of every record before it) and each
// slot acknowledges with its sources' positions at the barrier. Once every slot acknowledged,
// every record before the barrier has been acknowledged by every sink of the job, so each
// source may commit the position its barrier recorded: a crash then replays at most what
// followed the last completed barrier, never skips a record.
//
// Invariants:
// * Positions are committed only after every slot acknowledged (a source's records may reach a
//   sink of another slot through an exchange): never ahead of a sink.
// * One barrier at a time, its commit included: a tick while one is under way is skipped, so
//   commits of one source never overtake each other (a committed position only moves forward).
// * Nothing is written anywhere but the sources' own commits: the job has no keyed state (its
//   wiring starts barriers only then: a crash loses operator state, so committing past records
//   held in it would lose them). An ack carrying keyed state aborts the barrier.
// * A failed commit is logged, not fatal: the next barrier commits a later position.
import type { Logger } from 'pino';
import type { CheckpointAck, CheckpointDecline, CoordinatorPort, SlotCheckpointPort } from './messages.ts';

export interface CommitBarrierOptions {
  /** Every slot of the job, by index (all in this process: a run without checkpoints has no remote slots). */
  slots: readonly SlotCheckpointPort[];
  /** Between the end of one barrier (its commit included) and the next trigger. */
  intervalMs: number;
  /** A barrier not acknowledged by every slot within this is aborted; the next tick triggers a new one. */
  timeoutMs: number;
  /** Every slot acknowledged barrier `id`: commit the source positions in `acks` (resolves once committed). */
  commit(id: number, acks: readonly CheckpointAck[]): Promise<void>;
  logger: Logger;
}

interface InFlight {
  readonly id: number;
  readonly acks: Map<number, CheckpointAck>;
  readonly timeout: NodeJS.Timeout;
  /** Every slot acknowledged: the commit is under way. */
  committing: boolean;
}

export class CommitBarrierCoordinator implements CoordinatorPort {
  private readonly o: CommitBarrierOptions;
  private nextId = 1;
  private current: InFlight | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private commitDone: Promise<void> = Promise.resolve();
  /** Barriers whose positions were committed (tests, logs). */
  completed = 0;

  constructor(o: CommitBarrierOptions) {
    this.o = o;
  }

  /** The first barrier one interval from now, then one every interval after the previous one ended. */
  start(): void {
    if (this.stopped || this.timer) return;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.current === undefined) this.trigger();
      else this.schedule();
    }, this.o.intervalMs);
    this.timer.unref?.();
  }

  /** Injects barrier `id` at every slot; returns its id. */
  trigger(): number {
    const id = this.nextId++;
    const timeout = setTimeout(
      () => this.abort(id, `not acknowledged within ${this.o.timeoutMs} ms`),
      this.o.timeoutMs,
    );
    timeout.unref?.();
    this.current = { id, acks: new Map(), timeout, committing: false };
    const msg = { checkpointId: id, timestamp: Date.now(), kind: 'checkpoint' as const, stop: false, dir: '' };
    for (const s of this.o.slots) s.trigger(msg);
    return id;
  }

  acknowledge(ack: CheckpointAck): void {
    const c = this.current;
    if (!c || c.committing || ack.checkpointId !== c.id) return;
    if (Object.keys(ack.operators).length > 0) {
      this.abort(c.id, `slot ${ack.slot} acknowledged with keyed state: commit barriers need a job without it`);
      return;
    }
    c.acks.set(ack.slot, ack);
    if (c.acks.size < this.o.slots.length) return;
    clearTimeout(c.timeout);
    c.committing = true;
    const acks = [...c.acks.values()];
    this.commitDone = this.o.commit(c.id, acks).then(
      () => {
        this.completed++;
        this.o.logger.debug({ barrier: c.id }, 'commit barrier passed every sink: source positions committed');
        for (const s of this.o.slots) s.notifyComplete(c.id);
        this.ended(c);
      },
      (e: unknown) => {
        this.o.logger.warn(
          { barrier: c.id, err: (e as Error).message },
          'source positions not committed at a commit barrier: the next barrier commits a later position',
        );
        for (const s of this.o.slots) s.notifyAborted(c.id, (e as Error).message);
        this.ended(c);
      },
    );
  }

  decline(d: CheckpointDecline): void {
    this.abort(d.checkpointId, d.reason);
  }

  committed(): void {}

  private abort(id: number, reason: string): void {
    const c = this.current;
    if (!c || c.committing || c.id !== id) return;
    clearTimeout(c.timeout);
    this.o.logger.debug({ barrier: id, reason }, 'commit barrier aborted: nothing committed for it');
    for (const s of this.o.slots) s.notifyAborted(id, reason);
    this.ended(c);
  }

  private ended(c: InFlight): void {
    if (this.current !== c) return;
    this.current = undefined;
    if (!this.timer) this.schedule();
  }

  /**
   * No more barriers; one still collecting acknowledgements is aborted. Resolves once a commit
   * under way settled: the job's last commit (at a clean end) must come after it.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.current && !this.current.committing) this.abort(this.current.id, 'the job ended');
    await this.commitDone;
  }
}

// The checkpointing side of a job executor: one SlotCheckpointer per local slot, the
// coordinator when slot 0 runs here, and what the job's end waits for:
//
// * checkpoint completion → the slot's sources and sinks are notified; sink commits are
//   tracked, and the job ends only after every one of them settled (a failed commit fails it);
// * stop-with-savepoint → the lifecycle says so; its failure (declined, aborted, timed out,
//   never triggered) resumes the sources, which read on from where its barrier cut them;
// * end of input → the final checkpoint (FLIP-147), after which the sinks commit the last output.
//
// Messages between the coordinator and local slots are delivered on a later turn, as a
// transport would: no re-entrancy between the coordinator and a slot's checkpointer.
import type { Logger } from 'pino';
import { CheckpointCoordinator, type CompletedCheckpoint } from '../checkpoint/coordinator.ts';
import { DEFAULT_CHECKPOINT_TIMEOUT_MS } from '../checkpoint/defaults.ts';
import type { CoordinatorPort, MigrationStepOnWire, SlotCheckpointPort } from '../checkpoint/messages.ts';
import { graphHash } from '../checkpoint/metadata.ts';
import { SlotCheckpointer } from '../checkpoint/slot-checkpointer.ts';
import type { ReportOutage } from '../core/outage.ts';
import { TributaryError } from '../errors.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { UnownedPartitions } from './unowned-partitions.ts';
import type { JobMetrics } from '../telemetry/metrics.ts';
import type { CompactionEvent } from '../checkpoint/chain-compactor.ts';
import { asyncPort } from './async-port.ts';
import type { JobFailure } from './job-failure.ts';
import type { JobLifecycle } from './job-lifecycle.ts';
import type { CheckpointingOptions, JobExecutorOptions } from './job-options.ts';
import type { SlotParts } from './slot-builder.ts';

export interface JobCheckpointingOptions {
  /** Absent: no checkpointers, no coordinator (checkpoint and savepoint requests are refused). */
  checkpointing: CheckpointingOptions | undefined;
  spec: GraphSpec;
  parallelism: number;
  maxParallelism: number;
  /** The slots of this process, by index (a live rescale adds and removes some); their checkpointer is set here. */
  slots: ReadonlyMap<number, SlotParts>;
  transport: JobExecutorOptions['checkpointTransport'];
  restoredCheckpointId: number | undefined;
  lifecycle: JobLifecycle;
  failure: JobFailure;
  /** Fails the job from outside a slot loop (a sink commit failed). */
  fail(e: unknown): void;
  logger: Logger;
  metrics: JobMetrics;
  /** Where the checkpoint storage reports its outage (the executor's OutageBoard). */
  reportOutage?: ReportOutage;
  /**
   * Called as the coordinator triggers checkpoint `id`, before any slot of this process is told
   * (a live rescale's step binds to that barrier: migration.ts).
   */
  onTrigger?(id: number): MigrationStepOnWire | undefined;
  /** Called as the coordinator aborts checkpoint `id` (a live rescale's step on it fails: migration.ts). */
  onAbort?(id: number, reason: string): void;
}

function missingTransport(what: string): never {
  throw new TributaryError(
    'TRIB_JOB_CONFIG',
    `checkpointing with slots in other processes needs checkpointTransport.${what === 'coordinator' ? 'coordinator' : 'slot'} (${what})`,
  );
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class JobCheckpointing {
  /** The checkpoint coordinator, when slot 0 runs here. */
  readonly coordinator: CheckpointCoordinator | undefined;
  /** Slot 0: the partitions no slot reads, as of the last completed checkpoint (unowned-partitions.ts). */
  readonly unowned: UnownedPartitions | undefined;
  private readonly o: JobCheckpointingOptions;
  /** Where this process's checkpointers send their acknowledgements (undefined without checkpointing). */
  private readonly toCoordinator: CoordinatorPort | undefined;
  private readonly commits = new Set<Promise<void>>();
  /** Who waits for a slot's sinks to commit a checkpoint at or after `id` (a draining slot's last: leave-local.ts). */
  private readonly commitWaiters = new Map<number, { id: number; done: (commits: Promise<void>) => void }[]>();
  /** The stop-with-savepoint whose barrier passed this process's sources, and its outcome here. */
  private stopSavepoint: { id: number | undefined; settle: () => void; done: Promise<void> } =
    JobCheckpointing.noStopSavepoint();

  constructor(o: JobCheckpointingOptions) {
    this.o = o;
    const cp = o.checkpointing;
    if (!cp) return;
    const coordinatorRef: { c?: CheckpointCoordinator } = {};
    const here = o.slots.has(0);
    const toCoordinator: CoordinatorPort = here
      ? asyncPort<CoordinatorPort>({
          acknowledge: (a) => coordinatorRef.c?.acknowledge(a),
          decline: (d) => coordinatorRef.c?.decline(d),
          committed: (m) => coordinatorRef.c?.committed(m),
        })
      : (o.transport?.coordinator ?? missingTransport('coordinator'));
    this.toCoordinator = toCoordinator;
    for (const parts of o.slots.values()) this.addCheckpointer(parts);
    if (!here) return;
    const ports: SlotCheckpointPort[] = [];
    for (let s = 0; s < o.parallelism; s++) {
      const local = o.slots.get(s)?.checkpointer;
      ports.push(
        this.portOf(
          local ? asyncPort<SlotCheckpointPort>(local) : (o.transport?.slot?.(s) ?? missingTransport(`slot ${s}`)),
        ),
      );
    }
    const unowned = new UnownedPartitions(o.spec.sources, o.metrics.sourceUnownedPartitions, o.logger);
    this.unowned = unowned;
    this.coordinator = new CheckpointCoordinator({
      stateDir: cp.stateDir,
      slots: ports,
      maxParallelism: o.maxParallelism,
      graphHash: graphHash(o.spec),
      intervalMs: cp.intervalMs,
      timeoutMs: cp.timeoutMs,
      retained: cp.retained,
      ...(cp.tolerableFailedCheckpoints !== undefined
        ? { tolerableFailedCheckpoints: cp.tolerableFailedCheckpoints }
        : {}),
      // Too many in a row: the job fails and its restart policy takes over (from the latest checkpoint).
      onTooManyFailures: (e) => o.fail(e),
      onFenced: (e) => o.fail(e),
      ...(o.reportOutage ? { reportOutage: o.reportOutage } : {}),
      ...(cp.keepAll ? { keepAll: true } : {}),
      incremental: cp.incremental !== false,
      ...(cp.deployment ? { deployment: cp.deployment } : {}),
      restoredCheckpointId: o.restoredCheckpointId,
      logger: o.logger,
      metrics: o.metrics,
      onCompleted: (meta) => unowned.checkpointed(meta, (source) => this.topicPartitions(source)),
    });
    coordinatorRef.c = this.coordinator;
    this.coordinator.onStopSavepointFailed = () => this.resumeAfterFailedStop();
  }

  /** Partitions of `source`'s topic as slot 0's reader of it knows them (0 before it found the topic). */
  private topicPartitions(source: string): number {
    const task = this.o.slots.get(0)?.sources.find((s) => s.sourceName === source);
    return task?.partitionLoad()?.partitions ?? 0;
  }

  /** The checkpointer of a slot of this process (its tasks register with it as they are built). */
  private addCheckpointer(parts: SlotParts): void {
    const { o } = this;
    parts.checkpointer = new SlotCheckpointer({
      slot: parts.slot.index,
      // After the slot's loop ended (the job is finishing), posted notifications run at once.
      post: (cb) => parts.slot.post(cb),
      coordinator: this.toCoordinator as CoordinatorPort,
      logger: o.logger,
      onComplete: (id) => {
        const committing = this.onCheckpointComplete(parts, id);
        this.settleStopSavepoint(id);
        return committing;
      },
      onSinkFailed: (e) => o.fail(e),
      onAborted: (id) => {
        this.settleStopSavepoint(id);
        if (id === this.stopSavepoint.id) this.resumeAfterFailedStop();
      },
      onStopBarrier: (id) => {
        this.stopSavepoint.id = id;
        o.lifecycle.beginSavepointStop();
      },
      onCompaction: (e) => countCompaction(o.metrics, e),
    });
  }

  /** A slot's port as the coordinator calls it: a live rescale's step binds to a trigger, fails with an abort. */
  private portOf(port: SlotCheckpointPort): SlotCheckpointPort {
    const { onTrigger, onAbort } = this.o;
    if (!onTrigger) return port;
    return {
      trigger: (m) => {
        // A step riding on it travels with the trigger to slots of other processes (migration.ts).
        const step = onTrigger(m.checkpointId);
        port.trigger(step ? { ...m, migrationStep: step } : m);
      },
      notifyComplete: (id, final) => port.notifyComplete(id, final),
      notifyAborted: (id, reason, rewrite) => {
        onAbort?.(id, reason);
        port.notifyAborted(id, reason, rewrite);
      },
    };
  }

  /**
   * A slot that joins the running job (live rescale, join-local.ts): its checkpointer, before its tasks are built.
   * It takes part in checkpoints only once admitted (`admit`).
   */
  addSlot(parts: SlotParts): void {
    if (!this.coordinator || !this.toCoordinator)
      throw new TributaryError('TRIB_INVARIANT', 'a slot joins only a checkpointing job whose coordinator runs here');
    this.addCheckpointer(parts);
  }

  /** The joined slot's checkpointer becomes a member: the next checkpoint triggered waits for it (exclusive only). */
  admit(parts: SlotParts): void {
    const local = parts.checkpointer as SlotCheckpointer;
    this.coordinator?.membership.add(parts.slot.index, this.portOf(asyncPort<SlotCheckpointPort>(local)));
  }

  /** A slot of another process that joined becomes a member (join-across.ts; exclusive only). */
  admitRemote(slot: number): void {
    const port = this.o.transport?.slot?.(slot) ?? missingTransport(`slot ${slot}`);
    this.coordinator?.membership.add(slot, this.portOf(port));
  }

  /** A drained slot leaves the membership (its final snapshot completed; exclusive only). */
  dismiss(slot: number): void {
    this.coordinator?.membership.remove(slot);
  }

  private static noStopSavepoint(): JobCheckpointing['stopSavepoint'] {
    let settle = (): void => undefined;
    const done = new Promise<void>((r) => {
      settle = r;
    });
    return { id: undefined, settle, done };
  }

  /**
   * After the slot loops ended (checkpointing only): a stop-with-savepoint completes after the tasks ended (its
   * acks are written asynchronously), then the sinks commit it; at end of input the final
   * checkpoint is taken. Any other pending checkpoint is abandoned. Resolves once every state
   * file write and every sink commit settled; rejects with the job's failure.
   */
  async finish(): Promise<void> {
    const { lifecycle, failure } = this.o;
    const slots = [...this.o.slots.values()];
    for (const p of slots) p.slot.drainMailbox();
    if (lifecycle.savepointStopUnderWay) {
      // Slot 0 waits for the savepoint to complete; other processes for its outcome
      // (notifyComplete/notifyAborted from slot 0), bounded by the checkpoint timeout.
      if (this.coordinator) await this.coordinator.quiesce();
      else if (this.stopSavepoint.id !== undefined) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          this.stopSavepoint.done,
          new Promise<void>(
            (r) => (timer = setTimeout(r, this.o.checkpointing?.timeoutMs ?? DEFAULT_CHECKPOINT_TIMEOUT_MS)),
          ),
        ]);
        if (timer) clearTimeout(timer);
      }
    } else if (!lifecycle.stopRequested) await this.finalCheckpoint();
    // The job ended as it should: a periodic checkpoint it cut short is no failure (info).
    this.coordinator?.stop('the job ended', 'info');
    for (const p of slots) p.slot.drainMailbox();
    await this.stateWritesSettled();
    while (this.commits.size > 0) await Promise.all([...this.commits]);
    failure.throwIfRecorded();
  }

  /**
   * The job failed: commits already under way belong to completed checkpoints; let them end before the sinks close.
   * State writes (of checkpoints that can no longer complete) are waited for at most the checkpoint timeout: state
   * storage that does not answer (S3 frozen) must not hold a failed job, and so its restart, for the client's own
   * request timeouts and retries.
   */
  async abandon(): Promise<void> {
    this.coordinator?.stop('job failed');
    await Promise.allSettled([...this.commits]);
    const boundMs = this.o.checkpointing?.timeoutMs ?? DEFAULT_CHECKPOINT_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      this.stateWritesSettled().then(() => true),
      new Promise<false>((r) => (timer = setTimeout(() => r(false), boundMs))),
    ]);
    if (timer) clearTimeout(timer);
    if (!settled)
      this.o.logger.warn(
        { ms: boundMs, stateDir: this.o.checkpointing?.stateDir },
        `state storage writes still unanswered ${boundMs / 1000} s after the job failed: not waiting for them`,
      );
  }

  /**
   * run() resolves only after every write to the state location settled (the slots' state files, the coordinator's id
   * mark and metadata): its caller may remove the state directory right after.
   */
  async stateWritesSettled(): Promise<void> {
    await Promise.all([
      ...[...this.o.slots.values()].map((p) => p.checkpointer?.settled()),
      this.coordinator?.settled(),
    ]);
  }

  /**
   * A stop-with-savepoint failed (aborted, declined, timed out, or not triggered at all): the
   * job runs on, as in Flink, so that a retry can succeed; its sources read on from where the
   * barrier cut them. Idempotent (slot 0 hears of it from the coordinator and as an abort).
   */
  private resumeAfterFailedStop(): void {
    const id = this.stopSavepoint.id;
    if (!this.o.lifecycle.savepointStopFailed()) return;
    this.stopSavepoint = JobCheckpointing.noStopSavepoint();
    this.o.logger.warn({ savepoint: id }, 'stop-with-savepoint failed: the job keeps running');
    if (id !== undefined)
      for (const p of this.o.slots.values())
        for (const src of p.sources) p.slot.post(() => src.resumeAfterFailedStop(id));
  }

  private settleStopSavepoint(id: number): void {
    const sp = this.stopSavepoint;
    if (sp.id !== undefined && id >= sp.id) sp.settle();
  }

  /** Resolves once this slot's sinks committed `id`; rejects when one failed (the job then fails). */
  private onCheckpointComplete(parts: SlotParts, id: number): Promise<void> {
    for (const src of parts.sources) src.notifyCheckpointComplete(id);
    const mine: Promise<void>[] = [];
    for (const k of parts.sinks) {
      const c = k.writer.notifyCheckpointComplete?.(id);
      if (!c) continue;
      mine.push(c);
      const p: Promise<void> = c.catch((e: unknown) => this.o.fail(e)).finally(() => this.commits.delete(p));
      this.commits.add(p);
    }
    const all = Promise.all(mine).then(() => undefined);
    const waiting = this.commitWaiters.get(parts.slot.index) ?? [];
    for (const w of waiting.filter((x) => x.id <= id)) w.done(all);
    this.commitWaiters.set(
      parts.slot.index,
      waiting.filter((x) => x.id > id),
    );
    return all;
  }

  /** Resolves once slot `slot`'s sinks committed a completed checkpoint ≥ `id`; rejects when a commit failed. */
  committed(slot: number, id: number): Promise<void> {
    return new Promise<Promise<void>>((done) =>
      this.commitWaiters.set(slot, [...(this.commitWaiters.get(slot) ?? []), { id, done }]),
    ).then((commits) => commits);
  }

  /**
   * End of input with checkpointing (FLIP-147): the job finishes only after a final
   * checkpoint, taken when every task of every slot had finished, completed; its completion
   * makes the sinks commit the last output (close('finished') then has nothing left). Slot 0
   * triggers checkpoints until one is final; every process waits for the final completion
   * notification (its sinks' commits are then under way; run() awaits them before close).
   */
  private async finalCheckpoint(): Promise<void> {
    const { failure, logger } = this.o;
    let all = false;
    const finalDone = Promise.all([...this.o.slots.values()].map((p) => p.checkpointer?.finalCompleted)).then(() => {
      all = true;
    });
    logger.info('input ended; waiting for the final checkpoint');
    if (this.coordinator) {
      let failures = 0;
      // A periodic checkpoint may be the final one: then the one triggered here after it will
      // never complete (the other slots exit after the final notification) — stop waiting.
      while (!all) {
        failure.throwIfFailed();
        try {
          const t = this.coordinator.trigger('checkpoint', false);
          t.catch(() => undefined);
          const c = await Promise.race([t, finalDone.then(() => undefined)]);
          failures = 0;
          if (c === undefined || c.final) break;
        } catch (e) {
          if (++failures > 10)
            throw new TributaryError(
              'TRIB_CHECKPOINT_FAILED',
              `the final checkpoint failed ${failures} times: ${(e as Error).message}`,
              { cause: e },
            );
          logger.warn({ err: (e as Error).message }, 'final checkpoint not taken; retrying');
        }
        await sleep(100);
      }
    }
    while (!all) {
      failure.throwIfFailed();
      await sleep(20);
    }
  }

  /** Triggers a checkpoint now (tests, benchmarks); resolves when it completed. */
  triggerCheckpoint(): Promise<CompletedCheckpoint> {
    if (!this.coordinator)
      throw new TributaryError(
        'TRIB_CHECKPOINT_FAILED',
        'checkpointing is not configured here (no stateDir, or slot 0 runs elsewhere)',
      );
    return this.coordinator.trigger('checkpoint', false);
  }

  /** Triggers a savepoint; with `stop` the job stops right after its barrier. */
  triggerSavepoint(stop: boolean): Promise<CompletedCheckpoint> {
    const c = this.savepointCoordinator();
    if (stop) this.o.lifecycle.beginSavepointStop();
    return c.trigger('savepoint', stop);
  }

  /** The control API's savepoint request (idempotent by requestId). */
  requestSavepoint(req: { stop: boolean; requestId?: string }): ReturnType<CheckpointCoordinator['requestSavepoint']> {
    const st = this.savepointCoordinator().requestSavepoint(req);
    if (req.stop && st.state === 'IN_PROGRESS') this.o.lifecycle.beginSavepointStop();
    return st;
  }

  private savepointCoordinator(): CheckpointCoordinator {
    if (!this.coordinator)
      throw new TributaryError('TRIB_CHECKPOINT_FAILED', 'savepoints need a stateDir and slot 0 in this process');
    return this.coordinator;
  }
}

/** A compaction's event in the job's metrics (tributary_state_compaction*). */
function countCompaction(m: JobMetrics, e: CompactionEvent): void {
  m.compactionsRunning.labels(String(e.slot)).set(e.phase === 'started' ? 1 : 0);
  if (e.phase === 'started') return;
  m.compactions.labels(e.step, e.phase).inc();
  if (e.seconds !== undefined) m.compactionSeconds.labels(e.step).observe(e.seconds);
  if (e.bytes !== undefined) m.compactedBytes.labels(e.step).inc(e.bytes);
}
